/* sync.c - once per loop iteration, make the node match what was decided:
 * log the decisions, then routes, ARP drops and captures from one plan, then
 * the FSM timer, then BIRD. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataplane/arp_suppress.h"
#include "dataplane/capture.h"
#include "dataplane/routes.h"
#include "decisions.h"
#include "priority_check.h"
#include "util/log.h"
#include "util/loop.h"
#include "state.h"
#include "status.h"
#include "taps.h"
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

/* Say which priorities disagree (seed 001), once per change of the set of
 * disagreements; checked when BGP resources or Felix priorities changed. */
static void check_priorities(struct watcher *w, bool bgp_changed)
{
	const struct route_config *rc = engine_route_config(w->engine);
	char **v = NULL, *joined = NULL;
	size_t len = 0;
	FILE *f;

	if (!bgp_changed && w->priority_warnings && !memcmp(rc, &w->priority_cfg, sizeof(*rc)))
		return;
	int n = priority_check(rc, &w->bgp, &v);
	if (n < 0 || !(f = open_memstream(&joined, &len))) {
		priority_check_free(v, n < 0 ? 0 : (size_t)n);
		return;
	}
	for (int i = 0; i < n; i++)
		fprintf(f, "%s\n", v[i]);
	fclose(f);
	if (!w->priority_warnings || strcmp(joined, w->priority_warnings)) {
		for (int i = 0; i < n; i++)
			hlog(HLOG_WARN, "Route priorities disagree", "problem=%s", hlog_q(v[i]));
		if (n == 0 && w->priority_warnings && *w->priority_warnings)
			hlog(HLOG_INFO, "Route priorities agree again", "node=%s", w->opt.node);
	}
	free(w->priority_warnings);
	w->priority_warnings = joined;
	w->priority_cfg = *rc;
	priority_check_free(v, (size_t)n);
}

void sync_after_iteration(struct loop *l, void *arg)
{
	struct watcher *w = arg;
	uint64_t due;
	bool fsm_changed = false;

	/* Once every initial list is in: the saved migrations are restored and
	 * every FSM gets its role; no route is touched before (a restart must
	 * not reset an elevated route on the way, nor give a target a route). */
	if (!w->settled && !w->pending_lists) {
		state_settle(w);
		w->settled = fsm_changed = w->plan_dirty = true;
	}
	size_t gone = 0;
	for (size_t i = 0; i <= w->decisions.n; i++) {
		/* An endpoint deleted before decision i is forgotten before it
		 * (a pod of the same name may come back after). */
		for (; gone < w->ngone && w->gone[gone].at <= i; gone++) {
			status_endpoint_deleted(w->status, w->gone[gone].key);
			free(w->gone[gone].key);
		}
		if (i == w->decisions.n)
			break;
		fsm_changed |= w->decisions.v[i].kind == DEC_TRANSITION;
		decision_log(&w->decisions.v[i]);
		watcher_ipam_transition(w, &w->decisions.v[i]);
		status_record(w->status, &w->decisions.v[i], wall_ms(), loop_now_ms());
	}
	if (w->decisions.n)
		w->plan_dirty = true;
	decisions_clear(&w->decisions);
	w->ngone = 0;

	/* Before the settle: decided and logged, applied at the settle. */
	if (w->settled) {
		if (w->plan_dirty && !w->opt.no_dataplane)
			apply_plan(w);
		taps_sync(w, w->plan_dirty); /* after the routes: off the GARP -> route path */
		w->plan_dirty = false;
		/* After the routes: the kernel may be one decision ahead of the
		 * file, never behind (state.c), and a GARP's route does not wait
		 * for a write. */
		if (fsm_changed)
			state_save(w);
	}

	if (engine_next_deadline(w->engine, &due))
		loop_timer_arm_at(w->fsm_timer, due);
	else
		loop_timer_disarm(w->fsm_timer);

	/* Nodes are BGP resources: a podCIDRs change marks bird_dirty too. */
	if (w->bird_dirty || !w->synced)
		node_ranges_sync(w);
	bool bgp_changed = w->bird_dirty;
	if (w->bird_dirty && w->opt.bird_dir)
		sync_bird(w);
	w->bird_dirty = false;

	if (!w->synced && !w->pending_lists) {
		w->synced = true;
		hlog(HLOG_INFO, "Initial sync done; ready", "node=%s", w->opt.node);
	}
	/* Once everything is listed: before, half the resources would disagree. */
	if (w->synced)
		check_priorities(w, bgp_changed);
}
