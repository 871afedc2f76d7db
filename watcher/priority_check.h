/* priority_check.h - route priorities that must agree across resources and
 * do not (seed 001; calico-semantics C.2): nothing synchronises them, and a
 * mismatch silently breaks live migration's route preference.
 *
 *   - BGPConfiguration `default` ipv4/ipv6NormalRoutePriority must equal the
 *     FelixConfiguration normal priority the node resolves (BIRD uses it as
 *     the boundary between normal and elevated);
 *   - a BGPFilter rule's `priority` match and `setPriority` value must be the
 *     node's normal or elevated priority of the rule's family, or the rule
 *     never matches / restores a priority the node does not use. */
#ifndef HANDOFF_WATCHER_PRIORITY_CHECK_H
#define HANDOFF_WATCHER_PRIORITY_CHECK_H

#include <stddef.h>

#include "bird/model.h"
#include "core/config.h"

/* Every disagreement as one sentence naming the objects, in a stable order:
 * *out is a malloc'ed array of malloc'ed strings (free with
 * priority_check_free). Returns the count, or -ENOMEM. */
int priority_check(const struct route_config *rc, const struct bgp_resources *set, char ***out);
void priority_check_free(char **v, size_t n);

#endif
