/* test_status.c - /migrations keeps what is in progress and a bounded number
 * of finished migrations, the oldest dropped first; what the status holds per
 * endpoint is bounded by the endpoints still alive or in migration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

static void transition(struct status *s, const char *uid, const char *ep, enum lm_state from,
                       enum lm_state to, enum lm_input in)
{
	struct decision d = {.kind = DEC_TRANSITION,
	                     .endpoint = (char *)ep,
	                     .uid = (char *)uid,
	                     .from = from,
	                     .to = to,
	                     .input = in};
	status_record(s, &d, 1000, 1000);
}

static void role(struct status *s, const char *uid, const char *ep, enum lm_role r)
{
	struct decision d = {
	    .kind = DEC_ROLE, .endpoint = (char *)ep, .uid = (char *)uid, .role = r};
	status_record(s, &d, 1000, 1000);
}

/* One whole migration of `uid` on one endpoint: Target, Live, TimeWait, Base. */
static void migrate(struct status *s, const char *uid, const char *ep)
{
	transition(s, uid, ep, LM_BASE, LM_TARGET, LM_IN_TARGET);
	transition(s, uid, ep, LM_TARGET, LM_LIVE, LM_IN_GARP);
	transition(s, uid, ep, LM_LIVE, LM_TIMEWAIT, LM_IN_NOROLE);
	transition(s, uid, ep, LM_TIMEWAIT, LM_BASE, LM_IN_TIMERPOP);
}

static json_t *migrations(struct status *s)
{
	char *text = status_migrations_json(s);
	json_t *j = json_loads(text, 0, NULL);
	free(text);
	return j;
}

static void finished_history_is_bounded(void **state)
{
	struct status *s = status_new(1000);
	char uid[32];

	/* One migration in progress before all the finished ones. */
	transition(s, "running", "vms/a", LM_BASE, LM_TARGET, LM_IN_TARGET);
	for (int i = 0; i < 10000; i++) {
		snprintf(uid, sizeof(uid), "uid-%05d", i);
		migrate(s, uid, "vms/b");
	}
	assert_int_equal(status_migrations_count(s), 1001);
	json_t *j = migrations(s);
	assert_non_null(json_object_get(j, "running"));
	assert_null(json_object_get(j, "uid-08999")); /* the oldest went first */
	assert_non_null(json_object_get(j, "uid-09000"));
	assert_non_null(json_object_get(j, "uid-09999"));
	assert_int_equal(
	    json_array_size(json_object_get(
	        json_object_get(json_object_get(j, "uid-09999"), "vms/b"), "transitions")),
	    4);
	json_decref(j);
	status_free(s);
}

static void a_finished_migration_that_moves_again_is_kept(void **state)
{
	struct status *s = status_new(2);

	migrate(s, "old", "vms/a");
	migrate(s, "x", "vms/b");
	/* "old" moves again (same uid): in progress, not droppable. */
	transition(s, "old", "vms/a", LM_BASE, LM_TARGET, LM_IN_TARGET);
	migrate(s, "y", "vms/c");
	migrate(s, "z", "vms/d");
	json_t *j = migrations(s);
	assert_non_null(json_object_get(j, "old"));
	assert_null(json_object_get(j, "x"));
	assert_non_null(json_object_get(j, "y"));
	assert_non_null(json_object_get(j, "z"));
	json_decref(j);
	/* A migration with two endpoints is finished only once both are. */
	transition(s, "two", "vms/e", LM_BASE, LM_TARGET, LM_IN_TARGET);
	migrate(s, "two", "vms/f");
	migrate(s, "w", "vms/g");
	migrate(s, "v", "vms/h");
	j = migrations(s);
	assert_non_null(json_object_get(j, "two"));
	assert_int_equal(status_migrations_count(s), 4); /* old, two, w, v */
	json_decref(j);
	status_free(s);
}

/* The watcher's life on a node for months: pods come, migrate and go. */
static void per_endpoint_state_is_bounded_by_the_live_endpoints(void **state)
{
	struct status *s = status_new(10);
	char uid[32], ep[32], src[32], suid[32];

	for (int i = 0; i < 10000; i++) {
		snprintf(uid, sizeof(uid), "uid-%05d", i);
		snprintf(ep, sizeof(ep), "vms/target-%05d", i);
		snprintf(src, sizeof(src), "vms/source-%05d", i);
		snprintf(suid, sizeof(suid), "src-%05d", i);
		/* This node is the target of one migration and the source of another. */
		role(s, uid, ep, LM_ROLE_TARGET);
		transition(s, uid, ep, LM_BASE, LM_TARGET, LM_IN_TARGET);
		transition(s, uid, ep, LM_TARGET, LM_LIVE, LM_IN_GARP);
		role(s, "", ep, LM_ROLE_NONE);
		transition(s, uid, ep, LM_LIVE, LM_TIMEWAIT, LM_IN_NOROLE);
		transition(s, uid, ep, LM_TIMEWAIT, LM_BASE, LM_IN_TIMERPOP);
		role(s, suid, src, LM_ROLE_SOURCE);
		/* The source pod goes away with its role (KubeVirt deletes it). */
		status_endpoint_deleted(s, src);
		status_endpoint_deleted(s, ep);
		assert_true(status_tracked_endpoints(s) <= 1);
	}
	assert_int_equal(status_tracked_endpoints(s), 0);
	/* Only the last `keep` finished migrations stay, the source's included. */
	assert_true(status_migrations_count(s) <= 10);
	json_t *rep = status_report_json(s);
	assert_int_equal(json_array_size(json_object_get(rep, "endpoints")), 0);
	json_decref(rep);
	status_free(s);
}

/* Dropping an endpoint's state does not change what is reported of a
 * migration still in progress or kept. */
static void live_endpoints_are_still_reported(void **state)
{
	struct status *s = status_new(10);

	role(s, "u1", "vms/a", LM_ROLE_TARGET);
	transition(s, "u1", "vms/a", LM_BASE, LM_TARGET, LM_IN_TARGET);
	transition(s, "u1", "vms/a", LM_TARGET, LM_LIVE, LM_IN_GARP);
	status_garp_seen(s, 1000);
	status_routes_applied(s, 1700);
	role(s, "u2", "vms/b", LM_ROLE_SOURCE);
	json_t *rep = status_report_json(s);
	json_t *eps = json_object_get(rep, "endpoints");
	assert_int_equal(json_array_size(eps), 2);
	json_t *a = json_array_get(eps, 0), *b = json_array_get(eps, 1);
	assert_string_equal(json_string_value(json_object_get(a, "endpoint")), "vms/a");
	assert_string_equal(json_string_value(json_object_get(a, "state")), "Live");
	assert_int_equal(json_integer_value(json_object_get(a, "garp_to_route_us")), 700);
	assert_string_equal(json_string_value(json_object_get(b, "role")), "SOURCE");
	json_decref(rep);
	assert_int_equal(status_tracked_endpoints(s), 2);

	/* vms/a finishes: no longer listed, its migration kept in /migrations
	 * with every transition, and counted as completed. */
	role(s, "", "vms/a", LM_ROLE_NONE);
	transition(s, "u1", "vms/a", LM_LIVE, LM_TIMEWAIT, LM_IN_NOROLE);
	transition(s, "u1", "vms/a", LM_TIMEWAIT, LM_BASE, LM_IN_TIMERPOP);
	assert_int_equal(status_tracked_endpoints(s), 1);
	json_t *j = migrations(s);
	json_t *rec = json_object_get(json_object_get(j, "u1"), "vms/a");
	assert_string_equal(json_string_value(json_object_get(rec, "role")), "NONE");
	assert_string_equal(json_string_value(json_object_get(rec, "state")), "Base");
	assert_int_equal(json_array_size(json_object_get(rec, "transitions")), 4);
	json_decref(j);
	char *m = NULL;
	size_t mlen = 0;
	FILE *f = open_memstream(&m, &mlen);
	status_write_metrics(s, f);
	fclose(f);
	assert_non_null(strstr(m, "handoff_migrations_total{outcome=\"completed\"} 1\n"));
	free(m);

	/* vms/a migrates again: a fresh episode (no GARP figure of the last one). */
	role(s, "u3", "vms/a", LM_ROLE_TARGET);
	transition(s, "u3", "vms/a", LM_BASE, LM_TARGET, LM_IN_TARGET);
	rep = status_report_json(s);
	eps = json_object_get(rep, "endpoints");
	assert_int_equal(json_array_size(eps), 2);
	json_decref(rep);
	status_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(finished_history_is_bounded),
	    cmocka_unit_test(a_finished_migration_that_moves_again_is_kept),
	    cmocka_unit_test(per_endpoint_state_is_bounded_by_the_live_endpoints),
	    cmocka_unit_test(live_endpoints_are_still_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
