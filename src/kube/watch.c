/* watch.c - one resource followed by list + watch, kept in an object cache.
 *
 *   LIST (paged) --complete--> replace the cache, synced --> WATCH from its RV
 *   WATCH --server closed after timeoutSeconds--> WATCH again from the last RV
 *   WATCH --410 Gone (HTTP or ERROR event)--> LIST again (a relist: the cache
 *         reports what vanished in the gap as DELETED, unchanged objects as
 *         nothing)
 *   any failure --> the same step again after a capped exponential backoff
 *         with jitter; a success resets the backoff, and so does a watch that
 *         ran until the server ended it (a quiet resource delivers nothing for
 *         hours: its relists must not add up to a 30 s wait at the next fault).
 *
 * A list is bounded (pages, objects, bytes): a server that keeps answering
 * with `continue` tokens gets an error naming the resource and a relist from
 * the start after a backoff, not unbounded memory. Objects whose kind or
 * apiVersion is not the watched resource's are rejected and named: the cache
 * (and everything fed from it) never sees them.
 *
 * Every step is started either from the watch's timer or from the done
 * callback of the previous request, never from inside libcurl. */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/client.h"
#include "kube/request.h"
#include "util/arena.h"
#include "util/log.h"
#include "util/loop.h"

#define MAX_LINE         (16u << 20)  /* one watch event */
#define MAX_LIST_BODY    (256u << 20) /* one page of a list */
#define BACKOFF_BASE_MS  200
#define BACKOFF_CAP_MS   30000
#define MISSING_RETRY_MS 30000 /* an optional resource that is not installed */
#define LIST_TIMEOUT_MS  60000
#define SHORT_WATCH_MS   1000
/* A stream that stayed open this long was healthy whatever ended it. */
#define HEALTHY_STREAM_MS 30000
#define LIST_MAX_PAGES    10000u
#define LIST_MAX_OBJECTS  1000000u
#define LIST_MAX_BYTES    (1024u << 20) /* all pages of one list */

enum step { STEP_LIST, STEP_WATCH };
/* What an event seen inside the stream asks for once the transfer ends. */
enum after { AFTER_NOTHING, AFTER_RELIST, AFTER_RESTART };

struct kube_watch {
	struct kube_client *c;
	struct kube_watch *next; /* the client's watches */
	char *path, *kind, *api_version;
	char *field_sel, *label_sel; /* URL-encoded, or NULL */
	unsigned page_size, timeout_s;
	unsigned max_pages, max_objects;
	bool optional;
	obj_event_cb on_event;
	void (*transform)(json_t *obj);
	bool digest_only; /* a digest function covers what the consumer reads */
	bool sensitive;   /* never quote a line of this stream */
	kube_synced_cb on_synced;
	kube_notice_cb on_notice;
	void *arg;

	struct obj_cache *cache;
	struct loop_timer *timer; /* starts `step` */
	enum step step;
	struct kube_request *req; /* in flight, or NULL */
	unsigned failures;        /* in a row: the backoff exponent */
	unsigned gone_in_row;     /* 410s since a stream last delivered */
	bool told_missing;        /* the optional resource's 404 was reported */
	char rv[64];              /* resourceVersion to watch from */

	/* list in progress */
	char *body;
	size_t body_len, body_cap;
	json_t *items;  /* pages so far */
	char *cont;     /* continue token of the next page */
	unsigned pages; /* of the list in progress */
	uint64_t list_bytes;
	bool relist; /* this list follows a 410 Gone */

	/* watch in progress */
	struct line_splitter *lines;
	struct arena *arena; /* the trees of one line's event (util/arena.h) */
	enum after after;
	uint64_t started_ms;
	uint64_t nlines;
	bool watched;

	struct kube_watch_stats st;
};

struct kube_watch *kube_watch_next(struct kube_watch *w)
{
	return w->next;
}

static void notice(struct kube_watch *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void notice(struct kube_watch *w, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w->on_notice)
		w->on_notice(w->arg, w->kind, msg);
	else
		hlog(HLOG_WARN, "kube watch", "kind=%s path=%s problem=%s", w->kind, w->path,
		     hlog_q(msg));
}

static void schedule(struct kube_watch *w, enum step s, uint64_t delay_ms)
{
	w->step = s;
	loop_timer_arm(w->timer, delay_ms);
}

/* Readiness: since when requests have been failing, and why. */
static void mark_failing(struct kube_watch *w, const char *why)
{
	size_t n = strnlen(why, sizeof(w->st.last_error) - 1);

	memcpy(w->st.last_error, why, n);
	w->st.last_error[n] = '\0';
	if (!w->st.failing_since_ms)
		w->st.failing_since_ms = loop_now_ms();
}

static void mark_healthy(struct kube_watch *w)
{
	w->st.failing_since_ms = 0;
	w->st.last_error[0] = '\0';
}

/* 200 ms doubling up to 30 s, the delay drawn in the upper half of the step:
 * spread out so that nodes do not retry in step, never close to zero so that
 * a failing server is not hammered. */
static uint64_t backoff_ms(struct kube_watch *w)
{
	unsigned shift = w->failures < 8 ? w->failures : 8;
	uint64_t d = (uint64_t)BACKOFF_BASE_MS << shift;

	if (d > BACKOFF_CAP_MS)
		d = BACKOFF_CAP_MS;
	w->failures++;
	return d / 2 + kube_client_random(w->c) % (d / 2 + 1);
}

/* "HTTP 500: etcd unavailable", "connection: Couldn't connect to server". */
static void describe(const struct kube_response *r, char *buf, size_t len)
{
	if (r->status >= 200 && r->status <= 299) {
		snprintf(buf, len, "%s", r->error[0] ? r->error : "ended");
	} else if (r->status) {
		json_t *st = json_loads(r->body, 0, NULL);
		const char *m = json_string_value(json_object_get(st, "message"));
		snprintf(buf, len, "HTTP %ld: %.300s", r->status, m ? m : r->body);
		json_decref(st);
	} else {
		snprintf(buf, len, "connection: %s", r->error);
	}
}

/* A failed request: count it, say so, and try the same step again later. */
static void failed(struct kube_watch *w, enum step s, const struct kube_response *r,
                   const char *what)
{
	char why[512];
	uint64_t d = backoff_ms(w);

	/* An overloaded server (API priority and fairness) says how long to
	 * wait; within the backoff cap, do as it says. */
	if (r->retry_after > 0 && (uint64_t)r->retry_after * 1000 > d)
		d = r->retry_after * 1000 < BACKOFF_CAP_MS ? (uint64_t)r->retry_after * 1000
		                                           : BACKOFF_CAP_MS;
	describe(r, why, sizeof(why));
	if (r->status == 401)
		kube_client_token_rejected(w->c);
	w->st.errors++;
	mark_failing(w, why);
	notice(w, "%s failed: %s; retrying in %llu ms", what, why, (unsigned long long)d);
	schedule(w, s, d);
}

/* Likewise for a failure of our own: the request could not be made, or
 * its answer could not be used. */
static void step_failed(struct kube_watch *w, enum step s, const char *what, const struct herr *err)
{
	uint64_t d = backoff_ms(w);

	w->st.errors++;
	mark_failing(w, err->msg);
	notice(w, "%s %s: %s; retrying in %llu ms", s == STEP_LIST ? "list" : "watch", what,
	       err->msg, (unsigned long long)d);
	schedule(w, s, d);
}

/* Objects of a list, and some watch events, carry no kind/apiVersion. */
static void fill_type(struct kube_watch *w, json_t *obj)
{
	if (!json_is_string(json_object_get(obj, "kind")))
		json_object_set_new(obj, "kind", json_string(w->kind));
	if (!json_is_string(json_object_get(obj, "apiVersion")))
		json_object_set_new(obj, "apiVersion", json_string(w->api_version));
}

/* An object of another resource on this one's list or stream (a proxy or a
 * server bug) would replace or delete an unrelated object of that kind:
 * refuse it, naming it. */
static bool foreign(struct kube_watch *w, const json_t *obj, const char *where)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const char *api = json_string_value(json_object_get(obj, "apiVersion"));
	const json_t *meta = json_object_get(obj, "metadata");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));

	if (!strcmp(kind, w->kind) && !strcmp(api, w->api_version))
		return false;
	w->st.rejected++;
	notice(w, "%s: %.60s %.60s %.100s%s%.100s rejected: not a %s (%s)", where, api, kind,
	       ns ? ns : "", ns ? "/" : "", name ? name : "(no name)", w->kind, w->api_version);
	return true;
}

static const char *obj_rv(const json_t *obj)
{
	return json_string_value(
	    json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
}

static bool set_rv_to(struct kube_watch *w, const char *rv)
{
	if (!rv || !*rv || strlen(rv) >= sizeof(w->rv))
		return false;
	memcpy(w->rv, rv, strlen(rv) + 1);
	return true;
}

static bool set_rv(struct kube_watch *w, const json_t *obj)
{
	return set_rv_to(w, obj_rv(obj));
}

/* "&fieldSelector=..&labelSelector=.." */
static void selectors(struct kube_watch *w, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", w->field_sel ? "&fieldSelector=" : "",
	         w->field_sel ? w->field_sel : "", w->label_sel ? "&labelSelector=" : "",
	         w->label_sel ? w->label_sel : "");
}

static void list_reset(struct kube_watch *w)
{
	json_array_clear(w->items);
	free(w->cont);
	w->cont = NULL;
	w->body_len = 0;
	w->pages = 0;
	w->list_bytes = 0;
}

/* ---- list ---- */

static void list_page(struct kube_watch *w);
static void watch_begin(struct kube_watch *w);

static int list_data(void *arg, const char *data, size_t len)
{
	struct kube_watch *w = arg;

	if (len > MAX_LIST_BODY - w->body_len)
		return -1;
	if (w->body_len + len + 1 > w->body_cap) {
		size_t cap = w->body_cap ? w->body_cap : 65536;
		while (cap < w->body_len + len + 1)
			cap *= 2;
		char *nb = realloc(w->body, cap);
		if (!nb)
			return -1;
		w->body = nb;
		w->body_cap = cap;
	}
	memcpy(w->body + w->body_len, data, len);
	w->body_len += len;
	return 0;
}

/* The resource does not exist on this server (an optional CRD that is not
 * installed): its set of objects is empty, which is known, so the watch is
 * synced; look again every 30 s. */
static void list_missing(struct kube_watch *w)
{
	struct herr err = {{0}};

	if (!w->told_missing)
		notice(w, "%s: not found (404), the resource is not installed; checking every %d s",
		       w->path, MISSING_RETRY_MS / 1000);
	w->told_missing = true;
	list_reset(w);
	obj_cache_replace(w->cache, "", NULL, 0, w->on_event, w->arg, &err);
	w->rv[0] = 0;
	if (!w->st.synced) {
		w->st.synced = true;
		if (w->on_synced)
			w->on_synced(w->arg, w->kind);
	}
	schedule(w, STEP_LIST, MISSING_RETRY_MS);
}

/* All pages are in: make the cache exactly the list, then watch. */
static void list_complete(struct kube_watch *w)
{
	size_t n = json_array_size(w->items);
	json_t **objs = malloc((n + 1) * sizeof(*objs));
	struct herr err = {{0}};
	int skipped;

	if (!objs) {
		struct herr e;
		herr_set(&e, -ENOMEM, "out of memory for %zu objects", n);
		list_reset(w);
		step_failed(w, STEP_LIST, "failed", &e);
		return;
	}
	for (size_t i = 0; i < n; i++)
		objs[i] = json_array_get(w->items, i);
	skipped = obj_cache_replace(w->cache, "", objs, n, w->on_event, w->arg, &err);
	free(objs);
	list_reset(w);
	if (skipped > 0)
		notice(w, "list: %d objects skipped: %s", skipped, err.msg);
	w->st.lists++;
	if (w->relist)
		w->st.relists++;
	else
		w->failures = 0; /* a relist succeeds only once its watch delivers */
	w->relist = false;
	w->told_missing = false;
	mark_healthy(w);
	if (!w->st.synced) {
		w->st.synced = true;
		if (w->on_synced)
			w->on_synced(w->arg, w->kind);
	}
	watch_begin(w);
}

/* Another page is announced by `cont`: refuse it when the list has already
 * reached a bound (or the server repeats its token, which never ends), and
 * list again from the start after a backoff. */
static bool list_too_long(struct kube_watch *w, const char *cont)
{
	char what[160];
	struct herr e;

	if (w->cont && !strcmp(w->cont, cont))
		snprintf(what, sizeof(what), "the server sent the same continue token twice");
	else if (w->pages >= w->max_pages)
		snprintf(what, sizeof(what), "more than %u pages", w->max_pages);
	else if (json_array_size(w->items) > w->max_objects)
		snprintf(what, sizeof(what), "more than %u objects", w->max_objects);
	else if (w->list_bytes > LIST_MAX_BYTES)
		snprintf(what, sizeof(what), "more than %u MiB", LIST_MAX_BYTES >> 20);
	else
		return false;
	herr_set(&e, -E2BIG, "%s: list of %s abandoned after %u pages and %zu objects: %s", w->path,
	         w->kind, w->pages, json_array_size(w->items), what);
	list_reset(w);
	step_failed(w, STEP_LIST, "too long", &e);
	return true;
}

/* One page arrived whole: keep its items, then the next page or the end. */
static void list_page_done(struct kube_watch *w)
{
	json_error_t je;
	json_t *doc, *items, *meta, *it;
	const char *cont;
	size_t i;

	doc = json_loadb(w->body ? w->body : "", w->body_len, 0, &je);
	w->list_bytes += w->body_len;
	w->body_len = 0;
	items = json_object_get(doc, "items");
	meta = json_object_get(doc, "metadata");
	if (!json_is_object(doc) || (items && !json_is_array(items) && !json_is_null(items)) ||
	    !set_rv(w, doc)) {
		struct herr e;
		herr_set(&e, -EINVAL, "%s: response %s", w->path,
		         !doc ? je.text
		              : (items && !json_is_array(items)
		                     ? "items: not a list"
		                     : "metadata.resourceVersion: missing"));
		json_decref(doc);
		step_failed(w, STEP_LIST, "failed", &e);
		return;
	}
	json_array_foreach(items, i, it)
	{
		if (!json_is_object(it))
			continue;
		fill_type(w, it);
		if (foreign(w, it, "list"))
			continue;
		if (w->transform)
			w->transform(it);
		json_array_append(w->items, it);
	}
	cont = json_string_value(json_object_get(meta, "continue"));
	w->pages++;
	if (cont && *cont && list_too_long(w, cont)) {
		json_decref(doc);
		return;
	}
	free(w->cont);
	w->cont = cont && *cont ? strdup(cont) : NULL;
	json_decref(doc);
	if (w->cont)
		list_page(w);
	else
		list_complete(w);
}

static void list_done(void *arg, const struct kube_response *r)
{
	struct kube_watch *w = arg;

	w->req = NULL;
	if (r->status == 200 && r->curl_code == 0) {
		list_page_done(w);
	} else if (r->status == 410 && w->cont) {
		/* The continue token outlived the server's compaction window. */
		notice(w, "list: continue token expired (410 Gone); listing again from the start");
		list_reset(w);
		list_page(w);
	} else if (r->status == 404 && w->optional) {
		list_missing(w);
	} else {
		w->body_len = 0;
		if (r->status == 200 && r->curl_code == CURLE_WRITE_ERROR)
			failed(w, STEP_LIST, r, "list (response over 256 MiB or out of memory)");
		else
			failed(w, STEP_LIST, r, "list");
	}
}

static void list_page(struct kube_watch *w)
{
	char sel[2048], *target = NULL, *cont = NULL;
	struct herr err = {{0}};

	w->body_len = 0;
	selectors(w, sel, sizeof(sel));
	if (w->cont && !(cont = curl_easy_escape(NULL, w->cont, 0)))
		goto nomem;
	if (asprintf(&target, "%s?limit=%u%s%s%s", w->path, w->page_size, cont ? "&continue=" : "",
	             cont ? cont : "", sel) < 0) {
		target = NULL;
		goto nomem;
	}
	curl_free(cont);
	w->req = kube_request_start(w->c, target, LIST_TIMEOUT_MS, list_data, list_done, w, &err);
	free(target);
	if (!w->req)
		step_failed(w, STEP_LIST, "not started", &err);
	return;
nomem:
	curl_free(cont);
	herr_set(&err, -ENOMEM, "out of memory");
	step_failed(w, STEP_LIST, "not started", &err);
}

/* A 410 right after a watch started is normal once (the RV was compacted
 * while we were away) and relists at once; a second one before the stream
 * delivered anything means the server keeps refusing: back off. */
static void relist(struct kube_watch *w, const char *why)
{
	/* Only 410s count here: failures of another kind before it (401s while
	 * a token rotated, 500s) must not delay the relist by their backoff. */
	uint64_t d = w->gone_in_row ? backoff_ms(w) : 0;

	if (!d)
		w->failures++;
	w->gone_in_row++;
	notice(w, "%s; relisting from resourceVersion %s", why, w->rv);
	list_reset(w);
	w->relist = true;
	if (d)
		schedule(w, STEP_LIST, d);
	else
		list_page(w);
}

/* ---- watch ---- */

static void on_event_line(struct kube_watch *w, json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");
	struct herr err = {{0}};
	int rc = 0;

	if (!type || !json_is_object(obj)) {
		w->st.malformed++;
		notice(w, "watch: event without type or object skipped");
		return;
	}
	if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED") || !strcmp(type, "DELETED")) {
		fill_type(w, obj);
		/* The transform may drop metadata.resourceVersion: keep it alive. */
		json_t *rv = json_incref(
		    json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
		if (foreign(w, obj, "watch")) {
			/* Consumed all the same: the stream goes on past it. */
			set_rv_to(w, json_string_value(rv));
			json_decref(rv);
			return;
		}
		if (w->transform && !w->digest_only)
			w->transform(obj);
		if (type[0] == 'D')
			rc = obj_cache_delete(w->cache, obj, w->on_event, w->arg, &err);
		else
			rc = obj_cache_upsert(w->cache, obj, w->on_event, w->arg, &err);
		if (rc < 0) {
			json_decref(rv);
			w->st.malformed++;
			notice(w, "watch: %s event skipped: %s", type, err.msg);
			return;
		}
		w->st.events++;
		w->failures = 0; /* the stream works: a success */
		w->gone_in_row = 0;
		mark_healthy(w);
		set_rv_to(w, json_string_value(rv));
		json_decref(rv);
	} else if (!strcmp(type, "BOOKMARK")) {
		w->st.bookmarks++;
		w->failures = 0;
		w->gone_in_row = 0;
		mark_healthy(w);
		set_rv(w, obj);
	} else if (!strcmp(type, "ERROR")) {
		json_int_t code = json_integer_value(json_object_get(obj, "code"));
		const char *msg = json_string_value(json_object_get(obj, "message"));
		if (code == 410) {
			w->after = AFTER_RELIST;
		} else {
			w->after = AFTER_RESTART;
			notice(w, "watch: ERROR event, code %lld: %s; restarting the watch",
			       (long long)code, msg ? msg : "(no message)");
		}
	} else {
		w->st.malformed++;
		notice(w, "watch: unknown event type \"%.40s\" skipped", type);
	}
}

static void on_line(void *arg, const char *line, size_t len)
{
	struct kube_watch *w = arg;
	json_error_t je;
	json_t *ev;

	if (w->after != AFTER_NOTHING)
		return;
	if (!line) {
		w->st.malformed++;
		notice(w, "watch: a line over %u MiB was dropped", MAX_LINE >> 20);
		return;
	}
	w->nlines++;
	if (!(ev = json_loadb(line, len, 0, &je))) {
		/* What the parser made before it gave up: gone too. */
		if (json_arena_current() == w->arena)
			arena_reset(w->arena);
		w->st.malformed++;
		notice(w, "watch: malformed line skipped (%s): %.*s", je.text,
		       w->sensitive ? 0 : (int)(len < 80 ? len : 80), line);
		return;
	}
	on_event_line(w, ev);
	/* In arena mode the whole tree goes at once, without a walk to free it. */
	if (json_arena_current() == w->arena)
		arena_reset(w->arena);
	else
		json_decref(ev);
}

static int watch_data(void *arg, const char *data, size_t len)
{
	struct kube_watch *w = arg;

	/* Every tree of the events in this piece is made in the arena, and
	 * everything kept of them is decoded or copied out before the next line
	 * (arena.h); if another arena is in use, jansson's allocator serves. */
	if (w->after == AFTER_NOTHING) {
		bool arena = json_arena_begin(w->arena) == 0;
		line_splitter_feed(w->lines, data, len);
		if (arena)
			json_arena_end();
	}
	/* After an ERROR event the rest of the stream is of no use. */
	return w->after == AFTER_NOTHING ? 0 : -1;
}

static void watch_done(void *arg, const struct kube_response *r)
{
	struct kube_watch *w = arg;
	uint64_t lasted = loop_now_ms() - w->started_ms;

	w->req = NULL;
	if (r->status >= 200 && r->status <= 299 && lasted >= HEALTHY_STREAM_MS) {
		/* A long open stream: what came before it is history. */
		w->failures = 0;
		w->gone_in_row = 0;
	}
	if (w->after == AFTER_RELIST) {
		relist(w, "watch: ERROR event 410 Gone");
	} else if (w->after == AFTER_RESTART) {
		w->st.errors++;
		mark_failing(w, "watch: ERROR event");
		schedule(w, STEP_WATCH, backoff_ms(w));
	} else if (r->status >= 200 && r->status <= 299 && r->curl_code == 0) {
		/* The server ended the watch after timeoutSeconds: go on from the
		 * last RV at once, unless it ends watches as soon as they start. */
		if (w->nlines == 0 && lasted < SHORT_WATCH_MS) {
			schedule(w, STEP_WATCH, backoff_ms(w));
		} else {
			/* A watch that ran its course is a success: the next fault
			 * starts the backoff from the bottom. */
			w->failures = 0;
			w->gone_in_row = 0;
			mark_healthy(w);
			schedule(w, STEP_WATCH, 0);
		}
	} else if (r->status == 410) {
		relist(w, "watch: 410 Gone");
	} else if (r->status == 404 && w->optional) {
		list_missing(w);
	} else if (r->status >= 200 && r->status <= 299) {
		/* Dropped or stalled mid-stream: a partial line is discarded
		 * with the splitter; the last RV is still good. */
		failed(w, STEP_WATCH, r, "watch stream");
	} else {
		failed(w, STEP_WATCH, r, "watch");
	}
}

/* The server ends a watch after timeoutSeconds; one still open well past
 * that (by the timeout again, between 2 and 30 s) is stalled, and libcurl
 * aborts it. Bookmarks cannot tell: a quiet resource sends few. */
static uint64_t stall_ms(const struct kube_watch *w)
{
	uint64_t grace = w->timeout_s < 2 ? 2 : w->timeout_s > 30 ? 30 : w->timeout_s;

	return ((uint64_t)w->timeout_s + grace) * 1000;
}

static void watch_begin(struct kube_watch *w)
{
	char sel[2048], *target = NULL, *rv;
	struct herr err = {{0}};

	if (w->watched)
		w->st.restarts++;
	w->watched = true;
	w->after = AFTER_NOTHING;
	w->nlines = 0;
	w->started_ms = loop_now_ms();
	/* A new splitter: nothing of a previous stream's partial line survives. */
	line_splitter_free(w->lines);
	w->lines = line_splitter_new(MAX_LINE, on_line, w);
	selectors(w, sel, sizeof(sel));
	rv = curl_easy_escape(NULL, w->rv, 0);
	if (!w->lines || !rv ||
	    asprintf(&target,
	             "%s?watch=1&resourceVersion=%s&allowWatchBookmarks=true&timeoutSeconds=%u%s",
	             w->path, rv, w->timeout_s, sel) < 0) {
		curl_free(rv);
		herr_set(&err, -ENOMEM, "out of memory");
		step_failed(w, STEP_WATCH, "not started", &err);
		return;
	}
	curl_free(rv);
	w->req =
	    kube_request_start(w->c, target, (long)stall_ms(w), watch_data, watch_done, w, &err);
	free(target);
	if (!w->req)
		step_failed(w, STEP_WATCH, "not started", &err);
}

static void on_timer(struct loop *l, struct loop_timer *t, void *arg)
{
	struct kube_watch *w = arg;

	if (w->req)
		return; /* a step is already under way */
	if (w->step == STEP_LIST)
		list_page(w);
	else
		watch_begin(w);
}

/* ---- public ---- */

void kube_watch_destroy(struct kube_watch *w)
{
	if (!w)
		return;
	kube_request_cancel(w->req);
	loop_timer_free(w->timer);
	obj_cache_free(w->cache);
	line_splitter_free(w->lines);
	arena_free(w->arena);
	json_decref(w->items);
	free(w->body);
	free(w->cont);
	free(w->path);
	free(w->kind);
	free(w->api_version);
	curl_free(w->field_sel);
	curl_free(w->label_sel);
	free(w);
}

struct kube_watch *kube_watch_start(struct kube_client *c, const struct kube_watch_opts *o,
                                    obj_event_cb on_event, kube_synced_cb on_synced,
                                    kube_notice_cb on_notice, void *arg, struct herr *err)
{
	struct kube_watch *w;
	struct kube_watch **head = kube_client_watches(c);

	if (!o->path || o->path[0] != '/' || strchr(o->path, '?')) {
		herr_set(err, -EINVAL,
		         "kube watch: path: \"%s\" is not an absolute path without a query",
		         o->path ? o->path : "");
		return NULL;
	}
	if (!o->kind || !*o->kind || !o->api_version || !*o->api_version) {
		herr_set(err, -EINVAL, "kube watch %s: %s: missing", o->path,
		         !o->kind || !*o->kind ? "kind" : "api_version");
		return NULL;
	}
	if (!(w = calloc(1, sizeof(*w)))) {
		herr_set(err, -ENOMEM, "kube watch %s: out of memory", o->path);
		return NULL;
	}
	w->c = c;
	w->page_size = o->page_size ? o->page_size : 500;
	w->max_pages = o->list_max_pages ? o->list_max_pages : LIST_MAX_PAGES;
	w->max_objects = o->list_max_objects ? o->list_max_objects : LIST_MAX_OBJECTS;
	w->timeout_s = o->timeout_seconds ? o->timeout_seconds : 300;
	w->optional = o->optional;
	w->on_event = on_event;
	w->transform = o->transform;
	w->sensitive = o->sensitive;
	w->on_synced = on_synced;
	w->on_notice = on_notice;
	w->arg = arg;
	w->path = strdup(o->path);
	w->kind = strdup(o->kind);
	w->api_version = strdup(o->api_version);
	if (o->field_selector && *o->field_selector)
		w->field_sel = curl_easy_escape(NULL, o->field_selector, 0);
	if (o->label_selector && *o->label_selector)
		w->label_sel = curl_easy_escape(NULL, o->label_selector, 0);
	w->cache = o->digests ? obj_cache_new_digests() : obj_cache_new();
	if (w->cache && o->digests && o->digest) {
		obj_cache_set_digest(w->cache, o->digest);
		w->digest_only = true;
	}
	w->arena = arena_new(0, 0);
	w->items = json_array();
	w->timer = loop_timer_new(kube_client_loop(c), on_timer, w);
	if (!w->path || !w->kind || !w->api_version || !w->cache || !w->arena || !w->items ||
	    !w->timer || (o->field_selector && *o->field_selector && !w->field_sel) ||
	    (o->label_selector && *o->label_selector && !w->label_sel)) {
		kube_watch_destroy(w);
		herr_set(err, -ENOMEM, "kube watch %s: out of memory", o->path);
		return NULL;
	}
	w->next = *head;
	*head = w;
	/* The first list starts on the loop's next turn. */
	schedule(w, STEP_LIST, 0);
	return w;
}

void kube_watch_get_stats(const struct kube_watch *w, struct kube_watch_stats *out)
{
	*out = w->st;
	snprintf(out->resource_version, sizeof(out->resource_version), "%s", w->rv);
}
