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

/* Every decision, as it is logged; wall_ms for people, mono_ms for durations.
 */
void status_record(struct status *s, const struct decision *d, uint64_t wall_ms, uint64_t mono_ms);
/* A GARP/RARP was reported at mono_us; routes were applied at mono_us. */
void status_garp_seen(struct status *s, uint64_t mono_us);
void status_routes_applied(struct status *s, uint64_t mono_us);

/* JSON: {"<uid>": {"<endpoint>": {"role":..,"state":..,"transitions":[...]}}}
 */
char *status_migrations_json(const struct status *s);
/* The status's own metric families (outcomes, phase durations, GARP->route). */
void status_write_metrics(const struct status *s, FILE *f);

#endif
