/* sync.c - once per loop iteration, make the node match what was decided:
 * log the decisions, then routes, ARP drops and captures from one plan, then
 * the FSM timer, then BIRD. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bird/reload.h"
#include "bird/render.h"
#include "dataplane/arp_suppress.h"
#include "dataplane/capture.h"
#include "dataplane/routes.h"
#include "decisions.h"
#include "util/log.h"
#include "util/loop.h"
#include "status.h"
#include "watcher.h"

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* A compact text of the plan's ARP drops: rebuild the table only when it changes. */
static char *arp_signature(const struct plan *p)
{
	size_t cap = 64, len = 0;
	char *s = malloc(cap);

	if (!s)
		return NULL;
	s[0] = '\0';
	for (size_t i = 0; i < p->narps; i++)
		for (size_t j = 0; j <= p->arps[i].naddrs; j++) {
			const char *part = j ? p->arps[i].addrs[j - 1] : p->arps[i].ifname;
			size_t need = len + strlen(part) + 2;
			if (need > cap) {
				char *n = realloc(s, cap = need * 2);
				if (!n) {
					free(s);
					return NULL;
				}
				s = n;
			}
			len += (size_t)sprintf(s + len, "%s%c", part,
			                       j == p->arps[i].naddrs ? ';' : ',');
		}
	return s;
}

static void apply_plan(struct watcher *w)
{
	struct plan p = {0};
	struct herr err = {{0}};

	if (engine_plan(w->engine, &p) < 0) {
		hlog(HLOG_ERROR, "Plan failed", "error=\"out of memory\"");
		return;
	}
	/* Routes first: on the GARP path this is what the VM waits for. */
	if (route_syncer_apply(w->routes, &p, &err) < 0) {
		w->route_sync_errors++;
		hlog(HLOG_WARN, "Route sync incomplete", "error=%s", hlog_q(err.msg));
	}
	status_routes_applied(w->status, mono_us());
	char *sig = arp_signature(&p);
	if (sig && (!w->last_arp_sig || strcmp(sig, w->last_arp_sig))) {
		if (arp_suppress_sync(&p, &err) < 0) {
			hlog(HLOG_WARN, "ARP suppression sync failed", "error=%s", hlog_q(err.msg));
			free(sig);
			sig = NULL; /* retried on the next change */
		}
		free(w->last_arp_sig);
		w->last_arp_sig = sig;
	} else {
		free(sig);
	}
	if (capture_set_sync(w->captures, &p, &err) < 0)
		hlog(HLOG_WARN, "GARP capture sync incomplete", "error=%s", hlog_q(err.msg));
	plan_free(&p);
}

int sync_bird(struct watcher *w)
{
	struct bird_input in = {0};
	struct herr err = {{0}};
	static const char *files[2] = {"bird.cfg", "bird6.cfg"};
	const char *socks[2] = {w->opt.bird_socket, w->opt.bird6_socket};
	int rc = 0;

	if (bird_input_build(&w->bgp, w->opt.node, &in, &err) < 0) {
		/* Nothing to render until this node's Node object (its address) is known. */
		hlog(HLOG_DEBUG, "BIRD configuration not rendered", "reason=%s", hlog_q(err.msg));
		return 0;
	}
	for (int fam = 0; fam < 2; fam++) {
		char *text = NULL;
		if (bird_render(&in, fam == 0 ? BGP_V4 : BGP_V6, &text, &err) < 0) {
			hlog(HLOG_ERROR, "BIRD render failed", "file=%s error=%s", files[fam],
			     hlog_q(err.msg));
			status_bird_reload(w->status, fam, "failed", err.msg);
			rc = -1;
			continue;
		}
		int r = bird_reload(w->opt.bird_dir, files[fam], text, socks[fam], &err);
		free(text);
		status_bird_reload(w->status, fam,
		                   r < 0                        ? "failed"
		                   : r == BIRD_RELOAD_UNCHANGED ? "unchanged"
		                   : r == BIRD_RELOAD_APPLIED   ? "applied"
		                                                : "written",
		                   r < 0 ? err.msg : NULL);
		if (r < 0) {
			w->bird_reload_failures++;
			hlog(HLOG_ERROR,
			     "BIRD reload failed; the previous configuration keeps running",
			     "file=%s error=%s", files[fam], hlog_q(err.msg));
			rc = -1;
		} else if (r != BIRD_RELOAD_UNCHANGED) {
			w->bird_reloads++;
			hlog(HLOG_INFO, "BIRD configuration updated", "file=%s/%s reconfigured=%s",
			     w->opt.bird_dir, files[fam], r == BIRD_RELOAD_APPLIED ? "yes" : "no");
		}
	}
	bird_input_free(&in);
	return rc;
}

void sync_after_iteration(struct loop *l, void *arg)
{
	struct watcher *w = arg;
	uint64_t due;

	for (size_t i = 0; i < w->decisions.n; i++) {
		decision_log(&w->decisions.v[i]);
		watcher_ipam_transition(w, &w->decisions.v[i]);
		status_record(w->status, &w->decisions.v[i], wall_ms(), loop_now_ms());
	}
	if (w->decisions.n)
		w->plan_dirty = true;
	decisions_clear(&w->decisions);

	if (w->plan_dirty && !w->opt.no_dataplane)
		apply_plan(w);
	w->plan_dirty = false;

	if (engine_next_deadline(w->engine, &due))
		loop_timer_arm_at(w->fsm_timer, due);
	else
		loop_timer_disarm(w->fsm_timer);

	if (w->bird_dirty && w->opt.bird_dir)
		sync_bird(w);
	w->bird_dirty = false;

	if (!w->synced && !w->pending_lists) {
		w->synced = true;
		hlog(HLOG_INFO, "Initial sync done; ready", "node=%s", w->opt.node);
	}
}
