/* plan_index.h - a node's plan kept in order while its per-endpoint parts
 * change, so that building the whole plan needs no sorting.
 *
 * Each part is a plan of one endpoint (plan_compute) that lives at a fixed
 * address; the index refers to its routes, ARP entry and capture. A part
 * changes only through plan_index_replace(): from an empty plan when the
 * endpoint comes, to an empty plan when it goes.
 *
 * plan_index_build() then gives what plan_compute() of all the endpoints at
 * once would, given the parts were computed with the same states and
 * configuration: the same routes, ARP entries and captures in the same order. */
#ifndef HANDOFF_CORE_PLAN_INDEX_H
#define HANDOFF_CORE_PLAN_INDEX_H

#include "core/plan.h"

struct plan_index;

struct plan_index *plan_index_new(void);
void plan_index_free(struct plan_index *ix);

/* `part` takes fresh's content (fresh is left empty), and the index follows:
 * the old entries leave it, the new ones join it, except in the lists where
 * every entry of fresh sorts where the old one did, which are not touched.
 * -ENOMEM leaves the index incomplete: plan_index_build() then fails with
 * -ENOMEM too, and the caller computes the plan from scratch. */
int plan_index_replace(struct plan_index *ix, struct plan *part, struct plan *fresh);

int plan_index_build(const struct plan_index *ix, struct plan *out);

#endif
