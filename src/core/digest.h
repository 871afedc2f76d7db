/* digest.h - digests of what the decoders read of an object, read in place:
 * the watches' cache digests (kube/cache.h obj_cache_set_digest), so that a
 * change the decoder would not see produces no event.
 *
 * Each equals util/json_hash's json_tree_hash() of the object with only the
 * members its decoder reads, so a list item trimmed before caching and a
 * watch event that was not agree on whether the object changed. */
#ifndef HANDOFF_CORE_DIGEST_H
#define HANDOFF_CORE_DIGEST_H

#include <stdint.h>

struct json_t;

/* A Pod as endpoint_pod_trim() (model.h) would leave it: kind, apiVersion,
 * metadata name/namespace/uid/labels and the MAC annotation, spec.nodeName,
 * status.podIPs (or podIP when podIPs is empty or absent). */
uint64_t endpoint_pod_digest(const struct json_t *pod);

/* A LiveMigration's kind, apiVersion, metadata name/namespace/uid and spec:
 * what live_migration_decode() reads. Its resourceVersion, labels,
 * annotations, managedFields or a status change nothing the engine sees. */
uint64_t live_migration_digest(const struct json_t *lm);

#endif
