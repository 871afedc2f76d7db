/* status.h - what the node's HTTP endpoints report: every migration's
 * transitions with timestamps (/migrations) and the figures of /metrics. */
#ifndef HANDOFF_WATCHER_STATUS_H
#define HANDOFF_WATCHER_STATUS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/engine.h"

struct status;

/* `keep`: finished migrations kept for /migrations (the oldest go first). */
struct status *status_new(size_t keep);
/* Migrations (uids) held: those in progress and up to `keep` finished. */
size_t status_migrations_count(const struct status *s);
void status_free(struct status *s);
/* Endpoints something is held for (their current uid, their episode's
 * figures): those with a role or out of Base, not deleted. */
size_t status_tracked_endpoints(const struct status *s);
/* The endpoint is gone (after its last decisions were recorded): forget it;
 * its records stay in /migrations as long as their migration is kept. */
void status_endpoint_deleted(struct status *s, const char *endpoint);

/* Every decision, as it is logged; wall_ms for people, mono_ms for durations.
 */
void status_record(struct status *s, const struct decision *d, uint64_t wall_ms, uint64_t mono_ms);
/* An endpoint's FSM was restored after a restart, in `state` (no transition
 * happened): /migrations shows it with "restoredAtMs". */
void status_restored(struct status *s, const char *endpoint, const char *uid, enum lm_state state,
                     uint64_t wall_ms, uint64_t mono_ms);
/* A GARP/RARP was reported at mono_us; routes were applied at mono_us. */
void status_garp_seen(struct status *s, uint64_t mono_us);
void status_routes_applied(struct status *s, uint64_t mono_us);

/* JSON: {"<uid>": {"<endpoint>": {"role":..,"state":..,"transitions":[...]}}}
 */
char *status_migrations_json(const struct status *s);
/* An object event of `kind` arrived / an object of `kind` was rejected. */
void status_object_event(struct status *s, const char *kind);
void status_object_rejected(struct status *s, const char *kind);
/* The outcome of rendering and reloading BIRD (family_index 0) or bird6 (1):
 * result "applied", "unchanged", "written" or "failed" (then `error` says why). */
void status_bird_reload(struct status *s, int family_index, const char *result, const char *error);
/* For GET /status: {"endpoints": [{endpoint, role, state, uid, since_ms,
 * garp_to_route_us?}] (those in migration), "objects": [{kind, events,
 * rejected, last_event_ms}], "bird_reload": [{daemon, result, error, at_ms}]}. */
struct json_t *status_report_json(const struct status *s);

/* The whole GET /status document (status_report.c): the above plus each
 * endpoint's routes now, BIRD's sessions and the watches; malloc'd. */
struct watcher;
char *status_report(struct watcher *w);

/* The status's own metric families (outcomes, phase durations, GARP->route). */
void status_write_metrics(const struct status *s, FILE *f);

#endif
