/* status.c - migration records and their figures, and what the status
 * command shows of them: the endpoints in migration, objects seen per kind,
 * the last BIRD reload per daemon.
 *
 * /migrations keeps every migration in progress and the last `keep`
 * finished ones (every endpoint of the uid back in Base after at least one
 * transition); older finished ones are dropped first, so that a node that
 * sees migrations for months answers in bounded memory and time. A finished
 * migration that moves again (a re-migration reusing its uid) is in progress
 * again until it finishes anew.
 *
 * What is held per endpoint (its current uid, its episode's figures) is
 * bounded by the endpoints alive and in migration: it goes once the endpoint
 * is idle (Base without a role, as the FSM drops its entry) or deleted. A
 * record that never made a transition (a source's role) counts as finished
 * once its endpoint no longer points at that uid. */
#include "status.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/prom.h"
#include "util/hmap.h"

/* Where an endpoint's migration stands, for durations and outcomes. */
struct ep_track {
	struct hnode node; /* in status.tracks, by endpoint key */
	char *key;
	enum lm_state state;           /* after its last transition */
	enum lm_role role;             /* after its last role decision */
	uint64_t entered_mono_ms;      /* when the current state was entered */
	bool was_live;                 /* this episode reached Live */
	bool garp_pending;             /* went Live on a GARP; routes not applied yet */
	int64_t garp_to_route_us;      /* of the last GARP; -1 before one */
	struct ep_track *next_pending; /* in status.pending while garp_pending */
};

enum outcome { OUT_COMPLETED, OUT_GARP_MISSED, OUT_FAILED, OUT_REMIGRATED, OUT_DELETED, OUT_N };
static const char *outcome_names[OUT_N] = {"completed", "garp_missed", "failed", "remigrated",
                                           "deleted"};

/* A uid that finished, in the order they finished; stale when the uid has
 * moved again since (its seq in `finished` differs). */
struct done {
	char *uid;
	uint64_t seq;
};

struct status {
	json_t *migrations; /* uid -> endpoint -> record */
	json_t *finished;   /* uid -> seq of its entry in `done` */
	struct done *done;  /* oldest first, from done_head */
	size_t done_head, ndone, done_cap;
	size_t keep;
	uint64_t seq;
	json_t *uid_of;           /* endpoint -> uid of its current episode */
	struct hmap tracks;       /* endpoint -> struct ep_track */
	struct ep_track *pending; /* those with garp_pending */
	uint64_t outcomes[OUT_N];
	struct prom_histogram target_to_live, live_to_timewait, timewait_to_base, garp_to_route;
	uint64_t garp_pending_us;
	struct kind_stats {
		char kind[32];
		uint64_t events, rejected, last_ms;
	} kinds[16];
	size_t nkinds;
	struct reload_stats {
		const char *result; /* "applied", "unchanged", "written", "failed"; NULL: none */
		char error[256];
		uint64_t at_ms;
	} reload[2];
};

static uint64_t now_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const double phase_bounds[] = {0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300};
static const double fast_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.002,
                                     0.005,  0.01,    0.025,  0.05,  0.1};

struct status *status_new(size_t keep)
{
	struct status *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (hmap_init(&s->tracks) < 0) {
		free(s);
		return NULL;
	}
	s->keep = keep;
	s->finished = json_object();
	s->migrations = json_object();
	s->uid_of = json_object();
	prom_histogram_init(&s->target_to_live, phase_bounds,
	                    sizeof(phase_bounds) / sizeof(double));
	prom_histogram_init(&s->live_to_timewait, phase_bounds,
	                    sizeof(phase_bounds) / sizeof(double));
	prom_histogram_init(&s->timewait_to_base, phase_bounds,
	                    sizeof(phase_bounds) / sizeof(double));
	prom_histogram_init(&s->garp_to_route, fast_bounds, sizeof(fast_bounds) / sizeof(double));
	return s;
}

void status_free(struct status *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->tracks.nb; i++)
		while (s->tracks.b[i]) {
			struct ep_track *t = container_of(s->tracks.b[i], struct ep_track, node);
			hmap_del(&s->tracks, &t->node);
			free(t->key);
			free(t);
		}
	hmap_fini(&s->tracks);
	json_decref(s->migrations);
	json_decref(s->uid_of);
	json_decref(s->finished);
	for (size_t i = s->done_head; i < s->ndone; i++)
		free(s->done[i].uid);
	free(s->done);
	free(s);
}

static struct ep_track *track_get(const struct status *s, const char *key)
{
	struct hnode *n = hmap_get(&s->tracks, key, hmap_hash(key));
	return n ? container_of(n, struct ep_track, node) : NULL;
}

/* The track of `key`, created (in Base, without a role) on first use. */
static struct ep_track *track(struct status *s, const char *key)
{
	struct ep_track *t = track_get(s, key);

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t || !(t->key = strdup(key))) {
		free(t);
		return NULL;
	}
	t->garp_to_route_us = -1;
	hmap_put(&s->tracks, &t->node, t->key);
	return t;
}

/* The record of (uid, endpoint), created on first use. */
static json_t *record(struct status *s, const char *uid, const char *endpoint)
{
	json_t *byuid = json_object_get(s->migrations, uid);
	json_t *rec;

	if (!byuid) {
		byuid = json_object();
		json_object_set_new(s->migrations, uid, byuid);
	}
	rec = json_object_get(byuid, endpoint);
	if (!rec) {
		rec = json_pack("{s:s,s:s,s:[]}", "role", "NONE", "state", "Base", "transitions");
		json_object_set_new(byuid, endpoint, rec);
	}
	return rec;
}

static void outcome(struct status *s, const struct decision *d, const struct ep_track *t)
{
	if (d->to != LM_BASE)
		return;
	if (d->input == LM_IN_TIMERPOP)
		s->outcomes[t && t->was_live ? OUT_COMPLETED : OUT_GARP_MISSED]++;
	else if (d->from == LM_TARGET)
		s->outcomes[OUT_FAILED]++;
	else if (d->input == LM_IN_SOURCE)
		s->outcomes[OUT_REMIGRATED]++;
	else
		s->outcomes[OUT_DELETED]++;
}

/* Every endpoint of `uid` is back in Base after a transition, or (a role
 * without a transition, as a source's) has left the uid: idle, deleted or
 * in another migration. */
static bool uid_finished(const struct status *s, const char *uid)
{
	const char *ep;
	json_t *rec;

	json_object_foreach(json_object_get(s->migrations, uid), ep, rec)
	{
		const char *cur = json_string_value(json_object_get(s->uid_of, ep));
		if (strcmp(json_string_value(json_object_get(rec, "state")), "Base") ||
		    (!json_array_size(json_object_get(rec, "transitions")) && cur &&
		     !strcmp(cur, uid)))
			return false;
	}
	return true;
}

/* Queue `uid` as finished now. */
static void done_push(struct status *s, const char *uid)
{
	if (s->done_head && s->ndone == s->done_cap) {
		/* Slide the live part down before growing. */
		memmove(s->done, s->done + s->done_head,
		        (s->ndone - s->done_head) * sizeof(*s->done));
		s->ndone -= s->done_head;
		s->done_head = 0;
	}
	if (s->ndone == s->done_cap) {
		size_t cap = s->done_cap ? s->done_cap * 2 : 64;
		struct done *v = realloc(s->done, cap * sizeof(*v));
		if (!v)
			return; /* kept, merely not dropped later */
		s->done = v;
		s->done_cap = cap;
	}
	char *u = strdup(uid);
	if (!u)
		return;
	s->done[s->ndone++] = (struct done){u, ++s->seq};
	json_object_set_new(s->finished, uid, json_integer((json_int_t)s->seq));
}

/* Whether `uid` finished (or started again) with this transition; then
 * drop the oldest finished ones beyond `keep`. */
static void track_finished(struct status *s, const char *uid)
{
	bool fin = uid_finished(s, uid);
	bool was = json_object_get(s->finished, uid) != NULL;

	if (fin && !was)
		done_push(s, uid);
	else if (!fin && was)
		json_object_del(s->finished, uid); /* its queue entry turns stale */
	while (json_object_size(s->finished) > s->keep && s->done_head < s->ndone) {
		struct done *d = &s->done[s->done_head++];
		json_t *seq = json_object_get(s->finished, d->uid);
		if (seq && (uint64_t)json_integer_value(seq) == d->seq) {
			/* Its endpoints still pointing at the dropped uid forget it. */
			const char *ep;
			json_t *rec;
			json_object_foreach(json_object_get(s->migrations, d->uid), ep, rec)
			{
				const char *cur = json_string_value(json_object_get(s->uid_of, ep));
				if (cur && !strcmp(cur, d->uid))
					json_object_del(s->uid_of, ep);
			}
			json_object_del(s->finished, d->uid);
			json_object_del(s->migrations, d->uid);
		}
		free(d->uid);
	}
}

/* Forget what is held for endpoint `key`: its track and its current uid,
 * whose migration may be finished now that nothing points at it. */
static void forget(struct status *s, const char *key)
{
	struct ep_track *t = track_get(s, key);
	json_t *u = json_object_get(s->uid_of, key);
	char *uid = u ? strdup(json_string_value(u)) : NULL;

	json_object_del(s->uid_of, key); /* before `key`, which may be t->key, goes */
	if (t) {
		for (struct ep_track **p = &s->pending; *p; p = &(*p)->next_pending)
			if (*p == t) {
				*p = t->next_pending;
				break;
			}
		hmap_del(&s->tracks, &t->node);
		free(t->key);
		free(t);
	}
	if (uid && json_object_get(s->migrations, uid))
		track_finished(s, uid);
	free(uid);
}

/* An endpoint in Base without a role holds nothing that is reported: its
 * episode's figures are counted, and /status lists it no more. */
static void forget_if_idle(struct status *s, struct ep_track *t)
{
	if (t && t->state == LM_BASE && t->role == LM_ROLE_NONE)
		forget(s, t->key);
}

size_t status_tracked_endpoints(const struct status *s)
{
	size_t u = json_object_size(s->uid_of);
	return s->tracks.n > u ? s->tracks.n : u;
}

void status_endpoint_deleted(struct status *s, const char *endpoint)
{
	forget(s, endpoint);
}

size_t status_migrations_count(const struct status *s)
{
	return json_object_size(s->migrations);
}

void status_record(struct status *s, const struct decision *d, uint64_t wall_ms, uint64_t mono_ms)
{
	char a[24], b[24], c[24];

	if (d->kind == DEC_ROLE) {
		struct ep_track *t = track(s, d->endpoint);
		if (t)
			t->role = d->role;
		if (d->uid && *d->uid) {
			json_t *prev = json_object_get(s->uid_of, d->endpoint);
			char *left = prev && strcmp(json_string_value(prev), d->uid)
			                 ? strdup(json_string_value(prev))
			                 : NULL;
			json_object_set_new(s->uid_of, d->endpoint, json_string(d->uid));
			json_t *rec = record(s, d->uid, d->endpoint);
			json_object_set_new(rec, "role", json_string(lm_role_name(d->role)));
			json_object_set_new(rec, "since_ms", json_integer((json_int_t)wall_ms));
			/* The uid it left may be finished now (a source's role). */
			if (left && json_object_get(s->migrations, left))
				track_finished(s, left);
			free(left);
		} else {
			const char *uid =
			    json_string_value(json_object_get(s->uid_of, d->endpoint));
			if (uid)
				json_object_set_new(record(s, uid, d->endpoint), "role",
				                    json_string("NONE"));
		}
		forget_if_idle(s, t);
		return;
	}
	if (d->kind != DEC_TRANSITION)
		return;
	const char *uid = d->uid && *d->uid ? d->uid : "";
	json_t *rec = record(s, uid, d->endpoint);
	json_object_set_new(rec, "state", json_string(lm_state_name(d->to, a)));
	json_object_set_new(rec, "since_ms", json_integer((json_int_t)wall_ms));
	json_array_append_new(json_object_get(rec, "transitions"),
	                      json_pack("{s:s,s:s,s:s,s:I}", "from", lm_state_name(d->from, b),
	                                "input", lm_input_name(d->input, c), "to",
	                                lm_state_name(d->to, a), "at_ms", (json_int_t)wall_ms));
	track_finished(s, uid);

	struct ep_track *t = track(s, d->endpoint);
	if (!t)
		return;
	double spent = (double)(mono_ms - t->entered_mono_ms) / 1000.0;
	if (d->from == LM_TARGET && d->to == LM_LIVE)
		prom_histogram_observe(&s->target_to_live, spent);
	else if (d->from == LM_LIVE && d->to == LM_TIMEWAIT)
		prom_histogram_observe(&s->live_to_timewait, spent);
	else if (d->from == LM_TIMEWAIT && d->to == LM_BASE)
		prom_histogram_observe(&s->timewait_to_base, spent);
	if (d->from == LM_BASE)
		t->was_live = false;
	if (d->to == LM_LIVE)
		t->was_live = true;
	if (d->to == LM_LIVE && d->input == LM_IN_GARP && !t->garp_pending) {
		t->garp_pending = true;
		t->next_pending = s->pending;
		s->pending = t;
	}
	outcome(s, d, t);
	t->entered_mono_ms = mono_ms;
	t->state = d->to;
	forget_if_idle(s, t);
}

void status_restored(struct status *s, const char *endpoint, const char *uid, enum lm_state state,
                     uint64_t wall_ms, uint64_t mono_ms)
{
	char a[24];
	json_t *rec = record(s, uid, endpoint);
	struct ep_track *t = track(s, endpoint);

	if (*uid)
		json_object_set_new(s->uid_of, endpoint, json_string(uid));
	json_object_set_new(rec, "state", json_string(lm_state_name(state, a)));
	json_object_set_new(rec, "restoredAtMs", json_integer((json_int_t)wall_ms));
	if (t) {
		/* The phase durations restart here: its start was before us. */
		t->state = state;
		t->entered_mono_ms = mono_ms;
		t->was_live = state != LM_TARGET;
	}
}

void status_garp_seen(struct status *s, uint64_t mono_us)
{
	if (!s->garp_pending_us)
		s->garp_pending_us = mono_us;
}

void status_routes_applied(struct status *s, uint64_t mono_us)
{
	if (!s->garp_pending_us)
		return;
	prom_histogram_observe(&s->garp_to_route, (double)(mono_us - s->garp_pending_us) / 1e6);
	for (struct ep_track *t = s->pending; t; t = t->next_pending) {
		t->garp_to_route_us = (int64_t)(mono_us - s->garp_pending_us);
		t->garp_pending = false;
	}
	s->pending = NULL;
	s->garp_pending_us = 0;
}

char *status_migrations_json(const struct status *s)
{
	return json_dumps(s->migrations, JSON_INDENT(2) | JSON_SORT_KEYS);
}

void status_write_metrics(const struct status *s, FILE *f)
{
	char labels[64];

	prom_header(f, "handoff_migrations_total", "counter",
	            "Migrations seen by this node's endpoints, by how they ended.");
	for (int i = 0; i < OUT_N; i++) {
		snprintf(labels, sizeof(labels), "outcome=\"%s\"", outcome_names[i]);
		prom_sample(f, "handoff_migrations_total", labels, (double)s->outcomes[i]);
	}
	prom_header(f, "handoff_migration_phase_seconds", "histogram",
	            "Time from entering a state to leaving it, per transition.");
	prom_histogram_write(f, "handoff_migration_phase_seconds", "phase=\"target_to_live\"",
	                     &s->target_to_live);
	prom_histogram_write(f, "handoff_migration_phase_seconds", "phase=\"live_to_timewait\"",
	                     &s->live_to_timewait);
	prom_histogram_write(f, "handoff_migration_phase_seconds", "phase=\"timewait_to_base\"",
	                     &s->timewait_to_base);
	prom_header(f, "handoff_garp_to_route_seconds", "histogram",
	            "From a GARP/RARP read on a workload interface to its routes applied.");
	prom_histogram_write(f, "handoff_garp_to_route_seconds", NULL, &s->garp_to_route);
}

/* The slot of `kind`; NULL when the table is full (figures then go uncounted). */
static struct kind_stats *kind_slot(struct status *s, const char *kind)
{
	for (size_t i = 0; i < s->nkinds; i++)
		if (!strcmp(s->kinds[i].kind, kind))
			return &s->kinds[i];
	if (s->nkinds == sizeof(s->kinds) / sizeof(s->kinds[0]))
		return NULL;
	struct kind_stats *k = &s->kinds[s->nkinds++];
	snprintf(k->kind, sizeof(k->kind), "%s", kind);
	return k;
}

void status_object_event(struct status *s, const char *kind)
{
	struct kind_stats *k = kind ? kind_slot(s, kind) : NULL;

	if (k) {
		k->events++;
		k->last_ms = now_wall_ms();
	}
}

void status_object_rejected(struct status *s, const char *kind)
{
	struct kind_stats *k = kind_slot(s, kind ? kind : "unknown");

	if (k)
		k->rejected++;
}

void status_bird_reload(struct status *s, int family_index, const char *result, const char *error)
{
	struct reload_stats *r = &s->reload[family_index ? 1 : 0];

	r->result = result;
	snprintf(r->error, sizeof(r->error), "%s", error ? error : "");
	r->at_ms = now_wall_ms();
}

json_t *status_report_json(const struct status *s)
{
	json_t *out = json_object(), *eps = json_array(), *kinds = json_array(),
	       *reload = json_array();
	const char *ep;
	json_t *uid;

	json_object_foreach(s->uid_of, ep, uid)
	{
		json_t *rec =
		    json_object_get(json_object_get(s->migrations, json_string_value(uid)), ep);
		const char *role = json_string_value(json_object_get(rec, "role"));
		const char *state = json_string_value(json_object_get(rec, "state"));
		const struct ep_track *t = track_get(s, ep);

		/* In migration: a role, or a state other than Base (TimeWait outlives the role). */
		if (!rec || (!strcmp(role, "NONE") && !strcmp(state, "Base")))
			continue;
		json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:O}", "endpoint", ep, "role", role,
		                      "state", state, "uid", json_string_value(uid), "since_ms",
		                      json_object_get(rec, "since_ms"));
		if (t && t->garp_to_route_us >= 0)
			json_object_set_new(e, "garp_to_route_us",
			                    json_integer((json_int_t)t->garp_to_route_us));
		json_array_append_new(eps, e);
	}
	for (size_t i = 0; i < s->nkinds; i++)
		json_array_append_new(kinds,
		                      json_pack("{s:s,s:I,s:I,s:I}", "kind", s->kinds[i].kind,
		                                "events", (json_int_t)s->kinds[i].events,
		                                "rejected", (json_int_t)s->kinds[i].rejected,
		                                "last_event_ms", (json_int_t)s->kinds[i].last_ms));
	for (int f = 0; f < 2; f++) {
		const struct reload_stats *r = &s->reload[f];
		json_array_append_new(reload,
		                      json_pack("{s:s,s:s?,s:s,s:I}", "daemon",
		                                f ? "bird6" : "bird", "result", r->result, "error",
		                                r->error, "at_ms", (json_int_t)r->at_ms));
	}
	json_object_set_new(out, "endpoints", eps);
	json_object_set_new(out, "objects", kinds);
	json_object_set_new(out, "bird_reload", reload);
	return out;
}
