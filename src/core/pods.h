/* pods.h - this node's Pods, kept as the endpoints they decode to, and the
 * merge of a Pod with the endpoint record handoff-cni writes for it.
 *
 * The watcher decodes a Pod when its event arrives and keeps only the
 * decoded endpoint (a few hundred bytes, where the Pod's JSON tree costs
 * several KiB even trimmed). When the CNI's record changes later, the Pod's
 * endpoint is merged with it again without the Pod being needed. */
#ifndef HANDOFF_CORE_PODS_H
#define HANDOFF_CORE_PODS_H

#include <stddef.h>

#include "core/model.h"

struct json_t;
struct pod_store;

struct pod_store *pod_store_new(void);
void pod_store_free(struct pod_store *s);

/* Decode a core/v1 Pod and keep it under its "namespace/name". A Pod that
 * does not decode is reported in err (-EINVAL) and the version kept before
 * stays in force. A hostNetwork Pod is not a workload: it is not kept (and
 * any version kept before is forgotten). */
int pod_store_upsert(struct pod_store *s, const struct json_t *pod, struct herr *err);
/* Forget "namespace/name"; 0, or -ENOENT when it was not kept. */
int pod_store_delete(struct pod_store *s, const char *key);
const struct endpoint *pod_store_get(const struct pod_store *s, const char *key);
size_t pod_store_count(const struct pod_store *s);

/* The endpoint the engine gets: a copy of `pod` completed by the CNI's
 * EndpointRecord `rec` (may be NULL): the record's interface (the one the
 * CNI created wins), its MAC when the Pod gives none, and its addresses
 * (prefix lengths dropped) when the Pod reports none yet. -ENOMEM. */
int endpoint_with_record(const struct endpoint *pod, const struct json_t *rec,
                         struct endpoint *out);

#endif
