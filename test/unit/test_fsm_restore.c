/* test_fsm_restore.c - a monitor restored from saved records continues where
 * the saved one stopped: no transition on restore, the role it had (so a role
 * repeated after the restart is no input, B.1), the TimeWait deadline as
 * saved (B.6, counted once), and bad records refused with nothing changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "core/fsm.h"

#define CONV 30000
#define EP   "vms/virt-launcher-a"
#define EP2  "vms/virt-launcher-b"

struct fixture {
	struct lm_monitor *m;
	struct lm_transitions out;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->m = lm_monitor_new(CONV);
	*state = f;
	return f->m ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	lm_monitor_free(f->m);
	lm_transitions_free(&f->out);
	free(f);
	return 0;
}

/* Saved from one monitor, restored into a fresh one: the same records. */
static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct lm_record recs[4];
	struct lm_monitor *m2 = lm_monitor_new(CONV);

	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "uid-1", 0, &f->out);
	lm_monitor_garp(f->m, EP, 100, &f->out);
	lm_monitor_role(f->m, EP2, LM_ROLE_TARGET, "uid-2", 0, &f->out);
	lm_monitor_garp(f->m, EP2, 100, &f->out);
	lm_monitor_role(f->m, EP2, LM_ROLE_NONE, "", 200, &f->out);
	lm_monitor_role(f->m, "vms/idle", LM_ROLE_SOURCE, "uid-3", 0, &f->out);
	lm_transitions_clear(&f->out);

	size_t n = lm_monitor_records(f->m, recs, 4);
	assert_int_equal(n, 2); /* the SOURCE endpoint is in Base: nothing to save */
	assert_int_equal(lm_monitor_records(f->m, recs, 1), 2);
	n = lm_monitor_records(f->m, recs, 4);
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(recs[i].key, EP)) {
			assert_int_equal(recs[i].state, LM_LIVE);
			assert_int_equal(recs[i].role, LM_ROLE_TARGET);
			assert_string_equal(recs[i].uid, "uid-1");
		} else {
			assert_string_equal(recs[i].key, EP2);
			assert_int_equal(recs[i].state, LM_TIMEWAIT);
			assert_int_equal(recs[i].role, LM_ROLE_NONE);
			assert_int_equal(recs[i].deadline_ms, 200 + CONV);
		}
		assert_int_equal(lm_monitor_restore(m2, &recs[i]), 0);
	}
	assert_int_equal(lm_monitor_state(m2, EP), LM_LIVE);
	assert_int_equal(lm_monitor_state(m2, EP2), LM_TIMEWAIT);
	uint64_t due;
	assert_true(lm_monitor_next_deadline(m2, &due));
	assert_int_equal(due, 200 + CONV);
	lm_monitor_free(m2);
}

/* Live with role TARGET: the same role again (the LiveMigration seen after the
 * restart) is no input; its end is Live -> TimeWait with the saved uid. */
static void test_live_continues(void **state)
{
	struct fixture *f = *state;
	struct lm_record r = {EP, "uid-1", LM_LIVE, LM_ROLE_TARGET, 0};

	assert_int_equal(lm_monitor_restore(f->m, &r), 0);
	assert_int_equal(f->out.n, 0);
	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "uid-1", 5000, &f->out);
	assert_int_equal(f->out.n, 0);
	assert_int_equal(lm_monitor_state(f->m, EP), LM_LIVE);
	lm_monitor_role(f->m, EP, LM_ROLE_NONE, "", 6000, &f->out);
	assert_int_equal(f->out.n, 1);
	assert_int_equal(f->out.v[0].from, LM_LIVE);
	assert_int_equal(f->out.v[0].to, LM_TIMEWAIT);
	assert_string_equal(f->out.v[0].uid, "uid-1");
	uint64_t due;
	assert_true(lm_monitor_next_deadline(f->m, &due));
	assert_int_equal(due, 6000 + CONV);
}

/* TimeWait pops at the saved deadline, not a fresh convergence time later. */
static void test_timewait_keeps_deadline(void **state)
{
	struct fixture *f = *state;
	struct lm_record r = {EP, "uid-1", LM_TIMEWAIT, LM_ROLE_NONE, 4200};

	assert_int_equal(lm_monitor_restore(f->m, &r), 0);
	lm_monitor_role(f->m, EP, LM_ROLE_NONE, "", 1000, &f->out); /* no change */
	lm_monitor_advance(f->m, 4199, &f->out);
	assert_int_equal(f->out.n, 0);
	lm_monitor_advance(f->m, 9999, &f->out);
	assert_int_equal(f->out.n, 1);
	assert_int_equal(f->out.v[0].input, LM_IN_TIMERPOP);
	assert_int_equal(f->out.v[0].t_ms, 4200);
	assert_int_equal(lm_monitor_state(f->m, EP), LM_BASE);
	assert_int_equal(lm_monitor_records(f->m, NULL, 0), 0);
}

/* Target restored: a GARP after the restart completes the move. */
static void test_target_then_garp(void **state)
{
	struct fixture *f = *state;
	struct lm_record r = {EP, "uid-1", LM_TARGET, LM_ROLE_TARGET, 0};

	assert_int_equal(lm_monitor_restore(f->m, &r), 0);
	lm_monitor_garp(f->m, EP, 10, &f->out);
	assert_int_equal(f->out.n, 1);
	assert_int_equal(f->out.v[0].from, LM_TARGET);
	assert_int_equal(f->out.v[0].to, LM_LIVE);
	assert_int_equal(f->out.v[0].actions, LM_ACT_STOP_CAPTURE);
}

static void test_bad_records(void **state)
{
	struct fixture *f = *state;
	struct lm_record base = {EP, "", LM_BASE, LM_ROLE_NONE, 0};
	struct lm_record state9 = {EP, "", (enum lm_state)9, LM_ROLE_NONE, 0};
	struct lm_record role9 = {EP, "", LM_LIVE, (enum lm_role)9, 0};
	struct lm_record nokey = {"", "", LM_LIVE, LM_ROLE_TARGET, 0};
	struct lm_record ok = {EP, NULL, LM_LIVE, LM_ROLE_TARGET, 0};
	struct lm_record again = {EP, "uid-9", LM_TIMEWAIT, LM_ROLE_NONE, 5};

	assert_int_equal(lm_monitor_restore(f->m, &base), -EINVAL);
	assert_int_equal(lm_monitor_restore(f->m, &state9), -EINVAL);
	assert_int_equal(lm_monitor_restore(f->m, &role9), -EINVAL);
	assert_int_equal(lm_monitor_restore(f->m, &nokey), -EINVAL);
	assert_int_equal(lm_monitor_records(f->m, NULL, 0), 0);
	assert_int_equal(lm_monitor_restore(f->m, &ok), 0);
	/* A second record for the same key does not replace the first. */
	assert_int_equal(lm_monitor_restore(f->m, &again), -EEXIST);
	assert_int_equal(lm_monitor_state(f->m, EP), LM_LIVE);
	uint64_t due;
	assert_false(lm_monitor_next_deadline(f->m, &due));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_live_continues, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timewait_keeps_deadline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_target_then_garp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_records, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
