/* The API client against a hostile or odd server: an object of another kind
 * on a stream or in a list, a list that never ends (continue tokens without
 * end), and the backoff after a long quiet run of relists. */
#include "watch_harness.h"

#define ITEM(kind, api, name, rv)                                                                  \
	"{\"kind\":\"" kind "\",\"apiVersion\":\"" api "\",\"metadata\":{\"namespace\":\"ns\","    \
	"\"name\":\"" name "\",\"resourceVersion\":\"" rv "\"}}"

/* ---- objects of another kind are refused ---- */

static void respond_foreign(struct t *t, struct fake_conn *c, int n, const char *target)
{
	if (n == 0)
		fake_reply(
		    c, 200,
		    LIST("10", "",
		         POD("a", "1") "," ITEM("BGPPeer", "projectcalico.org/v3", "a", "2")));
	else
		fake_stream_begin(t->stream = c);
}

static void other_kinds_are_rejected(void **state)
{
	struct t *t = t_new(respond_foreign, NULL);

	t_watch(t, "/api/v1/pods", false);
	RUN_UNTIL(t, t->stream);
	/* The list's BGPPeer (same name as a pod) never reached the cache. */
	assert_string_equal(t->log, "ADDED Pod/ns/a@1;");
	assert_int_equal(stats(t).rejected, 1);
	assert_non_null(strstr(t->notices, "list: projectcalico.org/v3 BGPPeer ns/a rejected: "
	                                   "not a Pod (v1)"));
	t->log[0] = 0;
	/* On the stream: a BGPPeer that would replace pod a, a DELETED of a Pod
	 * of another apiVersion that would delete it; then a real event. */
	fake_stream_send(t->stream, "{\"type\":\"MODIFIED\",\"object\":" ITEM(
	                                "BGPPeer", "projectcalico.org/v3", "a",
	                                "11") "}\n"
	                                      "{\"type\":\"DELETED\",\"object\":" ITEM(
	                                          "Pod", "example.com/v1", "a",
	                                          "12") "}\n" EVENT("ADDED", "b", "13"));
	RUN_UNTIL(t, stats(t).events == 1);
	assert_string_equal(t->log, "ADDED Pod/ns/b@13;");
	assert_int_equal(stats(t).rejected, 3);
	assert_non_null(strstr(t->notices, "watch: projectcalico.org/v3 BGPPeer ns/a rejected"));
	assert_non_null(strstr(t->notices, "watch: example.com/v1 Pod ns/a rejected"));
	assert_string_equal(stats(t).resource_version, "13");
	t_free(t);
}

/* ---- a list that never ends ---- */

static void respond_endless(struct t *t, struct fake_conn *c, int n, const char *target)
{
	char body[512];

	if (strstr(target, "watch=1")) {
		fake_stream_begin(t->stream = c);
		return;
	}
	/* Every page names a next one; from request 12 on the list ends. */
	if (n >= 12) {
		fake_reply(c, 200, LIST("50", "", POD("z", "9")));
		return;
	}
	snprintf(body, sizeof(body),
	         "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":"
	         "\"10\",\"continue\":\"page-%d\"},\"items\":[" POD("a", "1") "]}",
	         n);
	fake_reply(c, 200, body);
}

static void endless_continue_tokens_are_bounded(void **state)
{
	struct t *t = t_new(respond_endless, NULL);
	struct kube_watch_opts o = {
	    .path = "/api/v1/pods", .kind = "Pod", .api_version = "v1", .list_max_pages = 5};
	struct herr err;

	assert_non_null(t->w =
	                    kube_watch_start(t->kc, &o, on_event, on_synced, on_notice, t, &err));
	RUN_UNTIL(t, t->stream);
	/* 5 pages, abandoned; 5 again from the start, abandoned; then a short
	 * list: the requests that started over carry no continue token. */
	assert_int_equal(t->nreq, 14);
	assert_string_equal(t->target[5], "/api/v1/pods?limit=500");
	assert_string_equal(t->target[10], "/api/v1/pods?limit=500");
	assert_string_equal(t->target[11], "/api/v1/pods?limit=500&continue=page-10");
	assert_non_null(strstr(t->notices, "list too long: /api/v1/pods: list of Pod abandoned "
	                                   "after 5 pages and 5 objects: more than 5 pages; "
	                                   "retrying in"));
	/* With a backoff, not at once. */
	assert_true(t->at[5] - t->at[4] >= 100);
	assert_int_equal(stats(t).errors, 2);
	assert_int_equal(t->synced, 1);
	assert_string_equal(t->log, "ADDED Pod/ns/a@1;ADDED Pod/ns/z@9;");
	t_free(t);
}

static void respond_same_token(struct t *t, struct fake_conn *c, int n, const char *target)
{
	if (n < 2)
		fake_reply(c, 200, LIST("10", ",\"continue\":\"again\"", POD("a", "1")));
	else
		fake_reply(c, 500, "{\"kind\":\"Status\",\"code\":500,\"message\":\"x\"}");
}

static void repeated_continue_token_stops_at_once(void **state)
{
	struct t *t = t_new(respond_same_token, NULL);

	t_watch(t, "/api/v1/pods", false);
	RUN_UNTIL(t, t->nnotices >= 1);
	assert_int_equal(t->nreq, 2);
	assert_non_null(strstr(t->notices, "the server sent the same continue token twice"));
	t_free(t);
}

/* ---- the backoff starts over after a healthy stretch ---- */

#define CYCLES 5

static void respond_quiet(struct t *t, struct fake_conn *c, int n, const char *target)
{
	/* list, then per cycle: a quiet watch the server ends normally, a
	 * watch refused with 410, a relist; then a 500, then a watch. */
	if (n == 3 * CYCLES + 1) {
		fake_reply(c, 500, "{\"kind\":\"Status\",\"code\":500,\"message\":\"blip\"}");
	} else if (strstr(target, "watch=1")) {
		if (n % 3 == 2)
			fake_reply(c, 410,
			           "{\"kind\":\"Status\",\"code\":410,\"message\":\"old\"}");
		else
			fake_stream_begin(t->stream = c);
	} else {
		fake_reply(c, 200, LIST("10", "", POD("a", "1")));
	}
}

static void backoff_resets_after_a_healthy_stretch(void **state)
{
	struct t *t = t_new(respond_quiet, NULL);

	t_watch(t, "/api/v1/pods", false);
	for (int i = 0; i < CYCLES; i++) {
		int want = 3 * i + 2; /* the quiet watch is request want-1 */
		RUN_UNTIL(t, t->nreq == want && t->stream);
		run_for(t, 1100); /* longer than a watch the server ends at once */
		fake_stream_end(t->stream);
		t->stream = NULL;
	}
	RUN_UNTIL(t, t->nreq == 3 * CYCLES + 3);
	assert_non_null(strstr(t->notices, "watch failed: HTTP 500: blip; retrying in"));
	/* Every watch ran its course: the retry after the 500 is the first
	 * step's (100-200 ms), not the 6th's (3.2-6.4 s). */
	assert_true(t->at[3 * CYCLES + 2] - t->at[3 * CYCLES + 1] < 1500);
	assert_int_equal(stats(t).relists, CYCLES);
	t_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(other_kinds_are_rejected),
	    cmocka_unit_test(endless_continue_tokens_are_bounded),
	    cmocka_unit_test(repeated_continue_token_stops_at_once),
	    cmocka_unit_test(backoff_resets_after_a_healthy_stretch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
