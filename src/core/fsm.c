/* fsm.c - the per-endpoint live-migration state machine (calico-semantics B).
 *
 * fsm_step() is table B.3 plus the entry/exit actions of B.4. The monitor
 * keeps, per endpoint key, the last role seen and the last non-empty uid (B.1)
 * together with the FSM state, in one open-addressing hash table. Convergence
 * timers live in a binary min-heap ordered by (deadline, key); an entry knows
 * its heap slot, so leaving TimeWait removes the timer at once and a pop can
 * never reach a later TimeWait episode of the same endpoint (B.6).
 *
 * Restart: lm_monitor_restore() re-creates an entry in a saved state, with
 * its role (so B.1's "only a change of role is an input" holds across the
 * restart) and its TimeWait deadline (so B.6's convergence time is counted
 * once, not restarted); lm_monitor_records() lists what to save.
 *
 * Out of memory: every allocation an input needs is made before the state
 * changes. If one fails the input is dropped and the state is left as it
 * was, so the reported transitions always match the monitor's state. */
#include "core/fsm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names --------------------------------------------------------------- */

static const char *const state_names[LM_NSTATES] = {"Base", "Target", "Live", "TimeWait"};
static const char *const input_names[LM_NINPUTS] = {"NoRole",       "Source",   "Target",
                                                    "GARPDetected", "TimerPop", "Deleted"};

const char *lm_state_name(int s, char buf[24])
{
	if (s >= 0 && s < LM_NSTATES)
		return state_names[s];
	snprintf(buf, 24, "Unknown(%d)", s);
	return buf;
}

const char *lm_input_name(int in, char buf[24])
{
	if (in >= 0 && in < LM_NINPUTS)
		return input_names[in];
	snprintf(buf, 24, "Unknown(%d)", in);
	return buf;
}

/* ---- the table (B.3) ----------------------------------------------------- */

/* clang-format off */
static const enum lm_state next_state[LM_NSTATES][LM_NINPUTS] = {
	/*               NoRole       Source   Target       GARPDetected TimerPop   Deleted */
	[LM_BASE]     = {LM_BASE,     LM_BASE, LM_TARGET,   LM_BASE,     LM_BASE,   LM_BASE},
	/* Target + NoRole is the missed-GARP path: elevated, with the timer. */
	[LM_TARGET]   = {LM_TIMEWAIT, LM_BASE, LM_TARGET,   LM_LIVE,     LM_TARGET, LM_BASE},
	[LM_LIVE]     = {LM_TIMEWAIT, LM_BASE, LM_LIVE,     LM_LIVE,     LM_LIVE,   LM_BASE},
	/* Source cuts TimeWait short (re-migration); NoRole again is no restart. */
	[LM_TIMEWAIT] = {LM_TIMEWAIT, LM_BASE, LM_TIMEWAIT, LM_TIMEWAIT, LM_BASE,   LM_BASE},
};
/* clang-format on */

static unsigned exit_actions(enum lm_state s)
{
	switch (s) {
	case LM_TARGET:
		return LM_ACT_STOP_CAPTURE;
	case LM_TIMEWAIT:
		return LM_ACT_STOP_TIMER;
	default:
		return 0;
	}
}

static unsigned entry_actions(enum lm_state s)
{
	switch (s) {
	case LM_TARGET:
		return LM_ACT_START_CAPTURE;
	case LM_TIMEWAIT:
		return LM_ACT_START_TIMER;
	default:
		return 0;
	}
}

struct fsm_step fsm_step(enum lm_state from, enum lm_input in)
{
	struct fsm_step st = {from, 0};

	/* An out-of-range state or input is not in the table: treat as a self-loop. */
	if ((unsigned)from >= LM_NSTATES || (unsigned)in >= LM_NINPUTS)
		return st;
	st.to = next_state[from][in];
	if (st.to != from)
		st.actions = exit_actions(from) | entry_actions(st.to);
	return st;
}

/* ---- transition lists ---------------------------------------------------- */

void lm_transitions_clear(struct lm_transitions *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].endpoint_key);
		free(t->v[i].uid);
	}
	t->n = 0;
}

void lm_transitions_free(struct lm_transitions *t)
{
	lm_transitions_clear(t);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* A bounded writer that keeps counting past the end, like snprintf. */
struct sbuf {
	char *buf;
	size_t len, at;
};

static void sb_putc(struct sbuf *b, char c)
{
	if (b->at + 1 < b->len) {
		b->buf[b->at] = c;
		b->buf[b->at + 1] = '\0';
	}
	b->at++;
}

static void sb_puts(struct sbuf *b, const char *s)
{
	while (*s)
		sb_putc(b, *s++);
}

/* One logfmt value, quoted when it would otherwise be ambiguous to a parser. */
static void sb_value(struct sbuf *b, const char *v)
{
	bool quote = !*v;

	for (const char *c = v; *c; c++)
		if (*c == ' ' || *c == '"' || *c == '=' || *c == '\\' || (unsigned char)*c < 0x20)
			quote = true;
	if (!quote) {
		sb_puts(b, v);
		return;
	}
	sb_putc(b, '"');
	for (const char *c = v; *c; c++) {
		if (*c == '"' || *c == '\\') {
			sb_putc(b, '\\');
			sb_putc(b, *c);
		} else if (*c == '\n') {
			sb_puts(b, "\\n");
		} else if ((unsigned char)*c < 0x20) {
			sb_putc(b, '?'); /* other control bytes have no place in a log line */
		} else {
			sb_putc(b, *c);
		}
	}
	sb_putc(b, '"');
}

int lm_transition_fields(const struct lm_transition *t, char *buf, size_t len)
{
	char b1[24], b2[24], b3[24];
	struct sbuf b = {buf, len, 0};

	if (len)
		buf[0] = '\0';
	/* logrus order (keys sorted), with the seed's spelling "migrationUid". */
	sb_puts(&b, "from=");
	sb_value(&b, lm_state_name(t->from, b1));
	sb_puts(&b, " id=");
	sb_value(&b, t->endpoint_key ? t->endpoint_key : "");
	sb_puts(&b, " input=");
	sb_value(&b, lm_input_name(t->input, b3));
	sb_puts(&b, " migrationUid=");
	sb_value(&b, t->uid ? t->uid : "");
	sb_puts(&b, " to=");
	sb_value(&b, lm_state_name(t->to, b2));
	return (int)b.at;
}

/* Make room for one more transition. */
static int transitions_reserve(struct lm_transitions *t)
{
	if (t->n < t->cap)
		return 0;
	size_t cap = t->cap ? t->cap * 2 : 8;
	struct lm_transition *v = realloc(t->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	t->v = v;
	t->cap = cap;
	return 0;
}

/* ---- the monitor ---------------------------------------------------------- */

#define NO_TIMER ((size_t)-1)

struct lm_entry {
	char *key;
	char *uid;           /* last non-empty uid, "" until one is seen */
	enum lm_role role;   /* last role seen (B.1); a change is an input */
	enum lm_state state; /* LM_BASE means "no FSM" */
	uint64_t deadline;   /* convergence deadline, valid while in TimeWait */
	size_t heap_idx;     /* slot in the timer heap, NO_TIMER when none */
	uint64_t hash;
};

struct lm_monitor {
	uint64_t convergence_ms;
	/* Open addressing, linear probing, power-of-two size, at most half full. */
	struct lm_entry **slots;
	size_t nslots, nused;
	/* Min-heap of the entries in TimeWait, by (deadline, key). */
	struct lm_entry **heap;
	size_t nheap, heap_cap;
};

static uint64_t key_hash(const char *key)
{
	/* FNV-1a: cheap, and keys are short "<namespace>/<name>" strings. */
	uint64_t h = 0xcbf29ce484222325ull;
	for (const unsigned char *c = (const unsigned char *)key; *c; c++) {
		h ^= *c;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The slot holding `key`, or the empty slot where it would go. */
static size_t slot_find(const struct lm_monitor *m, const char *key, uint64_t h)
{
	size_t mask = m->nslots - 1, i = h & mask;

	while (m->slots[i] && (m->slots[i]->hash != h || strcmp(m->slots[i]->key, key)))
		i = (i + 1) & mask;
	return i;
}

static struct lm_entry *entry_get(const struct lm_monitor *m, const char *key)
{
	if (!m->nslots)
		return NULL;
	return m->slots[slot_find(m, key, key_hash(key))];
}

static int table_grow(struct lm_monitor *m)
{
	size_t n = m->nslots ? m->nslots * 2 : 64;
	struct lm_entry **old = m->slots;
	size_t nold = m->nslots;

	m->slots = calloc(n, sizeof(*m->slots));
	if (!m->slots) {
		m->slots = old;
		return -ENOMEM;
	}
	m->nslots = n;
	for (size_t i = 0; i < nold; i++)
		if (old[i])
			m->slots[slot_find(m, old[i]->key, old[i]->hash)] = old[i];
	free(old);
	return 0;
}

static struct lm_entry *entry_add(struct lm_monitor *m, const char *key)
{
	if ((m->nused + 1) * 2 > m->nslots && table_grow(m) < 0)
		return NULL;

	struct lm_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->key = strdup(key);
	e->uid = strdup("");
	if (!e->key || !e->uid) {
		free(e->key);
		free(e->uid);
		free(e);
		return NULL;
	}
	e->hash = key_hash(key);
	e->role = LM_ROLE_NONE;
	e->state = LM_BASE;
	e->heap_idx = NO_TIMER;
	m->slots[slot_find(m, key, e->hash)] = e;
	m->nused++;
	return e;
}

/* ---- timer heap ---------------------------------------------------------- */

static bool timer_before(const struct lm_entry *a, const struct lm_entry *b)
{
	if (a->deadline != b->deadline)
		return a->deadline < b->deadline;
	return strcmp(a->key, b->key) < 0; /* ties fire in key order */
}

static void heap_set(struct lm_monitor *m, size_t i, struct lm_entry *e)
{
	m->heap[i] = e;
	e->heap_idx = i;
}

static void heap_up(struct lm_monitor *m, size_t i)
{
	struct lm_entry *e = m->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!timer_before(e, m->heap[parent]))
			break;
		heap_set(m, i, m->heap[parent]);
		i = parent;
	}
	heap_set(m, i, e);
}

static void heap_down(struct lm_monitor *m, size_t i)
{
	struct lm_entry *e = m->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= m->nheap)
			break;
		if (c + 1 < m->nheap && timer_before(m->heap[c + 1], m->heap[c]))
			c++;
		if (!timer_before(m->heap[c], e))
			break;
		heap_set(m, i, m->heap[c]);
		i = c;
	}
	heap_set(m, i, e);
}

static int heap_reserve(struct lm_monitor *m)
{
	if (m->nheap < m->heap_cap)
		return 0;
	size_t cap = m->heap_cap ? m->heap_cap * 2 : 16;
	struct lm_entry **h = realloc(m->heap, cap * sizeof(*h));
	if (!h)
		return -ENOMEM;
	m->heap = h;
	m->heap_cap = cap;
	return 0;
}

static void timer_stop(struct lm_monitor *m, struct lm_entry *e)
{
	size_t i = e->heap_idx;

	if (i == NO_TIMER)
		return;
	e->heap_idx = NO_TIMER;
	struct lm_entry *last = m->heap[--m->nheap];
	if (i == m->nheap)
		return;
	heap_set(m, i, last);
	heap_up(m, i);
	heap_down(m, last->heap_idx);
}

/* Caller has reserved a slot. */
static void timer_start(struct lm_monitor *m, struct lm_entry *e, uint64_t now_ms)
{
	/* B.6: a timer already running is stopped before a new one starts
	 * (unreachable through the table, which never re-enters TimeWait). */
	timer_stop(m, e);
	e->deadline =
	    now_ms > UINT64_MAX - m->convergence_ms ? UINT64_MAX : now_ms + m->convergence_ms;
	m->heap[m->nheap] = e;
	heap_up(m, m->nheap++);
}

/* ---- feeding the FSM -------------------------------------------------------- */

/* Run one input through e's FSM at time t. Returns 0, or -ENOMEM when the
 * input was dropped with nothing changed. */
static int feed(struct lm_monitor *m, struct lm_entry *e, enum lm_input in, uint64_t t,
                struct lm_transitions *out)
{
	struct fsm_step st = fsm_step(e->state, in);

	if (st.to == e->state)
		return 0; /* a self-loop does nothing, not even log */

	char *key = strdup(e->key), *uid = strdup(e->uid);
	if (!key || !uid || transitions_reserve(out) < 0 ||
	    ((st.actions & LM_ACT_START_TIMER) && heap_reserve(m) < 0)) {
		free(key);
		free(uid);
		return -ENOMEM;
	}

	/* Exit of the old state, then entry of the new (B.4). Capture is the
	 * caller's to start and stop; the timer is ours. */
	if (st.actions & LM_ACT_STOP_TIMER)
		timer_stop(m, e);
	if (st.actions & LM_ACT_START_TIMER)
		timer_start(m, e, t);

	out->v[out->n++] = (struct lm_transition){
	    .endpoint_key = key,
	    .uid = uid,
	    .from = e->state,
	    .to = st.to,
	    .input = in,
	    .actions = st.actions,
	    .t_ms = t,
	};
	e->state = st.to;
	return 0;
}

static void entry_free(struct lm_entry *e)
{
	free(e->key);
	free(e->uid);
	free(e);
}

/* Delete e from the table (backward-shift deletion keeps probe chains intact). */
static void entry_del(struct lm_monitor *m, struct lm_entry *e)
{
	size_t mask = m->nslots - 1, i = slot_find(m, e->key, e->hash);

	timer_stop(m, e);
	m->slots[i] = NULL;
	m->nused--;
	for (size_t j = (i + 1) & mask; m->slots[j]; j = (j + 1) & mask) {
		size_t home = m->slots[j]->hash & mask;
		/* Move slots[j] into the hole unless its home lies in (i, j]. */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			m->slots[i] = m->slots[j];
			m->slots[j] = NULL;
			i = j;
		}
	}
	entry_free(e);
}

/* An entry with no FSM, no role and no uid holds nothing worth keeping. */
static void entry_drop_if_idle(struct lm_monitor *m, struct lm_entry *e)
{
	if (e->state == LM_BASE && e->role == LM_ROLE_NONE && !e->uid[0])
		entry_del(m, e);
}

struct lm_monitor *lm_monitor_new(uint64_t convergence_ms)
{
	struct lm_monitor *m = calloc(1, sizeof(*m));

	if (m)
		m->convergence_ms = convergence_ms;
	return m;
}

void lm_monitor_free(struct lm_monitor *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nslots; i++)
		if (m->slots[i])
			entry_free(m->slots[i]);
	free(m->slots);
	free(m->heap);
	free(m);
}

void lm_monitor_set_convergence(struct lm_monitor *m, uint64_t convergence_ms)
{
	m->convergence_ms = convergence_ms;
}

void lm_monitor_role(struct lm_monitor *m, const char *key, enum lm_role role, const char *uid,
                     uint64_t now_ms, struct lm_transitions *out)
{
	static const enum lm_input role_input[] = {
	    [LM_ROLE_NONE] = LM_IN_NOROLE,
	    [LM_ROLE_SOURCE] = LM_IN_SOURCE,
	    [LM_ROLE_TARGET] = LM_IN_TARGET,
	};
	struct lm_entry *e = entry_get(m, key);
	bool has_uid = uid && uid[0];

	if ((unsigned)role > LM_ROLE_TARGET)
		return;
	if (!e) {
		/* Unknown endpoint: the initial role is NONE, so NONE is no change. */
		if (role == LM_ROLE_NONE && !has_uid)
			return;
		e = entry_add(m, key);
		if (!e)
			return;
	}
	if (has_uid && strcmp(e->uid, uid)) {
		/* Never cleared by an empty uid, so later log lines keep it. */
		char *u = strdup(uid);
		if (u) {
			free(e->uid);
			e->uid = u;
		}
	}
	/* Only a change of role is an input (B.1); the role is recorded only
	 * once the FSM has taken it, so a dropped input is retried next time. */
	if (role != e->role && feed(m, e, role_input[role], now_ms, out) == 0)
		e->role = role;
	entry_drop_if_idle(m, e);
}

void lm_monitor_garp(struct lm_monitor *m, const char *key, uint64_t now_ms,
                     struct lm_transitions *out)
{
	struct lm_entry *e = entry_get(m, key);

	/* Without an FSM the endpoint is in Base, where a GARP does nothing.
	 * Detection is one-shot per Target episode by construction: the first
	 * GARP moves Target to Live, where further GARPs are self-loops. */
	if (e)
		feed(m, e, LM_IN_GARP, now_ms, out);
}

void lm_monitor_remove(struct lm_monitor *m, const char *key, uint64_t now_ms,
                       struct lm_transitions *out)
{
	struct lm_entry *e = entry_get(m, key);

	if (!e)
		return; /* a fresh FSM would go Base -> Base: nothing to report */
	/* Role, uid and FSM are forgotten even if the report could not be made:
	 * the endpoint is gone either way. */
	feed(m, e, LM_IN_DELETED, now_ms, out);
	entry_del(m, e);
}

void lm_monitor_advance(struct lm_monitor *m, uint64_t now_ms, struct lm_transitions *out)
{
	while (m->nheap && m->heap[0]->deadline <= now_ms) {
		struct lm_entry *e = m->heap[0];

		if (e->state != LM_TIMEWAIT) {
			/* Stale pop (B.6): cannot happen while every exit from
			 * TimeWait stops the timer, but never misattribute one. */
			timer_stop(m, e);
			continue;
		}
		/* The pop happens at its deadline, whatever the caller's tick. */
		if (feed(m, e, LM_IN_TIMERPOP, e->deadline, out) < 0)
			return; /* out of memory: the timer stays due for the next call */
		entry_drop_if_idle(m, e);
	}
}

bool lm_monitor_next_deadline(const struct lm_monitor *m, uint64_t *deadline_ms)
{
	if (!m->nheap)
		return false;
	*deadline_ms = m->heap[0]->deadline;
	return true;
}

enum lm_state lm_monitor_state(const struct lm_monitor *m, const char *key)
{
	const struct lm_entry *e = entry_get(m, key);

	return e ? e->state : LM_BASE;
}

/* ---- restart ------------------------------------------------------------------ */

int lm_monitor_restore(struct lm_monitor *m, const struct lm_record *r)
{
	if (!r->key || !r->key[0] || (unsigned)r->role > LM_ROLE_TARGET ||
	    (r->state != LM_TARGET && r->state != LM_LIVE && r->state != LM_TIMEWAIT))
		return -EINVAL;
	if (entry_get(m, r->key))
		return -EEXIST;

	/* Everything allocated before the entry becomes visible. */
	char *uid = strdup(r->uid ? r->uid : "");
	if (!uid || (r->state == LM_TIMEWAIT && heap_reserve(m) < 0)) {
		free(uid);
		return -ENOMEM;
	}
	struct lm_entry *e = entry_add(m, r->key);
	if (!e) {
		free(uid);
		return -ENOMEM;
	}
	free(e->uid);
	e->uid = uid;
	e->role = r->role;
	e->state = r->state;
	if (r->state == LM_TIMEWAIT) {
		e->deadline = r->deadline_ms;
		m->heap[m->nheap] = e;
		heap_up(m, m->nheap++);
	}
	return 0;
}

size_t lm_monitor_records(const struct lm_monitor *m, struct lm_record *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nslots; i++) {
		const struct lm_entry *e = m->slots[i];
		if (!e || e->state == LM_BASE)
			continue;
		if (n < cap)
			out[n] = (struct lm_record){
			    .key = e->key,
			    .uid = e->uid,
			    .state = e->state,
			    .role = e->role,
			    .deadline_ms = e->state == LM_TIMEWAIT ? e->deadline : 0,
			};
		n++;
	}
	return n;
}
