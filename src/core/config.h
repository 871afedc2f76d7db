/* config.h - FelixConfiguration resolution and validation (calico-semantics C). */
#ifndef HANDOFF_CORE_CONFIG_H
#define HANDOFF_CORE_CONFIG_H

#include <stdint.h>
#include <stddef.h>

#include "core/model.h"

#define ROUTE_PRIORITY_MIN        1u
#define ROUTE_PRIORITY_MAX        2147483646u
#define DEFAULT_NORMAL_PRIORITY   1024u
#define DEFAULT_ELEVATED_PRIORITY 512u
#define DEFAULT_CONVERGENCE_MS    30000u

enum { AF_IDX_V4 = 0, AF_IDX_V6 = 1 };

/* The resolved values the node uses. Index by AF_IDX_V4 / AF_IDX_V6. */
struct route_config {
	uint32_t normal[2];
	uint32_t elevated[2];
	uint64_t convergence_ms;
};

void route_config_defaults(struct route_config *rc);

/* Resolve from all known FelixConfigurations: `default` first, then
 * `node.<node>` overriding field by field, other objects ignored. When the
 * result has elevated >= normal for a family, the rest is still applied and
 * a warning is written to `warn->msg` (empty otherwise). */
void route_config_resolve(const struct felix_config *const *objs, size_t n, const char *node,
                          struct route_config *out, struct herr *warn);

/* Kubernetes duration ("30s", "1m30s", "500ms", "1h", "1.5s") -> milliseconds.
 * 0 or -EINVAL with a message naming what is wrong with `text`. */
int parse_k8s_duration(const char *text, uint64_t *ms, struct herr *err);

#endif
