/* decisions.h - how the watcher shows the core's decisions: as JSON lines
 * (replay, /migrations) and as log lines (seed 000's transition lines). */
#ifndef HANDOFF_WATCHER_DECISIONS_H
#define HANDOFF_WATCHER_DECISIONS_H

#include <jansson.h>

#include "core/engine.h"

/* {"t":..,"event":"role"|"transition"|"route"|"config", ...}; new reference. */
json_t *decision_json(const struct decision *d);
/* One logfmt line per decision. */
void decision_log(const struct decision *d);

#endif
