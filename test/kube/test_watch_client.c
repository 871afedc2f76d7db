/* The API client against a scripted server in the same event loop: the
 * requests it makes (paged lists, watches from the right resourceVersion,
 * selectors encoded), the events it delivers, and how it recovers from each
 * fault: 410 Gone (event and HTTP), a stream dropped mid-chunk, 5xx/429 with
 * backoff, a rotated token after a 401, a missing optional resource. */
#include "watch_harness.h"

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
