/* fsm.h - the per-endpoint live-migration state machine (calico-semantics B).
 *
 * fsm_step() is the bare transition table. struct lm_monitor keeps one FSM per
 * endpoint, feeds it inputs derived from role changes, GARP reports, removals
 * and timer pops, and returns each transition with the actions to perform.
 * Time is given by the caller (milliseconds on any monotonic clock), so the
 * monitor is replayable with a virtual clock. */
#ifndef HANDOFF_CORE_FSM_H
#define HANDOFF_CORE_FSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/roles.h"

enum lm_state { LM_BASE = 0, LM_TARGET = 1, LM_LIVE = 2, LM_TIMEWAIT = 3 };
enum lm_input {
	LM_IN_NOROLE = 0,
	LM_IN_SOURCE = 1,
	LM_IN_TARGET = 2,
	LM_IN_GARP = 3, /* "GARPDetected" */
	LM_IN_TIMERPOP = 4,
	LM_IN_DELETED = 5,
};
#define LM_NSTATES 4
#define LM_NINPUTS 6

/* "Base", "Target", "Live", "TimeWait"; "NoRole", "Source", "Target",
 * "GARPDetected", "TimerPop", "Deleted"; "Unknown(<n>)" otherwise (buf needs 24 bytes). */
const char *lm_state_name(int s, char buf[24]);
const char *lm_input_name(int in, char buf[24]);

/* Actions run on a real transition, in this order: exit of old, entry of new. */
enum lm_action {
	LM_ACT_STOP_CAPTURE = 1 << 0,  /* leaving Target */
	LM_ACT_STOP_TIMER = 1 << 1,    /* leaving TimeWait */
	LM_ACT_START_CAPTURE = 1 << 2, /* entering Target */
	LM_ACT_START_TIMER = 1 << 3,   /* entering TimeWait */
};

struct fsm_step {
	enum lm_state to;
	unsigned actions; /* 0 when to == from (a self-loop does nothing) */
};

struct fsm_step fsm_step(enum lm_state from, enum lm_input in);

/* One real transition of one endpoint. */
struct lm_transition {
	char *endpoint_key; /* owned */
	char *uid;          /* owned; last non-empty uid seen for the endpoint */
	enum lm_state from, to;
	enum lm_input input;
	unsigned actions;
	uint64_t t_ms;
};

struct lm_transitions {
	struct lm_transition *v;
	size_t n, cap;
};

/* The key=value fields of the transition's log line (seed 000, B.9), e.g.
 *   from=Live id=vms/virt-launcher-a input=NoRole migrationUid=8a1f to=TimeWait
 * to go after msg="Live migration state transition". A value with a space,
 * '"', '=' or '\\' (or an empty one) is double-quoted with escapes. Returns
 * the length snprintf would have written. */
int lm_transition_fields(const struct lm_transition *t, char *buf, size_t len);

void lm_transitions_clear(struct lm_transitions *t);
void lm_transitions_free(struct lm_transitions *t);

struct lm_monitor;

struct lm_monitor *lm_monitor_new(uint64_t convergence_ms);
void lm_monitor_free(struct lm_monitor *m);
/* Applies to timers started from now on. */
void lm_monitor_set_convergence(struct lm_monitor *m, uint64_t convergence_ms);

/* A role update for an endpoint; only a change of role feeds the FSM (B.1). */
void lm_monitor_role(struct lm_monitor *m, const char *key, enum lm_role role, const char *uid,
                     uint64_t now_ms, struct lm_transitions *out);
/* A GARP/RARP was seen on the endpoint's interface. */
void lm_monitor_garp(struct lm_monitor *m, const char *key, uint64_t now_ms,
                     struct lm_transitions *out);
/* The endpoint went away: input Deleted, role and uid forgotten. */
void lm_monitor_remove(struct lm_monitor *m, const char *key, uint64_t now_ms,
                       struct lm_transitions *out);
/* Fire every convergence timer due at or before now_ms (TimerPop), in deadline
 * order (ties by key). Each pop is reported with t_ms = its own deadline, so a
 * virtual clock gives the same timeline whatever the tick; call this before
 * feeding other inputs at now_ms so transitions stay in time order. */
void lm_monitor_advance(struct lm_monitor *m, uint64_t now_ms, struct lm_transitions *out);
/* Earliest pending timer deadline; false when none is pending. */
bool lm_monitor_next_deadline(const struct lm_monitor *m, uint64_t *deadline_ms);

/* Current state (LM_BASE for an unknown endpoint). */
enum lm_state lm_monitor_state(const struct lm_monitor *m, const char *key);

/* ---- surviving a restart --------------------------------------------------
 *
 * Calico keeps these FSMs in memory only (B.1: created lazily, dropped in
 * Base), so a restarted Felix starts every endpoint in Base. handoff saves
 * what the kernel and the API server cannot say and gives it back here. */

/* One endpoint's FSM as saved: everything an input needs to continue where
 * it stopped. Pointers are borrowed. */
struct lm_record {
	const char *key;
	const char *uid;      /* "" or NULL when none was seen */
	enum lm_state state;  /* Target, Live or TimeWait (Base is never saved) */
	enum lm_role role;    /* the last role the FSM took (B.1 compares against it) */
	uint64_t deadline_ms; /* TimeWait: the convergence deadline on the caller's clock */
};

/* Put a saved FSM back, with its role and uid, without running any input or
 * action: no transition is reported (none happened), a TimeWait timer is
 * re-armed at its saved deadline (a deadline already past pops on the next
 * advance). The key must be unknown to the monitor (-EEXIST), the state one
 * of Target, Live, TimeWait and the role valid (-EINVAL); -ENOMEM leaves the
 * monitor unchanged. */
int lm_monitor_restore(struct lm_monitor *m, const struct lm_record *r);

/* Every endpoint not in Base, at most `cap` into out (borrowed pointers,
 * valid until the next input), in no particular order. Returns how many
 * there are (which may exceed cap). */
size_t lm_monitor_records(const struct lm_monitor *m, struct lm_record *out, size_t cap);

#endif
