/* bird_sync.c - the watcher's BIRD configuration: render, write, and ask
 * BIRD to load it without ever waiting for BIRD on the event loop.
 *
 * Per family (bird.cfg / bird6.cfg) one reload at a time:
 *   render -> bird_reload_prepare (unchanged: done) -> `configure` over the
 *   control socket as one more fd of the loop (bird_async_configure) ->
 *   bird_reload_finish when BIRD answers or the deadline passes.
 * A BIRD that greets and never answers costs a timer, not a frozen loop.
 *
 * A failed reload is tried again, with backoff (1 s doubling to 60 s), until
 * one succeeds; any change of the BGP resources tries at once. That covers a
 * refused text too: BIRD keeps its previous configuration (bird-notes;
 * test_bird_reload), the refusal is logged with the objects the offending
 * line comes from (bird/blame.h), shown in /metrics and /readyz, and the next
 * change of the resources - the operator's fix - is rendered and sent. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bird/blame.h"
#include "bird/control.h"
#include "bird/reload.h"
#include "bird/render.h"
#include "bird_sessions.h"
#include "http/prom.h"
#include "util/log.h"
#include "util/loop.h"
#include "status.h"
#include "watcher.h"

#define RETRY_FIRST_MS 1000u
#define RETRY_MAX_MS   60000u
#define BLAME_MAX      8

static const char *const files[2] = {"bird.cfg", "bird6.cfg"};

struct bird_family {
	struct bird_sync *owner;
	int fam;
	bool dirty;               /* render and reload */
	struct bird_async *op;    /* configure in flight */
	char tmp[PATH_MAX];       /* its temporary file */
	char *text;               /* its text (for blame) */
	unsigned failures;        /* in a row, for the backoff */
	struct loop_timer *retry; /* armed after a failure */
	/* The last refusal by BIRD, until a reload succeeds. */
	bool refused;
	char refusal[512];
	char blamed[BLAME_MAX][300];
	size_t nblamed;
};

struct bird_sync {
	struct watcher *w;
	struct bird_family fam[2];
};

static void start(struct bird_family *bf);

static void on_retry(struct loop *l, struct loop_timer *t, void *arg)
{
	struct bird_family *bf = arg;

	bf->dirty = true;
	start(bf);
}

/* Count the failure and arm the retry; log it unless msg is NULL (the
 * caller logs). Returns the delay. */
static uint64_t failed(struct bird_family *bf, const char *msg)
{
	uint64_t delay = RETRY_FIRST_MS;

	for (unsigned i = 0; i < bf->failures && delay < RETRY_MAX_MS; i++)
		delay *= 2;
	if (delay > RETRY_MAX_MS)
		delay = RETRY_MAX_MS;
	bf->failures++;
	bf->owner->w->bird_reload_failures++;
	if (msg)
		status_bird_reload(bf->owner->w->status, bf->fam, "failed", msg);
	loop_timer_arm(bf->retry, delay);
	if (msg)
		hlog(HLOG_ERROR, "BIRD reload failed; the previous configuration keeps running",
		     "file=%s retry_in_ms=%llu error=%s", files[bf->fam], (unsigned long long)delay,
		     hlog_q(msg));
	return delay;
}

static void succeeded(struct bird_family *bf, int r)
{
	struct watcher *w = bf->owner->w;

	bf->failures = 0;
	loop_timer_disarm(bf->retry);
	if (bf->refused)
		hlog(HLOG_INFO, "BIRD accepted a configuration again", "file=%s", files[bf->fam]);
	bf->refused = false;
	bf->nblamed = 0;
	status_bird_reload(w->status, bf->fam,
	                   r == BIRD_RELOAD_UNCHANGED ? "unchanged"
	                   : r == BIRD_RELOAD_APPLIED ? "applied"
	                                              : "written",
	                   NULL);
	if (r == BIRD_RELOAD_UNCHANGED)
		return;
	bird_sessions_refresh(w->bird_sessions[bf->fam]); /* /status shows the new sessions */
	w->bird_reloads++;
	hlog(HLOG_INFO, "BIRD configuration updated", "file=%s/%s reconfigured=%s", w->opt.bird_dir,
	     files[bf->fam], r == BIRD_RELOAD_APPLIED ? "yes" : "no");
}

/* BIRD parsed the text and refused it: name the objects behind the line. */
static void refused(struct bird_family *bf, const struct herr *err, uint64_t retry_ms)
{
	struct watcher *w = bf->owner->w;
	char suffix[32], objs[BLAME_MAX * 300 + 16] = "";
	size_t o = 0;

	snprintf(suffix, sizeof(suffix), "%s.rejected", files[bf->fam]);
	bf->refused = true;
	snprintf(bf->refusal, sizeof(bf->refusal), "%s", err->msg);
	status_bird_reload(w->status, bf->fam, "refused", err->msg);
	bf->nblamed = bird_blame(&w->bgp, w->opt.node, bf->text, bird_error_line(err->msg, suffix),
	                         bf->blamed, BLAME_MAX);
	for (size_t i = 0; i < bf->nblamed; i++)
		o += (size_t)snprintf(objs + o, sizeof(objs) - o, "%s%s", i ? ", " : "",
		                      bf->blamed[i]);
	hlog(HLOG_ERROR, "BIRD refused the configuration; it keeps running the previous one",
	     "file=%s objects=%s retry_in_ms=%llu error=%s", files[bf->fam],
	     hlog_q(bf->nblamed ? objs : "(none identified)"), (unsigned long long)retry_ms,
	     hlog_q(err->msg));
}

static void on_configured(void *arg, int rc, const struct bird_reply *reply,
                          const struct herr *cerr)
{
	struct bird_family *bf = arg;
	struct watcher *w = bf->owner->w;
	struct herr err = *cerr;
	int r;

	bf->op = NULL;
	r = bird_reload_finish(w->opt.bird_dir, files[bf->fam], bf->tmp, rc, &err);
	if (r == -EINVAL)
		refused(bf, &err, failed(bf, NULL));
	else if (r < 0)
		failed(bf, err.msg);
	else
		succeeded(bf, r);
	free(bf->text);
	bf->text = NULL;
	if (bf->dirty) /* the resources changed meanwhile */
		start(bf);
}

/* Render and send, unless a reload is in flight (its completion starts the
 * next one) or the node cannot be rendered yet. */
static void start(struct bird_family *bf)
{
	struct watcher *w = bf->owner->w;
	const char *sock = bf->fam == BGP_V4 ? w->opt.bird_socket : w->opt.bird6_socket;
	struct bird_input in = {0};
	struct herr err = {{0}};
	char *text = NULL;
	int r;

	if (bf->op || !bf->dirty)
		return;
	bf->dirty = false;
	loop_timer_disarm(bf->retry);
	if (bird_input_build(&w->bgp, w->opt.node, &in, &err) < 0) {
		/* Nothing to render until this node's Node object (its address) is known. */
		hlog(HLOG_DEBUG, "BIRD configuration not rendered", "reason=%s", hlog_q(err.msg));
		return;
	}
	if (in.missing_secret && bf->fam == BGP_V4)
		/* The Secret's name only: never a value. */
		hlog(HLOG_WARN, "BGP password not available; sessions rendered without it",
		     "secret=%s/%s", w->opt.secret_namespace ? w->opt.secret_namespace : "",
		     in.missing_secret);
	r = bird_render(&in, (enum bgp_family)bf->fam, &text, &err);
	bird_input_free(&in);
	if (r < 0) {
		failed(bf, err.msg);
		return;
	}
	r = bird_reload_prepare(w->opt.bird_dir, files[bf->fam], text, bf->tmp, &err);
	if (r != BIRD_RELOAD_PREPARED) {
		free(text);
		if (r < 0)
			failed(bf, err.msg);
		else
			succeeded(bf, r);
		return;
	}
	bf->text = text;
	r = sock ? bird_async_configure(w->loop, sock, bf->tmp, BIRD_CONTROL_TIMEOUT_MS,
	                                on_configured, bf, &bf->op, &err)
	         : -ENOENT;
	if (r < 0) /* no BIRD to ask (the file is what it starts with), or it failed at once */
		on_configured(bf, r, NULL, &err);
}

static struct bird_sync *get(struct watcher *w)
{
	if (w->bird_sync)
		return w->bird_sync;
	struct bird_sync *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->w = w;
	for (int f = 0; f < 2; f++) {
		s->fam[f].owner = s;
		s->fam[f].fam = f;
		s->fam[f].retry = loop_timer_new(w->loop, on_retry, &s->fam[f]);
		if (!s->fam[f].retry) {
			loop_timer_free(s->fam[0].retry);
			free(s);
			return NULL;
		}
	}
	return w->bird_sync = s;
}

int sync_bird(struct watcher *w)
{
	struct bird_sync *s = get(w);

	if (!s) {
		hlog(HLOG_ERROR, "BIRD sync", "error=\"out of memory\"");
		return -1;
	}
	for (int f = 0; f < 2; f++) {
		s->fam[f].dirty = true;
		start(&s->fam[f]);
	}
	return 0;
}

void bird_sync_stop(struct watcher *w)
{
	struct bird_sync *s = w->bird_sync;

	if (!s)
		return;
	for (int f = 0; f < 2; f++) {
		struct bird_family *bf = &s->fam[f];
		if (bf->op) {
			bird_async_cancel(bf->op);
			unlink(bf->tmp);
		}
		free(bf->text);
		loop_timer_free(bf->retry);
	}
	free(s);
	w->bird_sync = NULL;
}

const char *bird_sync_degraded(const struct watcher *w, char *buf, size_t cap)
{
	const struct bird_sync *s = w->bird_sync;
	size_t o = 0;

	for (int f = 0; s && f < 2; f++) {
		const struct bird_family *bf = &s->fam[f];
		if (!bf->refused && !bf->failures)
			continue;
		o += (size_t)snprintf(buf + o, cap - o, "%s: %s%s", files[f],
		                      bf->refused ? "refused by BIRD (previous configuration "
		                                    "running)"
		                                  : "reload failing",
		                      bf->nblamed ? "; objects:" : "");
		for (size_t i = 0; i < bf->nblamed && o < cap; i++)
			o += (size_t)snprintf(buf + o, cap - o, " %s%s", bf->blamed[i],
			                      i + 1 < bf->nblamed ? "," : "");
		if (o < cap)
			o += (size_t)snprintf(buf + o, cap - o, "\n");
		if (o >= cap)
			break;
	}
	return o ? buf : NULL;
}

void bird_sync_write_metrics(const struct watcher *w, FILE *f)
{
	const struct bird_sync *s = w->bird_sync;

	prom_header(f, "handoff_bird_config_refused", "gauge",
	            "1 while BIRD refuses the current configuration (it runs the previous one).");
	for (int i = 0; i < 2; i++) {
		char labels[64];
		snprintf(labels, sizeof(labels), "file=\"%s\"", files[i]);
		prom_sample(f, "handoff_bird_config_refused", labels,
		            s && s->fam[i].refused ? 1 : 0);
	}
	prom_header(f, "handoff_bird_rejected_objects", "gauge",
	            "Objects the line BIRD refused comes from (1 each, while refused).");
	for (int i = 0; s && i < 2; i++)
		for (size_t j = 0; j < s->fam[i].nblamed; j++) {
			const char *b = s->fam[i].blamed[j], *sp = strchr(b, ' ');
			char labels[700], name[620];
			size_t n = 0;

			/* "<Kind> <name>"; the name escaped for a label value. */
			for (const char *p = sp ? sp + 1 : ""; *p && n < sizeof(name) - 3; p++) {
				if (*p == '"' || *p == '\\' || *p == '\n')
					name[n++] = '\\';
				name[n++] = *p == '\n' ? 'n' : *p;
			}
			name[n] = '\0';
			snprintf(labels, sizeof(labels), "file=\"%s\",kind=\"%.*s\",name=\"%s\"",
			         files[i], sp ? (int)(sp - b) : 0, b, name);
			prom_sample(f, "handoff_bird_rejected_objects", labels, 1);
		}
}
