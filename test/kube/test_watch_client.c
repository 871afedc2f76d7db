/* The API client against a scripted server in the same event loop: the
 * requests it makes (paged lists, watches from the right resourceVersion,
 * selectors encoded), the events it delivers, and how it recovers from each
 * fault: 410 Gone (event and HTTP), a stream dropped mid-chunk, 5xx/429 with
 * backoff, a rotated token after a 401, a missing optional resource. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_server.h"
#include "kube/client.h"
#include "util/loop.h"

#define MAX_REQ 32

struct t;
typedef void (*respond_fn)(struct t *t, struct fake_conn *c, int n, const char *target);

struct t {
	struct loop *loop;
	struct fake_server *srv;
	struct kube_client *kc;
	struct kube_watch *w;
	respond_fn respond;
	int nreq;
	char target[MAX_REQ][512];
	char auth[MAX_REQ][128];
	uint64_t at[MAX_REQ];
	struct fake_conn *stream; /* the last watch held open */
	char log[8192];           /* "ADDED Pod/ns/a@1;..." */
	char notices[8192];
	int nnotices, synced;
	char token_path[PATH_MAX];
};

static void on_request(void *arg, struct fake_conn *c, const char *target, const char *auth)
{
	struct t *t = arg;
	int n = t->nreq;

	assert_true(n < MAX_REQ);
	snprintf(t->target[n], sizeof(t->target[n]), "%s", target);
	snprintf(t->auth[n], sizeof(t->auth[n]), "%s", auth);
	t->at[n] = loop_now_ms();
	t->nreq++;
	t->respond(t, c, n, target);
}

static void on_event(void *arg, enum obj_event ev, const json_t *obj)
{
	struct t *t = arg;
	json_t *meta = json_object_get(obj, "metadata");
	size_t n = strlen(t->log);

	snprintf(t->log + n, sizeof(t->log) - n, "%s %s/%s/%s@%s;", obj_event_name(ev),
	         json_string_value(json_object_get(obj, "kind")),
	         json_string_value(json_object_get(meta, "namespace")),
	         json_string_value(json_object_get(meta, "name")),
	         json_string_value(json_object_get(meta, "resourceVersion")));
	/* Every object carries its type, list items and events alike. */
	assert_string_equal(json_string_value(json_object_get(obj, "apiVersion")), "v1");
}

static void on_synced(void *arg, const char *kind)
{
	struct t *t = arg;

	assert_string_equal(kind, "Pod");
	t->synced++;
}

static void on_notice(void *arg, const char *kind, const char *message)
{
	struct t *t = arg;
	size_t n = strlen(t->notices);

	snprintf(t->notices + n, sizeof(t->notices) - n, "%s\n", message);
	t->nnotices++;
}

static struct t *t_new(respond_fn respond, const char *token_file)
{
	struct t *t = calloc(1, sizeof(*t));
	char server[64];
	struct herr err = {{0}};

	t->loop = loop_new();
	t->respond = respond;
	assert_non_null(t->srv = fake_server_new(t->loop, on_request, t));
	snprintf(server, sizeof(server), "http://127.0.0.1:%d", fake_server_port(t->srv));
	struct kube_config cfg = {.server = server, .token = token_file ? NULL : "tok"};
	if (token_file) {
		snprintf(t->token_path, sizeof(t->token_path), "%s", token_file);
		cfg.token_file = t->token_path;
	}
	t->kc = kube_client_new(t->loop, &cfg, &err);
	if (!t->kc)
		fail_msg("%s", err.msg);
	return t;
}

static void t_watch(struct t *t, const char *path, bool optional)
{
	struct kube_watch_opts o = {
	    .path = path,
	    .kind = "Pod",
	    .api_version = "v1",
	    .field_selector = "spec.nodeName=node-1",
	    .label_selector = "app in (a,b)",
	    .page_size = 2,
	    .timeout_seconds = 5,
	    .optional = optional,
	};
	struct herr err = {{0}};

	t->w = kube_watch_start(t->kc, &o, on_event, on_synced, on_notice, t, &err);
	if (!t->w)
		fail_msg("%s", err.msg);
}

static void t_free(struct t *t)
{
	kube_client_free(t->kc);
	fake_server_free(t->srv);
	loop_free(t->loop);
	free(t);
}

static struct kube_watch_stats stats(struct t *t)
{
	struct kube_watch_stats s;
	kube_watch_get_stats(t->w, &s);
	return s;
}

/* Turn the loop until `cond` holds; fail after 5 s. */
#define RUN_UNTIL(t, cond)                                                                         \
	do {                                                                                       \
		uint64_t deadline_ = loop_now_ms() + 5000;                                         \
		while (!(cond)) {                                                                  \
			if (loop_now_ms() > deadline_)                                             \
				fail_msg("timed out waiting for: %s\nlog: %s\nnotices: %s", #cond, \
				         (t)->log, (t)->notices);                                  \
			loop_once((t)->loop, 20);                                                  \
		}                                                                                  \
	} while (0)

/* Turn the loop for `ms` whatever happens. */
static void run_for(struct t *t, uint64_t ms)
{
	uint64_t end = loop_now_ms() + ms;
	while (loop_now_ms() < end)
		loop_once(t->loop, 10);
}

#define SEL "&fieldSelector=spec.nodeName%3Dnode-1&labelSelector=app%20in%20%28a%2Cb%29"
#define POD(name, rv)                                                                              \
	"{\"metadata\":{\"namespace\":\"ns\",\"name\":\"" name "\",\"resourceVersion\":\"" rv "\"" \
	"}}"
#define EVENT(type, name, rv) "{\"type\":\"" type "\",\"object\":" POD(name, rv) "}\n"
#define LIST(rv, cont, items)                                                                      \
	"{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"" rv      \
	"\"" cont "},\"items\":[" items "]}"

/* ---- paged list, then a watch and its events ---- */

static void respond_paged(struct t *t, struct fake_conn *c, int n, const char *target)
{
	if (n == 0)
		fake_reply(c, 200,
		           LIST("10", ",\"continue\":\"tok/1\"", POD("a", "1") "," POD("b", "2")));
	else if (n == 1)
		fake_reply(c, 200, LIST("10", "", POD("c", "3")));
	else
		fake_stream_begin(t->stream = c);
}

static void paged_list_then_watch_events(void **state)
{
	struct t *t = t_new(respond_paged, NULL);
	static const char stream[] = "{\"type\":\"MODIFIED\",\"object\":" POD(
	    "a", "11") "}\r\n"
	               "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\","
	               "\"metadata\":{\"resourceVersion\":\"15\"}}}\n"
	               "{not json\n" EVENT("DELETED", "b", "16");

	t_watch(t, "/api/v1/pods", false);
	RUN_UNTIL(t, t->stream);
	assert_string_equal(t->target[0], "/api/v1/pods?limit=2" SEL);
	assert_string_equal(t->target[1], "/api/v1/pods?limit=2&continue=tok%2F1" SEL);
	assert_string_equal(t->target[2], "/api/v1/pods?watch=1&resourceVersion=10"
	                                  "&allowWatchBookmarks=true&timeoutSeconds=5" SEL);
	assert_string_equal(t->auth[0], "Bearer tok");
	assert_string_equal(t->log, "ADDED Pod/ns/a@1;ADDED Pod/ns/b@2;ADDED Pod/ns/c@3;");
	assert_int_equal(t->synced, 1);
	assert_int_equal(stats(t).lists, 1);
	assert_true(stats(t).synced);

	/* The stream arrives in 7-byte chunks, split anywhere. */
	for (size_t off = 0; off < sizeof(stream) - 1; off += 7) {
		char chunk[8] = {0};
		memcpy(chunk, stream + off,
		       sizeof(stream) - 1 - off < 7 ? sizeof(stream) - 1 - off : 7);
		fake_stream_send(t->stream, chunk);
		loop_once(t->loop, 5);
	}
	RUN_UNTIL(t, stats(t).events == 2);
	assert_string_equal(t->log, "ADDED Pod/ns/a@1;ADDED Pod/ns/b@2;ADDED Pod/ns/c@3;"
	                            "MODIFIED Pod/ns/a@11;DELETED Pod/ns/b@2;");
	struct kube_watch_stats s = stats(t);
	assert_int_equal(s.bookmarks, 1);
	assert_int_equal(s.malformed, 1);
	assert_string_equal(s.resource_version, "16");
	assert_non_null(strstr(t->notices, "malformed line skipped"));
	assert_int_equal(s.errors, 0);
	assert_int_equal(s.restarts, 0);

	/* The server ends the watch (timeoutSeconds): resume from the last RV. */
	struct fake_conn *old = t->stream;
	fake_stream_end(old);
	RUN_UNTIL(t, t->stream != old);
	assert_string_equal(t->target[3], "/api/v1/pods?watch=1&resourceVersion=16"
	                                  "&allowWatchBookmarks=true&timeoutSeconds=5" SEL);
	assert_int_equal(stats(t).restarts, 1);
	assert_int_equal(stats(t).errors, 0);
	assert_int_equal(t->synced, 1);
	t_free(t);
}

/* ---- 410 Gone: relist and reconcile ---- */

static void respond_gone(struct t *t, struct fake_conn *c, int n, const char *target)
{
	switch (n) {
	case 0:
		fake_reply(c, 200,
		           LIST("10", "", POD("a", "1") "," POD("b", "2") "," POD("c", "3")));
		break;
	case 2: /* after the ERROR event: a was deleted, b changed, d added in the gap */
		fake_reply(c, 200,
		           LIST("20", "", POD("b", "5") "," POD("c", "3") "," POD("d", "6")));
		break;
	case 3: /* the watch from 20 is refused as too old */
		fake_reply(c, 410,
		           "{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\",\"message\":"
		           "\"too old resource version: 20 (25)\"}");
		break;
	case 4:
		fake_reply(c, 200,
		           LIST("30", "", POD("b", "5") "," POD("c", "3") "," POD("d", "6")));
		break;
	default:
		fake_stream_begin(t->stream = c);
	}
}

static void gone_relists_and_reconciles(void **state)
{
	struct t *t = t_new(respond_gone, NULL);

	t_watch(t, "/api/v1/pods", false);
	RUN_UNTIL(t, t->stream);
	t->log[0] = 0;
	fake_stream_send(t->stream, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":"
	                            "410,\"message\":\"too old resource version\"}}\n");
	RUN_UNTIL(t, t->nreq == 6);
	/* Both relists are full lists; a, gone in the gap, is reported deleted;
	 * c, unchanged, produces nothing; the second relist changes nothing. */
	assert_string_equal(t->target[2], "/api/v1/pods?limit=2" SEL);
	assert_string_equal(t->target[3], "/api/v1/pods?watch=1&resourceVersion=20"
	                                  "&allowWatchBookmarks=true&timeoutSeconds=5" SEL);
	assert_string_equal(t->target[4], "/api/v1/pods?limit=2" SEL);
	assert_string_equal(t->target[5], "/api/v1/pods?watch=1&resourceVersion=30"
	                                  "&allowWatchBookmarks=true&timeoutSeconds=5" SEL);
	assert_string_equal(t->log, "DELETED Pod/ns/a@1;MODIFIED Pod/ns/b@5;ADDED Pod/ns/d@6;");
	struct kube_watch_stats s = stats(t);
	assert_int_equal(s.lists, 3);
	assert_int_equal(s.relists, 2);
	assert_int_equal(s.errors, 0);
	assert_int_equal(t->synced, 1);
	assert_non_null(strstr(t->notices, "ERROR event 410 Gone; relisting"));
	assert_non_null(strstr(t->notices, "410 Gone; relisting"));
	/* The second 410 came before the stream delivered anything: it waits
	 * (at least half of 400 ms) instead of relisting in a tight loop. */
	assert_true(t->at[4] - t->at[3] >= 200);
	t_free(t);
}

/* ---- a stream dropped mid-chunk, then 500 and 429 with backoff ---- */

static void respond_faults(struct t *t, struct fake_conn *c, int n, const char *target)
{
	switch (n) {
	case 0:
		fake_reply(c, 200, LIST("5", "", ""));
		break;
	case 1:
	case 4:
		fake_stream_begin(t->stream = c);
		break;
	case 2:
		fake_reply(c, 500, "{\"kind\":\"Status\",\"code\":500,\"message\":\"etcd down\"}");
		break;
	case 3:
		fake_reply_with(c, 429, "Retry-After: 1\r\n",
		                "{\"kind\":\"Status\",\"code\":429,\"message\":\"slow down\"}");
		break;
	}
}

static void dropped_stream_and_errors_back_off(void **state)
{
	struct t *t = t_new(respond_faults, NULL);

	t_watch(t, "/api/v1/pods", false);
	RUN_UNTIL(t, t->stream);
	fake_stream_send(t->stream, EVENT("ADDED", "a", "6"));
	RUN_UNTIL(t, stats(t).events == 1);
	/* Half an event, then the connection breaks mid-chunk. */
	fake_stream_drop(t->stream, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"na");
	t->stream = NULL;
	RUN_UNTIL(t, t->stream);
	fake_stream_send(t->stream, "me\":\"x\"}}}\n" EVENT("ADDED", "b", "7"));
	RUN_UNTIL(t, stats(t).events == 2);

	/* The half event vanished with its connection: the new stream's first
	 * line is malformed on its own, and b arrives. */
	assert_int_equal(stats(t).malformed, 1);
	assert_string_equal(t->log, "ADDED Pod/ns/a@6;ADDED Pod/ns/b@7;");
	for (int i = 2; i <= 4; i++)
		assert_string_equal(t->target[i], "/api/v1/pods?watch=1&resourceVersion=6"
		                                  "&allowWatchBookmarks=true&timeoutSeconds=5" SEL);
	struct kube_watch_stats s = stats(t);
	assert_int_equal(s.errors, 3);
	assert_int_equal(s.restarts, 3);
	assert_int_equal(s.lists, 1);
	assert_int_equal(s.relists, 0);
	assert_string_equal(s.resource_version, "7");
	assert_non_null(strstr(t->notices, "watch stream failed"));
	assert_non_null(strstr(t->notices, "watch failed: HTTP 500: etcd down; retrying in"));
	assert_non_null(strstr(t->notices, "watch failed: HTTP 429: slow down; retrying in"));
	/* Retries wait: at least half the step (200 ms, 400 ms), or what the
	 * server asked for (Retry-After: 1) when that is longer. */
	assert_true(t->at[2] - t->at[1] >= 100);
	assert_true(t->at[3] - t->at[2] >= 200);
	assert_true(t->at[4] - t->at[3] >= 1000);
	t_free(t);
}

/* ---- a rotated token after a 401 ---- */

static void rotate(struct t *t, const char *token)
{
	char tmp[PATH_MAX + 8];
	FILE *f;

	/* As the kubelet does: a new file swapped in, never an edit in place. */
	snprintf(tmp, sizeof(tmp), "%s.new", t->token_path);
	assert_non_null(f = fopen(tmp, "w"));
	fprintf(f, "%s\n", token);
	fclose(f);
	assert_int_equal(rename(tmp, t->token_path), 0);
}

static void respond_token(struct t *t, struct fake_conn *c, int n, const char *target)
{
	if (strcmp(t->auth[n], "Bearer t2") && strcmp(t->auth[n], "Bearer t3")) {
		fake_reply(c, 401,
		           "{\"kind\":\"Status\",\"code\":401,\"message\":\"Unauthorized\"}");
		rotate(t, "t2");
	} else if (strstr(target, "watch=1")) {
		fake_stream_begin(t->stream = c);
	} else {
		fake_reply(c, 200, LIST("5", "", POD("a", "1")));
	}
}

static void token_file_reread_on_401_and_rotation(void **state)
{
	char path[64];
	struct t *t;
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/test_watch_client.%d.token", (int)getpid());
	assert_non_null(f = fopen(path, "w"));
	fputs("t1\n", f);
	fclose(f);
	t = t_new(respond_token, path);
	t_watch(t, "/api/v1/pods", false);
	RUN_UNTIL(t, t->stream);
	assert_string_equal(t->auth[0], "Bearer t1");
	assert_string_equal(t->auth[1], "Bearer t2");
	assert_int_equal(stats(t).errors, 1);
	assert_int_equal(t->synced, 1);

	/* Rotated again without a 401: the next request carries it. */
	rotate(t, "t3");
	struct fake_conn *old = t->stream;
	fake_stream_end(old);
	RUN_UNTIL(t, t->stream != old);
	assert_string_equal(t->auth[t->nreq - 1], "Bearer t3");
	t_free(t);
	unlink(path);
}

/* ---- a 410 on a continue token restarts the list ---- */

static void respond_continue_gone(struct t *t, struct fake_conn *c, int n, const char *target)
{
	if (n == 0 || n == 2)
		fake_reply(c, 200,
		           LIST("10", ",\"continue\":\"c1\"", POD("a", "1") "," POD("b", "2")));
	else if (n == 1)
		fake_reply(c, 410, "{\"kind\":\"Status\",\"code\":410,\"message\":\"expired\"}");
	else if (n == 3)
		fake_reply(c, 200, LIST("12", "", POD("c", "3")));
	else
		fake_stream_begin(t->stream = c);
}

static void expired_continue_token_restarts_the_list(void **state)
{
	struct t *t = t_new(respond_continue_gone, NULL);

	t_watch(t, "/api/v1/pods", false);
	RUN_UNTIL(t, t->stream);
	assert_string_equal(t->target[1], "/api/v1/pods?limit=2&continue=c1" SEL);
	assert_string_equal(t->target[2], "/api/v1/pods?limit=2" SEL);
	assert_string_equal(t->target[4], "/api/v1/pods?watch=1&resourceVersion=12"
	                                  "&allowWatchBookmarks=true&timeoutSeconds=5" SEL);
	assert_string_equal(t->log, "ADDED Pod/ns/a@1;ADDED Pod/ns/b@2;ADDED Pod/ns/c@3;");
	assert_int_equal(stats(t).lists, 1);
	assert_int_equal(t->synced, 1);
	assert_non_null(strstr(t->notices, "continue token expired"));
	t_free(t);
}

/* ---- a failed page is asked for again, not the whole list ---- */

static void respond_page_fails(struct t *t, struct fake_conn *c, int n, const char *target)
{
	if (n == 0)
		fake_reply(c, 200, "<html>proxy error</html>");
	else if (n == 1)
		fake_reply(c, 200, LIST("10", ",\"continue\":\"c1\"", POD("a", "1")));
	else if (n == 2)
		fake_reply(c, 503, "{\"kind\":\"Status\",\"code\":503,\"message\":\"busy\"}");
	else if (n == 3)
		fake_reply(c, 200, LIST("10", "", POD("b", "2")));
	else
		fake_stream_begin(t->stream = c);
}

static void failed_page_is_retried(void **state)
{
	struct t *t = t_new(respond_page_fails, NULL);

	t_watch(t, "/api/v1/pods", false);
	RUN_UNTIL(t, t->stream);
	assert_string_equal(t->target[0], "/api/v1/pods?limit=2" SEL);
	assert_string_equal(t->target[1], "/api/v1/pods?limit=2" SEL);
	assert_string_equal(t->target[2], "/api/v1/pods?limit=2&continue=c1" SEL);
	assert_string_equal(t->target[3], "/api/v1/pods?limit=2&continue=c1" SEL);
	assert_string_equal(t->log, "ADDED Pod/ns/a@1;ADDED Pod/ns/b@2;");
	assert_non_null(
	    strstr(t->notices, "list failed: /api/v1/pods: response '[' or '{' expected"));
	assert_non_null(strstr(t->notices, "list failed: HTTP 503: busy; retrying in"));
	assert_int_equal(stats(t).errors, 2);
	assert_int_equal(stats(t).lists, 1);
	assert_int_equal(t->synced, 1);
	t_free(t);
}

/* ---- a stalled stream is abandoned and resumed ---- */

static void respond_stall(struct t *t, struct fake_conn *c, int n, const char *target)
{
	if (n == 0)
		fake_reply(c, 200, LIST("10", "", POD("a", "1")));
	else
		fake_stream_begin(t->stream = c); /* and then silence */
}

static void stalled_stream_is_resumed(void **state)
{
	struct t *t = t_new(respond_stall, NULL);
	struct kube_watch_opts o = {
	    .path = "/api/v1/pods", .kind = "Pod", .api_version = "v1", .timeout_seconds = 1};
	struct herr err;

	assert_non_null(t->w =
	                    kube_watch_start(t->kc, &o, on_event, on_synced, on_notice, t, &err));
	RUN_UNTIL(t, t->nreq == 3);
	/* timeoutSeconds=1 plus 2 s of grace, then a backoff. */
	assert_true(t->at[2] - t->at[1] >= 3000);
	assert_string_equal(t->target[2], "/api/v1/pods?watch=1&resourceVersion=10"
	                                  "&allowWatchBookmarks=true&timeoutSeconds=1");
	assert_non_null(strstr(t->notices, "watch stream failed: Operation timed out"));
	assert_int_equal(stats(t).errors, 1);
	t_free(t);
}

/* ---- an optional resource that is not installed ---- */

static void respond_404(struct t *t, struct fake_conn *c, int n, const char *target)
{
	fake_reply(c, 404, "{\"kind\":\"Status\",\"code\":404,\"message\":\"not found\"}");
}

static void missing_optional_resource_is_synced_and_quiet(void **state)
{
	struct t *t = t_new(respond_404, NULL);

	t_watch(t, "/apis/kubevirt.io/v1/virtualmachineinstancemigrations", true);
	RUN_UNTIL(t, t->synced);
	run_for(t, 1000);
	/* One request, one notice, no retry within 30 s, not an error. */
	assert_int_equal(t->nreq, 1);
	assert_int_equal(t->nnotices, 1);
	assert_non_null(strstr(t->notices, "not installed"));
	assert_int_equal(stats(t).errors, 0);
	assert_int_equal(t->synced, 1);
	t_free(t);
}

/* ---- every watch shares the client; freeing it stops them all ---- */

static void respond_many(struct t *t, struct fake_conn *c, int n, const char *target)
{
	if (strstr(target, "watch=1"))
		fake_stream_begin(c);
	else
		fake_reply(c, 200, LIST("1", "", POD("a", "1")));
}

static void several_watches_on_one_client(void **state)
{
	struct t *t = t_new(respond_many, NULL);
	static const char *paths[] = {"/api/v1/pods", "/api/v1/nodes", "/apis/x/v1/a",
	                              "/apis/x/v1/b"};
	struct kube_watch_opts o = {.kind = "Pod", .api_version = "v1"};
	struct herr err;

	for (int i = 0; i < 4; i++) {
		o.path = paths[i];
		assert_non_null(
		    kube_watch_start(t->kc, &o, on_event, on_synced, on_notice, t, &err));
	}
	RUN_UNTIL(t, t->nreq == 8);
	assert_int_equal(t->synced, 4);
	/* Bad options are refused up front. */
	o.path = "api/v1/pods";
	assert_null(kube_watch_start(t->kc, &o, on_event, on_synced, on_notice, t, &err));
	assert_string_equal(
	    err.msg, "kube watch: path: \"api/v1/pods\" is not an absolute path without a query");
	t_free(t); /* with 4 watches open: nothing leaks (ASan) */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(paged_list_then_watch_events),
	    cmocka_unit_test(gone_relists_and_reconciles),
	    cmocka_unit_test(dropped_stream_and_errors_back_off),
	    cmocka_unit_test(token_file_reread_on_401_and_rotation),
	    cmocka_unit_test(expired_continue_token_restarts_the_list),
	    cmocka_unit_test(failed_page_is_retried),
	    cmocka_unit_test(stalled_stream_is_resumed),
	    cmocka_unit_test(missing_optional_resource_is_synced_and_quiet),
	    cmocka_unit_test(several_watches_on_one_client),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
