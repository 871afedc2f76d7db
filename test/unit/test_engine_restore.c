/* test_engine_restore.c - a restarted engine continues its saved migrations:
 * the restored state decides the routes from the first plan, whatever order
 * the objects arrive in; the settle feeds the role the objects give now. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <jansson.h>

#include "core/engine.h"

#define EP "vms/vm1-target"

static const char *pod_json =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"namespace\":\"vms\","
    "\"name\":\"vm1-target\",\"labels\":{\"vm\":\"vm1\"}},\"spec\":{\"nodeName\":\"n1\"},"
    "\"status\":{\"podIPs\":[{\"ip\":\"10.65.0.10\"}]}}";
static const char *lm_json =
    "{\"apiVersion\":\"projectcalico.org/v3\",\"kind\":\"LiveMigration\",\"metadata\":"
    "{\"namespace\":\"vms\",\"name\":\"mig\",\"uid\":\"uid-7\"},\"spec\":{\"source\":"
    "{\"workload\":{\"orchestratorID\":\"k8s\",\"workloadID\":\"vms/vm1-source\"}},"
    "\"target\":{\"selector\":\"vm == 'vm1'\"}}}";

static void apply(struct engine *e, const char *text, uint64_t now, struct decisions *d)
{
	struct herr err = {{0}};
	json_t *o = json_loads(text, 0, NULL);
	assert_non_null(o);
	assert_int_equal(engine_apply(e, o, now, d, &err), 0);
	json_decref(o);
}

static uint32_t metric_of(struct engine *e, const char *dst)
{
	struct plan p = {0};
	assert_int_equal(engine_plan(e, &p), 0);
	const struct plan_route *r = plan_find_route(&p, dst);
	uint32_t m = r ? r->metric : 0;
	plan_free(&p);
	return m;
}

static size_t count_transitions(const struct decisions *d)
{
	size_t n = 0;
	for (size_t i = 0; i < d->n; i++)
		n += d->v[i].kind == DEC_TRANSITION;
	return n;
}

/* Live, restored; the Pod arrives before its LiveMigration (role NONE for a
 * moment): the route is elevated throughout and no transition happens. */
static void test_live_any_order(void **state)
{
	(void)state;
	for (int order = 0; order < 2; order++) {
		struct engine *e = engine_new("n1");
		struct decisions d = {0};
		struct herr err = {{0}};
		struct lm_record r = {EP, "uid-7", LM_LIVE, LM_ROLE_TARGET, 0};

		assert_int_equal(engine_restore(e, &r, 0, &d, &err), -EBUSY);
		engine_restore_begin(e);
		assert_int_equal(engine_restore(e, &r, 0, &d, &err), 0);
		apply(e, order ? lm_json : pod_json, 1, &d);
		if (!order)
			assert_int_equal(metric_of(e, "10.65.0.10/32"), 512);
		apply(e, order ? pod_json : lm_json, 2, &d);
		assert_int_equal(metric_of(e, "10.65.0.10/32"), 512);
		engine_restore_settle(e, 3, &d);
		assert_int_equal(engine_state(e, EP), LM_LIVE);
		assert_int_equal(metric_of(e, "10.65.0.10/32"), 512);
		assert_int_equal(count_transitions(&d), 0);
		/* Restores are over. */
		assert_int_equal(engine_restore(e, &r, 4, &d, &err), -EBUSY);
		decisions_free(&d);
		engine_free(e);
	}
}

/* The migration ended while the watcher was away: Live -> TimeWait at the
 * settle, with the saved uid, and the full convergence time from then. */
static void test_live_lm_gone(void **state)
{
	(void)state;
	struct engine *e = engine_new("n1");
	struct decisions d = {0};
	struct herr err = {{0}};
	struct lm_record r = {EP, "uid-7", LM_LIVE, LM_ROLE_TARGET, 0};
	uint64_t due;

	engine_restore_begin(e);
	assert_int_equal(engine_restore(e, &r, 0, &d, &err), 0);
	apply(e, pod_json, 1, &d);
	engine_restore_settle(e, 10, &d);
	assert_int_equal(count_transitions(&d), 1);
	for (size_t i = 0; i < d.n; i++)
		if (d.v[i].kind == DEC_TRANSITION) {
			assert_int_equal(d.v[i].from, LM_LIVE);
			assert_int_equal(d.v[i].to, LM_TIMEWAIT);
			assert_string_equal(d.v[i].uid, "uid-7");
		}
	assert_true(engine_next_deadline(e, &due));
	assert_int_equal(due, 10 + 30000);
	assert_int_equal(metric_of(e, "10.65.0.10/32"), 512);
	decisions_free(&d);
	engine_free(e);
}

/* TimeWait with 4 s left: elevated until then, normal after, not before. */
static void test_timewait_remaining(void **state)
{
	(void)state;
	struct engine *e = engine_new("n1");
	struct decisions d = {0};
	struct herr err = {{0}};
	struct lm_record r = {EP, "uid-7", LM_TIMEWAIT, LM_ROLE_NONE, 4000};

	engine_restore_begin(e);
	assert_int_equal(engine_restore(e, &r, 0, &d, &err), 0);
	apply(e, pod_json, 1, &d);
	engine_restore_settle(e, 2, &d);
	engine_advance(e, 3999, &d);
	assert_int_equal(metric_of(e, "10.65.0.10/32"), 512);
	engine_advance(e, 4000, &d);
	assert_int_equal(metric_of(e, "10.65.0.10/32"), 1024);
	assert_int_equal(engine_state(e, EP), LM_BASE);
	decisions_free(&d);
	engine_free(e);
}

/* Target: suppressed from the first plan; the endpoint gone at the settle is
 * Deleted; a restore for an endpoint already in a state is refused. */
static void test_target_and_gone(void **state)
{
	(void)state;
	struct engine *e = engine_new("n1");
	struct decisions d = {0};
	struct herr err = {{0}};
	struct lm_record t = {EP, "uid-7", LM_TARGET, LM_ROLE_TARGET, 0};
	struct lm_record gone = {"vms/gone", "uid-1", LM_LIVE, LM_ROLE_TARGET, 0};

	engine_restore_begin(e);
	apply(e, pod_json, 1, &d);
	assert_int_equal(metric_of(e, "10.65.0.10/32"), 1024);
	assert_int_equal(engine_restore(e, &t, 2, &d, &err), 0);
	assert_int_equal(metric_of(e, "10.65.0.10/32"), 0);
	assert_int_equal(engine_restore(e, &t, 2, &d, &err), -EEXIST);
	assert_non_null(strstr(err.msg, EP));
	assert_int_equal(engine_restore(e, &gone, 2, &d, &err), 0);
	apply(e, lm_json, 3, &d);
	engine_restore_settle(e, 4, &d);
	assert_int_equal(engine_state(e, EP), LM_TARGET);
	assert_int_equal(engine_state(e, "vms/gone"), LM_BASE);
	assert_int_equal(count_transitions(&d), 1); /* gone: Live -> Base (Deleted) */
	assert_int_equal(engine_garp(e, EP, NULL, 5, &d, &err), 0);
	assert_int_equal(engine_state(e, EP), LM_LIVE);
	assert_int_equal(metric_of(e, "10.65.0.10/32"), 512);
	decisions_free(&d);
	engine_free(e);
}

/* Nothing saved: a target seen during the restore window starts its Target
 * at the settle (no FSM moves on roles before it), then runs as usual. */
static void test_fresh_target_at_settle(void **state)
{
	(void)state;
	struct engine *e = engine_new("n1");
	struct decisions d = {0};

	engine_restore_begin(e);
	apply(e, lm_json, 1, &d);
	apply(e, pod_json, 2, &d);
	assert_int_equal(engine_state(e, EP), LM_BASE);
	assert_int_equal(count_transitions(&d), 0);
	engine_restore_settle(e, 3, &d);
	assert_int_equal(engine_state(e, EP), LM_TARGET);
	assert_int_equal(count_transitions(&d), 1);
	assert_int_equal(metric_of(e, "10.65.0.10/32"), 0);
	engine_restore_settle(e, 4, &d); /* a second settle changes nothing */
	assert_int_equal(count_transitions(&d), 1);
	decisions_free(&d);
	engine_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_live_any_order),         cmocka_unit_test(test_live_lm_gone),
	    cmocka_unit_test(test_timewait_remaining),     cmocka_unit_test(test_target_and_gone),
	    cmocka_unit_test(test_fresh_target_at_settle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
