/* test_status.c - /migrations keeps what is in progress and a bounded number
 * of finished migrations, the oldest dropped first. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(finished_history_is_bounded),
	    cmocka_unit_test(a_finished_migration_that_moves_again_is_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
