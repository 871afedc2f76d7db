/* test_fsm.c - the live-migration FSM table (calico-semantics B.3, B.4) and the
 * per-endpoint monitor (B.1, B.6; scenarios of Felix's TestLiveMigrationScenarios). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/fsm.h"

#define CONV 30000 /* the default convergence time, 30 s */

enum {
	STOP_CAP = LM_ACT_STOP_CAPTURE,
	STOP_TMR = LM_ACT_STOP_TIMER,
	START_CAP = LM_ACT_START_CAPTURE,
	START_TMR = LM_ACT_START_TIMER,
};

/* ---- the table ------------------------------------------------------------ */

static const struct {
	enum lm_state from;
	enum lm_input in;
	enum lm_state to;
	unsigned actions;
} table[] = {
    {LM_BASE, LM_IN_NOROLE, LM_BASE, 0},
    {LM_BASE, LM_IN_SOURCE, LM_BASE, 0},
    {LM_BASE, LM_IN_TARGET, LM_TARGET, START_CAP},
    {LM_BASE, LM_IN_GARP, LM_BASE, 0},
    {LM_BASE, LM_IN_TIMERPOP, LM_BASE, 0},
    {LM_BASE, LM_IN_DELETED, LM_BASE, 0},

    {LM_TARGET, LM_IN_NOROLE, LM_TIMEWAIT, STOP_CAP | START_TMR},
    {LM_TARGET, LM_IN_SOURCE, LM_BASE, STOP_CAP},
    {LM_TARGET, LM_IN_TARGET, LM_TARGET, 0},
    {LM_TARGET, LM_IN_GARP, LM_LIVE, STOP_CAP},
    {LM_TARGET, LM_IN_TIMERPOP, LM_TARGET, 0},
    {LM_TARGET, LM_IN_DELETED, LM_BASE, STOP_CAP},

    {LM_LIVE, LM_IN_NOROLE, LM_TIMEWAIT, START_TMR},
    {LM_LIVE, LM_IN_SOURCE, LM_BASE, 0},
    {LM_LIVE, LM_IN_TARGET, LM_LIVE, 0},
    {LM_LIVE, LM_IN_GARP, LM_LIVE, 0},
    {LM_LIVE, LM_IN_TIMERPOP, LM_LIVE, 0},
    {LM_LIVE, LM_IN_DELETED, LM_BASE, 0},

    {LM_TIMEWAIT, LM_IN_NOROLE, LM_TIMEWAIT, 0},
    {LM_TIMEWAIT, LM_IN_SOURCE, LM_BASE, STOP_TMR},
    {LM_TIMEWAIT, LM_IN_TARGET, LM_TIMEWAIT, 0},
    {LM_TIMEWAIT, LM_IN_GARP, LM_TIMEWAIT, 0},
    {LM_TIMEWAIT, LM_IN_TIMERPOP, LM_BASE, STOP_TMR},
    {LM_TIMEWAIT, LM_IN_DELETED, LM_BASE, STOP_TMR},
};

static const char *sn(int s)
{
	static char buf[4][24];
	static int i;
	return lm_state_name(s, buf[i++ & 3]);
}

static const char *in_name(int in)
{
	static char buf[24];
	return lm_input_name(in, buf);
}

/* All 24 (state, input) pairs; every mismatch is reported by its name, e.g.
 * "Target+NoRole->TimeWait". */
static void test_transition_table(void **state)
{
	bool seen[LM_NSTATES][LM_NINPUTS] = {{false}};
	int failures = 0;

	assert_int_equal(sizeof(table) / sizeof(table[0]), LM_NSTATES * LM_NINPUTS);
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct fsm_step st = fsm_step(table[i].from, table[i].in);
		seen[table[i].from][table[i].in] = true;
		if (st.to != table[i].to || st.actions != table[i].actions) {
			print_error("%s+%s->%s: got to=%s actions=%#x, want actions=%#x\n",
			            sn(table[i].from), in_name(table[i].in), sn(table[i].to),
			            sn(st.to), st.actions, table[i].actions);
			failures++;
		}
	}
	for (int s = 0; s < LM_NSTATES; s++)
		for (int in = 0; in < LM_NINPUTS; in++)
			if (!seen[s][in]) {
				print_error("pair %s+%s missing from the test table\n", sn(s),
				            in_name(in));
				failures++;
			}
	assert_int_equal(failures, 0);
}

static void test_names(void **state)
{
	char buf[24];

	assert_string_equal(lm_state_name(LM_BASE, buf), "Base");
	assert_string_equal(lm_state_name(LM_TARGET, buf), "Target");
	assert_string_equal(lm_state_name(LM_LIVE, buf), "Live");
	assert_string_equal(lm_state_name(LM_TIMEWAIT, buf), "TimeWait");
	assert_string_equal(lm_state_name(4, buf), "Unknown(4)");
	assert_string_equal(lm_state_name(-1, buf), "Unknown(-1)");
	assert_string_equal(lm_input_name(LM_IN_NOROLE, buf), "NoRole");
	assert_string_equal(lm_input_name(LM_IN_SOURCE, buf), "Source");
	assert_string_equal(lm_input_name(LM_IN_TARGET, buf), "Target");
	assert_string_equal(lm_input_name(LM_IN_GARP, buf), "GARPDetected");
	assert_string_equal(lm_input_name(LM_IN_TIMERPOP, buf), "TimerPop");
	assert_string_equal(lm_input_name(LM_IN_DELETED, buf), "Deleted");
	assert_string_equal(lm_input_name(6, buf), "Unknown(6)");
	assert_string_equal(lm_input_name(2147483647, buf), "Unknown(2147483647)");
}

/* The transition log line fields, in the seed-000 form. */
static void test_log_fields(void **state)
{
	struct lm_transition t = {
	    .endpoint_key = "vms/virt-launcher-a",
	    .uid = "8a1f-uid",
	    .from = LM_LIVE,
	    .to = LM_TIMEWAIT,
	    .input = LM_IN_NOROLE,
	};
	char buf[256];
	const char *want =
	    "from=Live id=vms/virt-launcher-a input=NoRole migrationUid=8a1f-uid to=TimeWait";

	assert_int_equal(lm_transition_fields(&t, buf, sizeof(buf)), strlen(want));
	assert_string_equal(buf, want);

	/* Truncated like snprintf: the full length is returned. */
	char small[11];
	assert_int_equal(lm_transition_fields(&t, small, sizeof(small)), strlen(want));
	assert_string_equal(small, "from=Live ");

	/* An empty uid is an explicit empty value; odd bytes are quoted and escaped. */
	t.uid = "";
	t.from = LM_TARGET;
	t.to = LM_BASE;
	t.input = LM_IN_GARP + 3; /* not an input */
	lm_transition_fields(&t, buf, sizeof(buf));
	assert_string_equal(buf, "from=Target id=vms/virt-launcher-a input=Unknown(6) "
	                         "migrationUid=\"\" to=Base");
	t.uid = "a b\"c\\d=e\n";
	lm_transition_fields(&t, buf, sizeof(buf));
	assert_string_equal(buf, "from=Target id=vms/virt-launcher-a input=Unknown(6) "
	                         "migrationUid=\"a b\\\"c\\\\d=e\\n\" to=Base");
}

/* ---- monitor helpers --------------------------------------------------------- */

struct want {
	const char *key;
	enum lm_state from;
	enum lm_input in;
	enum lm_state to;
	unsigned actions;
	const char *uid;
	uint64_t t;
};

/* Assert that `out` holds exactly `w` (in order), then clear it. */
static void check(struct lm_transitions *out, const struct want *w, size_t n, int line)
{
	if (out->n != n) {
		print_error("check at line %d\n", line);
		for (size_t i = 0; i < out->n; i++)
			print_error("  got %s %s+%s->%s uid=%s t=%llu\n", out->v[i].endpoint_key,
			            sn(out->v[i].from), in_name(out->v[i].input), sn(out->v[i].to),
			            out->v[i].uid, (unsigned long long)out->v[i].t_ms);
		fail_msg("want %zu transitions, got %zu", n, out->n);
	}
	for (size_t i = 0; i < n; i++) {
		const struct lm_transition *t = &out->v[i];
		if (strcmp(t->endpoint_key, w[i].key) || t->from != w[i].from ||
		    t->input != w[i].in || t->to != w[i].to || t->actions != w[i].actions ||
		    strcmp(t->uid, w[i].uid) || t->t_ms != w[i].t)
			fail_msg(
			    "line %d, transition %zu: got %s %s+%s->%s actions=%#x uid=%s t=%llu, "
			    "want %s %s+%s->%s actions=%#x uid=%s t=%llu",
			    i, t->endpoint_key, sn(t->from), in_name(t->input), sn(t->to),
			    t->actions, t->uid, (unsigned long long)t->t_ms, w[i].key,
			    sn(w[i].from), in_name(w[i].in), sn(w[i].to), w[i].actions, w[i].uid,
			    (unsigned long long)w[i].t);
	}
	lm_transitions_clear(out);
}

#define CHECK(out, ...)                                                                            \
	do {                                                                                       \
		const struct want w_[] = {__VA_ARGS__};                                            \
		check((out), w_, sizeof(w_) / sizeof(w_[0]), __LINE__);                            \
	} while (0)
#define CHECK_NONE(out) check((out), NULL, 0, __LINE__)

static void assert_no_deadline(const struct lm_monitor *m)
{
	uint64_t d = 0;
	if (lm_monitor_next_deadline(m, &d))
		fail_msg("unexpected pending timer at %llu", (unsigned long long)d);
}

static void assert_deadline(const struct lm_monitor *m, uint64_t want)
{
	uint64_t d = 0;
	assert_true(lm_monitor_next_deadline(m, &d));
	assert_int_equal(d, want);
}

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

#define EP  "vms/virt-launcher-a"
#define EP2 "vms/virt-launcher-b"

/* ---- scenarios (E.3 TestLiveMigrationScenarios) ---------------------------------- */

/* The migration finishes (role gone) without a GARP: elevated routes with the
 * timer at once, then normal. */
static void test_missed_garp(void **state)
{
	struct fixture *f = *state;

	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "uid-1", 1000, &f->out);
	CHECK(&f->out, {EP, LM_BASE, LM_IN_TARGET, LM_TARGET, START_CAP, "uid-1", 1000});
	lm_monitor_role(f->m, EP, LM_ROLE_NONE, "", 5000, &f->out);
	CHECK(&f->out,
	      {EP, LM_TARGET, LM_IN_NOROLE, LM_TIMEWAIT, STOP_CAP | START_TMR, "uid-1", 5000});
	assert_int_equal(lm_monitor_state(f->m, EP), LM_TIMEWAIT);
	assert_deadline(f->m, 5000 + CONV);
	lm_monitor_advance(f->m, 5000 + CONV - 1, &f->out);
	CHECK_NONE(&f->out);
	lm_monitor_advance(f->m, 5000 + CONV, &f->out);
	CHECK(&f->out, {EP, LM_TIMEWAIT, LM_IN_TIMERPOP, LM_BASE, STOP_TMR, "uid-1", 5000 + CONV});
	assert_int_equal(lm_monitor_state(f->m, EP), LM_BASE);
	assert_no_deadline(f->m);
}

static void test_happy_path(void **state)
{
	struct fixture *f = *state;

	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "uid-1", 0, &f->out);
	lm_monitor_garp(f->m, EP, 700, &f->out);
	lm_monitor_role(f->m, EP, LM_ROLE_NONE, "", 2000, &f->out);
	CHECK(&f->out, {EP, LM_BASE, LM_IN_TARGET, LM_TARGET, START_CAP, "uid-1", 0},
	      {EP, LM_TARGET, LM_IN_GARP, LM_LIVE, STOP_CAP, "uid-1", 700},
	      {EP, LM_LIVE, LM_IN_NOROLE, LM_TIMEWAIT, START_TMR, "uid-1", 2000});
	/* GARPs after the first are ignored, in Live and in TimeWait. */
	lm_monitor_garp(f->m, EP, 2100, &f->out);
	CHECK_NONE(&f->out);
	lm_monitor_advance(f->m, 2000 + CONV, &f->out);
	CHECK(&f->out, {EP, LM_TIMEWAIT, LM_IN_TIMERPOP, LM_BASE, STOP_TMR, "uid-1", 2000 + CONV});
}

/* F.8: LM1 (A->B) and LM2 (B->A) coexist. B keeps TARGET through LM1 and its
 * elevated route; deleting LM1 makes B the SOURCE: Live -> Base at once, with
 * no TimeWait. A (same node here, another key) is suppressed then follows the
 * normal path. */
static void test_remigration(void **state)
{
	struct fixture *f = *state;
	const char *a = EP2, *b = EP;

	/* LM1: a -> b. a is the source, b the target. */
	lm_monitor_role(f->m, a, LM_ROLE_SOURCE, "uid-1", 0, &f->out);
	lm_monitor_role(f->m, b, LM_ROLE_TARGET, "uid-1", 0, &f->out);
	lm_monitor_garp(f->m, b, 500, &f->out);
	CHECK(&f->out, {b, LM_BASE, LM_IN_TARGET, LM_TARGET, START_CAP, "uid-1", 0},
	      {b, LM_TARGET, LM_IN_GARP, LM_LIVE, STOP_CAP, "uid-1", 500});
	/* LM2: b -> a. Target wins for b, so b's role (and state) does not move. */
	lm_monitor_role(f->m, b, LM_ROLE_TARGET, "uid-1", 1000, &f->out);
	lm_monitor_role(f->m, a, LM_ROLE_TARGET, "uid-2", 1000, &f->out);
	CHECK(&f->out, {a, LM_BASE, LM_IN_TARGET, LM_TARGET, START_CAP, "uid-2", 1000});
	assert_int_equal(lm_monitor_state(f->m, b), LM_LIVE);
	/* LM1 deleted: b becomes SOURCE of LM2. */
	lm_monitor_role(f->m, b, LM_ROLE_SOURCE, "uid-2", 2000, &f->out);
	CHECK(&f->out, {b, LM_LIVE, LM_IN_SOURCE, LM_BASE, 0, "uid-2", 2000});
	assert_no_deadline(f->m);
	/* a resumes and finishes normally. */
	lm_monitor_garp(f->m, a, 2500, &f->out);
	lm_monitor_role(f->m, a, LM_ROLE_NONE, "", 3000, &f->out);
	lm_monitor_role(f->m, b, LM_ROLE_NONE, "", 3000, &f->out);
	CHECK(&f->out, {a, LM_TARGET, LM_IN_GARP, LM_LIVE, STOP_CAP, "uid-2", 2500},
	      {a, LM_LIVE, LM_IN_NOROLE, LM_TIMEWAIT, START_TMR, "uid-2", 3000});
	lm_monitor_advance(f->m, 3000 + CONV, &f->out);
	CHECK(&f->out, {a, LM_TIMEWAIT, LM_IN_TIMERPOP, LM_BASE, STOP_TMR, "uid-2", 3000 + CONV});
}

/* Re-migration while in TimeWait: Source cuts the convergence time short and
 * cancels the timer. */
static void test_remigration_during_timewait(void **state)
{
	struct fixture *f = *state;

	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "uid-1", 0, &f->out);
	lm_monitor_garp(f->m, EP, 100, &f->out);
	lm_monitor_role(f->m, EP, LM_ROLE_NONE, "", 1000, &f->out);
	lm_transitions_clear(&f->out);
	assert_deadline(f->m, 1000 + CONV);
	lm_monitor_role(f->m, EP, LM_ROLE_SOURCE, "uid-2", 4000, &f->out);
	CHECK(&f->out, {EP, LM_TIMEWAIT, LM_IN_SOURCE, LM_BASE, STOP_TMR, "uid-2", 4000});
	assert_no_deadline(f->m);
	lm_monitor_advance(f->m, 1000 + CONV, &f->out);
	CHECK_NONE(&f->out);
}

static void test_delete_during_migration(void **state)
{
	struct fixture *f = *state;

	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "uid-1", 0, &f->out);
	lm_monitor_remove(f->m, EP, 300, &f->out);
	CHECK(&f->out, {EP, LM_BASE, LM_IN_TARGET, LM_TARGET, START_CAP, "uid-1", 0},
	      {EP, LM_TARGET, LM_IN_DELETED, LM_BASE, STOP_CAP, "uid-1", 300});
	assert_int_equal(lm_monitor_state(f->m, EP), LM_BASE);
	/* Role and uid were forgotten: the same role again is a change, and the
	 * old uid is not reused. */
	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "", 400, &f->out);
	CHECK(&f->out, {EP, LM_BASE, LM_IN_TARGET, LM_TARGET, START_CAP, "", 400});

	/* Removal in TimeWait stops the timer. */
	lm_monitor_role(f->m, EP, LM_ROLE_NONE, "", 500, &f->out);
	lm_transitions_clear(&f->out);
	assert_deadline(f->m, 500 + CONV);
	lm_monitor_remove(f->m, EP, 600, &f->out);
	CHECK(&f->out, {EP, LM_TIMEWAIT, LM_IN_DELETED, LM_BASE, STOP_TMR, "", 600});
	assert_no_deadline(f->m);
	lm_monitor_advance(f->m, 500 + CONV, &f->out);
	CHECK_NONE(&f->out);

	/* Removal in Live, and of an endpoint never seen: nothing else. */
	lm_monitor_role(f->m, EP2, LM_ROLE_TARGET, "uid-9", 700, &f->out);
	lm_monitor_garp(f->m, EP2, 800, &f->out);
	lm_transitions_clear(&f->out);
	lm_monitor_remove(f->m, EP2, 900, &f->out);
	CHECK(&f->out, {EP2, LM_LIVE, LM_IN_DELETED, LM_BASE, 0, "uid-9", 900});
	lm_monitor_remove(f->m, "vms/never-seen", 1000, &f->out);
	CHECK_NONE(&f->out);
}

/* Two endpoints migrate at once; neither's inputs or timers touch the other. */
static void test_two_independent_endpoints(void **state)
{
	struct fixture *f = *state;

	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "uid-a", 0, &f->out);
	lm_monitor_role(f->m, EP2, LM_ROLE_TARGET, "uid-b", 10, &f->out);
	lm_monitor_garp(f->m, EP2, 20, &f->out);
	CHECK(&f->out, {EP, LM_BASE, LM_IN_TARGET, LM_TARGET, START_CAP, "uid-a", 0},
	      {EP2, LM_BASE, LM_IN_TARGET, LM_TARGET, START_CAP, "uid-b", 10},
	      {EP2, LM_TARGET, LM_IN_GARP, LM_LIVE, STOP_CAP, "uid-b", 20});
	assert_int_equal(lm_monitor_state(f->m, EP), LM_TARGET);
	assert_int_equal(lm_monitor_state(f->m, EP2), LM_LIVE);

	lm_monitor_role(f->m, EP2, LM_ROLE_NONE, "", 1000, &f->out);
	lm_monitor_role(f->m, EP, LM_ROLE_NONE, "", 2000, &f->out);
	CHECK(&f->out, {EP2, LM_LIVE, LM_IN_NOROLE, LM_TIMEWAIT, START_TMR, "uid-b", 1000},
	      {EP, LM_TARGET, LM_IN_NOROLE, LM_TIMEWAIT, STOP_CAP | START_TMR, "uid-a", 2000});
	assert_deadline(f->m, 1000 + CONV);
	lm_monitor_advance(f->m, 1500 + CONV, &f->out);
	CHECK(&f->out, {EP2, LM_TIMEWAIT, LM_IN_TIMERPOP, LM_BASE, STOP_TMR, "uid-b", 1000 + CONV});
	assert_int_equal(lm_monitor_state(f->m, EP), LM_TIMEWAIT);
	assert_deadline(f->m, 2000 + CONV);
	lm_monitor_advance(f->m, 2000 + CONV, &f->out);
	CHECK(&f->out, {EP, LM_TIMEWAIT, LM_IN_TIMERPOP, LM_BASE, STOP_TMR, "uid-a", 2000 + CONV});
}

/* Only a change of role is an input (B.1, F.1). */
static void test_idempotent_role(void **state)
{
	struct fixture *f = *state;

	/* New endpoints with NONE or SOURCE: nothing visible. */
	lm_monitor_role(f->m, EP, LM_ROLE_NONE, "", 0, &f->out);
	lm_monitor_role(f->m, EP2, LM_ROLE_SOURCE, "uid-1", 0, &f->out);
	lm_monitor_role(f->m, EP2, LM_ROLE_SOURCE, "uid-1", 5, &f->out);
	CHECK_NONE(&f->out);
	assert_int_equal(lm_monitor_state(f->m, EP2), LM_BASE);

	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "uid-1", 10, &f->out);
	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "uid-1", 20, &f->out);
	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "uid-2", 30, &f->out);
	CHECK(&f->out, {EP, LM_BASE, LM_IN_TARGET, LM_TARGET, START_CAP, "uid-1", 10});
	assert_int_equal(lm_monitor_state(f->m, EP), LM_TARGET);

	/* NONE then NONE again in TimeWait: one transition, one timer. */
	lm_monitor_role(f->m, EP, LM_ROLE_NONE, "", 40, &f->out);
	lm_monitor_role(f->m, EP, LM_ROLE_NONE, "", 50, &f->out);
	CHECK(&f->out,
	      {EP, LM_TARGET, LM_IN_NOROLE, LM_TIMEWAIT, STOP_CAP | START_TMR, "uid-2", 40});
	assert_deadline(f->m, 40 + CONV);
}

/* The whole life of a target endpoint with the exact time of every step. */
static void test_full_lifecycle(void **state)
{
	struct fixture *f = *state;
	uint64_t d;

	lm_monitor_set_convergence(f->m, 8000);
	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "8a1f-uid", 12000, &f->out);
	assert_no_deadline(f->m);
	lm_monitor_garp(f->m, EP, 14250, &f->out);
	lm_monitor_role(f->m, EP, LM_ROLE_NONE, "", 17100, &f->out);
	assert_true(lm_monitor_next_deadline(f->m, &d));
	assert_int_equal(d, 25100);
	lm_monitor_advance(f->m, 20000, &f->out);
	/* A late tick still reports the pop at its deadline. */
	lm_monitor_advance(f->m, 26000, &f->out);
	CHECK(&f->out, {EP, LM_BASE, LM_IN_TARGET, LM_TARGET, START_CAP, "8a1f-uid", 12000},
	      {EP, LM_TARGET, LM_IN_GARP, LM_LIVE, STOP_CAP, "8a1f-uid", 14250},
	      {EP, LM_LIVE, LM_IN_NOROLE, LM_TIMEWAIT, START_TMR, "8a1f-uid", 17100},
	      {EP, LM_TIMEWAIT, LM_IN_TIMERPOP, LM_BASE, STOP_TMR, "8a1f-uid", 25100});
	assert_int_equal(lm_monitor_state(f->m, EP), LM_BASE);
	assert_no_deadline(f->m);
	lm_monitor_advance(f->m, 100000, &f->out);
	CHECK_NONE(&f->out);
}

/* ---- timers (B.6) ----------------------------------------------------------------- */

/* A timer whose TimeWait ended never pops into a later TimeWait episode:
 * the new episode has a fresh deadline. */
static void test_stale_pop_ignored(void **state)
{
	struct fixture *f = *state;

	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "u", 0, &f->out);
	lm_monitor_role(f->m, EP, LM_ROLE_NONE, "", 1000, &f->out);    /* TimeWait until 31000 */
	lm_monitor_role(f->m, EP, LM_ROLE_SOURCE, "u", 2000, &f->out); /* Base, timer stopped */
	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "u", 3000, &f->out);
	lm_monitor_role(f->m, EP, LM_ROLE_NONE, "", 4000, &f->out); /* TimeWait until 34000 */
	lm_transitions_clear(&f->out);
	assert_deadline(f->m, 4000 + CONV);
	lm_monitor_advance(f->m, 1000 + CONV, &f->out);
	CHECK_NONE(&f->out);
	assert_int_equal(lm_monitor_state(f->m, EP), LM_TIMEWAIT);
	lm_monitor_advance(f->m, 4000 + CONV, &f->out);
	CHECK(&f->out, {EP, LM_TIMEWAIT, LM_IN_TIMERPOP, LM_BASE, STOP_TMR, "u", 4000 + CONV});
}

/* NoRole while in TimeWait (role NONE -> TARGET -> NONE) keeps the deadline. */
static void test_norole_in_timewait_keeps_deadline(void **state)
{
	struct fixture *f = *state;

	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "u", 0, &f->out);
	lm_monitor_garp(f->m, EP, 10, &f->out);
	lm_monitor_role(f->m, EP, LM_ROLE_NONE, "", 1000, &f->out);
	lm_transitions_clear(&f->out);
	/* F.1: TimeWait + Target does nothing. */
	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "u2", 5000, &f->out);
	lm_monitor_role(f->m, EP, LM_ROLE_NONE, "", 9000, &f->out);
	CHECK_NONE(&f->out);
	assert_deadline(f->m, 1000 + CONV);
	lm_monitor_advance(f->m, 1000 + CONV, &f->out);
	CHECK(&f->out, {EP, LM_TIMEWAIT, LM_IN_TIMERPOP, LM_BASE, STOP_TMR, "u2", 1000 + CONV});
}

/* F.1 quirk: a Live endpoint that becomes TARGET again stays Live; after the
 * pop it is in Base with role TARGET, and the unchanged role feeds nothing. */
static void test_target_again_while_elevated(void **state)
{
	struct fixture *f = *state;

	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "u1", 0, &f->out);
	lm_monitor_garp(f->m, EP, 10, &f->out);
	lm_monitor_role(f->m, EP, LM_ROLE_NONE, "", 20, &f->out);
	lm_transitions_clear(&f->out);
	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "u2", 30, &f->out);
	CHECK_NONE(&f->out);
	assert_int_equal(lm_monitor_state(f->m, EP), LM_TIMEWAIT);
	lm_monitor_advance(f->m, 20 + CONV, &f->out);
	CHECK(&f->out, {EP, LM_TIMEWAIT, LM_IN_TIMERPOP, LM_BASE, STOP_TMR, "u2", 20 + CONV});
	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "u2", 40 + CONV, &f->out);
	CHECK_NONE(&f->out);
	assert_int_equal(lm_monitor_state(f->m, EP), LM_BASE);
	/* A real change of role still drives it. */
	lm_monitor_role(f->m, EP, LM_ROLE_NONE, "", 50 + CONV, &f->out);
	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "u3", 60 + CONV, &f->out);
	CHECK(&f->out, {EP, LM_BASE, LM_IN_TARGET, LM_TARGET, START_CAP, "u3", 60 + CONV});
}

/* A changed convergence time applies to timers started afterwards only. */
static void test_set_convergence(void **state)
{
	struct fixture *f = *state;

	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "u", 0, &f->out);
	lm_monitor_role(f->m, EP, LM_ROLE_NONE, "", 100, &f->out);
	lm_monitor_set_convergence(f->m, 5000);
	lm_monitor_role(f->m, EP2, LM_ROLE_TARGET, "v", 200, &f->out);
	lm_monitor_role(f->m, EP2, LM_ROLE_NONE, "", 300, &f->out);
	lm_transitions_clear(&f->out);
	assert_deadline(f->m, 5300);
	lm_monitor_advance(f->m, 100 + CONV, &f->out);
	CHECK(&f->out, {EP2, LM_TIMEWAIT, LM_IN_TIMERPOP, LM_BASE, STOP_TMR, "v", 5300},
	      {EP, LM_TIMEWAIT, LM_IN_TIMERPOP, LM_BASE, STOP_TMR, "u", 100 + CONV});
}

/* Pops fire in deadline order, ties in key order, whatever the insertion order. */
static void test_pop_order(void **state)
{
	struct fixture *f = *state;
	const char *keys[] = {"ns/c", "ns/a", "ns/d", "ns/b"};
	const uint64_t at[] = {500, 500, 100, 500};

	for (int i = 0; i < 4; i++) {
		lm_monitor_role(f->m, keys[i], LM_ROLE_TARGET, "u", 0, &f->out);
		lm_monitor_role(f->m, keys[i], LM_ROLE_NONE, "", at[i], &f->out);
	}
	lm_transitions_clear(&f->out);
	assert_deadline(f->m, 100 + CONV);
	lm_monitor_advance(f->m, 500 + CONV, &f->out);
	CHECK(&f->out, {"ns/d", LM_TIMEWAIT, LM_IN_TIMERPOP, LM_BASE, STOP_TMR, "u", 100 + CONV},
	      {"ns/a", LM_TIMEWAIT, LM_IN_TIMERPOP, LM_BASE, STOP_TMR, "u", 500 + CONV},
	      {"ns/b", LM_TIMEWAIT, LM_IN_TIMERPOP, LM_BASE, STOP_TMR, "u", 500 + CONV},
	      {"ns/c", LM_TIMEWAIT, LM_IN_TIMERPOP, LM_BASE, STOP_TMR, "u", 500 + CONV});
	assert_no_deadline(f->m);
}

/* ---- uid and GARP bookkeeping --------------------------------------------------------- */

static void test_uid_persists(void **state)
{
	struct fixture *f = *state;

	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "uid-1", 0, &f->out);
	lm_monitor_role(f->m, EP, LM_ROLE_NONE, "", 100, &f->out);
	lm_monitor_advance(f->m, 100 + CONV, &f->out);
	CHECK(&f->out, {EP, LM_BASE, LM_IN_TARGET, LM_TARGET, START_CAP, "uid-1", 0},
	      {EP, LM_TARGET, LM_IN_NOROLE, LM_TIMEWAIT, STOP_CAP | START_TMR, "uid-1", 100},
	      {EP, LM_TIMEWAIT, LM_IN_TIMERPOP, LM_BASE, STOP_TMR, "uid-1", 100 + CONV});
	/* Back in Base the uid is still known while the endpoint exists. */
	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, NULL, 50000, &f->out);
	CHECK(&f->out, {EP, LM_BASE, LM_IN_TARGET, LM_TARGET, START_CAP, "uid-1", 50000});
	/* A new non-empty uid replaces it, even without a role change. */
	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "uid-2", 50100, &f->out);
	lm_monitor_garp(f->m, EP, 50200, &f->out);
	CHECK(&f->out, {EP, LM_TARGET, LM_IN_GARP, LM_LIVE, STOP_CAP, "uid-2", 50200});
	lm_monitor_remove(f->m, EP, 50300, &f->out);
	CHECK(&f->out, {EP, LM_LIVE, LM_IN_DELETED, LM_BASE, 0, "uid-2", 50300});
	lm_monitor_role(f->m, EP, LM_ROLE_TARGET, "", 50400, &f->out);
	CHECK(&f->out, {EP, LM_BASE, LM_IN_TARGET, LM_TARGET, START_CAP, "", 50400});
}

static void test_garp_outside_target(void **state)
{
	struct fixture *f = *state;

	lm_monitor_garp(f->m, "vms/unknown", 0, &f->out); /* no FSM: Base */
	lm_monitor_role(f->m, EP, LM_ROLE_SOURCE, "u", 0, &f->out);
	lm_monitor_garp(f->m, EP, 10, &f->out); /* the source: Base */
	CHECK_NONE(&f->out);
	assert_int_equal(lm_monitor_state(f->m, "vms/unknown"), LM_BASE);
	assert_int_equal(lm_monitor_state(f->m, EP), LM_BASE);
}

/* 10,000 endpoints through a whole migration: every one reaches Base exactly
 * once, at its own deadline, in deadline-then-key order. */
static void test_many_endpoints(void **state)
{
	struct fixture *f = *state;
	enum { N = 10000 };
	char key[32];

	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "ns/vm-%05d", i);
		lm_monitor_role(f->m, key, LM_ROLE_TARGET, "u", 0, &f->out);
		if (i % 2)
			lm_monitor_garp(f->m, key, 1, &f->out);
	}
	assert_int_equal(f->out.n, N + N / 2);
	lm_transitions_clear(&f->out);
	/* Finish in reverse key order, 7 endpoints per millisecond. */
	for (int i = N - 1; i >= 0; i--) {
		snprintf(key, sizeof(key), "ns/vm-%05d", i);
		lm_monitor_role(f->m, key, LM_ROLE_NONE, "", 10 + (uint64_t)(N - 1 - i) / 7,
		                &f->out);
	}
	assert_int_equal(f->out.n, N);
	lm_transitions_clear(&f->out);
	/* Remove every third one while waiting. */
	for (int i = 0; i < N; i += 3) {
		snprintf(key, sizeof(key), "ns/vm-%05d", i);
		lm_monitor_remove(f->m, key, 20, &f->out);
	}
	size_t removed = f->out.n;
	assert_int_equal(removed, (N + 2) / 3);
	lm_transitions_clear(&f->out);
	/* Advance in coarse ticks and check the global order. */
	size_t pops = 0;
	uint64_t last_t = 0;
	char last_key[32] = "";
	for (uint64_t now = 0; now <= 10 + N / 7 + CONV + 1000; now += 97) {
		lm_monitor_advance(f->m, now, &f->out);
		for (size_t i = 0; i < f->out.n; i++) {
			const struct lm_transition *t = &f->out.v[i];
			assert_int_equal(t->input, LM_IN_TIMERPOP);
			assert_true(t->t_ms <= now);
			assert_true(t->t_ms > last_t ||
			            (t->t_ms == last_t && strcmp(t->endpoint_key, last_key) > 0));
			int idx = atoi(t->endpoint_key + strlen("ns/vm-"));
			assert_int_equal(t->t_ms, 10 + (uint64_t)(N - 1 - idx) / 7 + CONV);
			assert_true(idx % 3 != 0);
			last_t = t->t_ms;
			snprintf(last_key, sizeof(last_key), "%s", t->endpoint_key);
		}
		pops += f->out.n;
		lm_transitions_clear(&f->out);
	}
	assert_int_equal(pops, N - removed);
	assert_no_deadline(f->m);
	for (int i = 0; i < N; i += 101) {
		snprintf(key, sizeof(key), "ns/vm-%05d", i);
		assert_int_equal(lm_monitor_state(f->m, key), LM_BASE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_transition_table),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_log_fields),
	    cmocka_unit_test_setup_teardown(test_missed_garp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_happy_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_remigration, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_remigration_during_timewait, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_during_migration, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_independent_endpoints, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_idempotent_role, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_lifecycle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stale_pop_ignored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_norole_in_timewait_keeps_deadline, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_target_again_while_elevated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set_convergence, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pop_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_uid_persists, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_garp_outside_target, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_endpoints, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
