/* cache.h - the last known version of every object, keyed by
 * kind/namespace/name, and the events that bring a consumer up to date.
 *
 * A watch event goes through obj_cache_upsert/_delete; a full list (the first
 * list, a relist after 410 Gone, a re-read of a datastore folder) goes through
 * obj_cache_replace, which reports objects that vanished in the gap as
 * deleted. An object identical to the cached one produces no event, so a
 * relist never applies an unchanged object twice. */
#ifndef HANDOFF_KUBE_CACHE_H
#define HANDOFF_KUBE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct json_t;

enum obj_event { OBJ_ADDED, OBJ_MODIFIED, OBJ_DELETED };

const char *obj_event_name(enum obj_event ev); /* "ADDED", "MODIFIED", "DELETED" */

/* Called for every change; `obj` is borrowed for the duration of the call
 * (for DELETED: the last cached version). */
typedef void (*obj_event_cb)(void *arg, enum obj_event ev, const struct json_t *obj);

struct obj_cache;

struct obj_cache *obj_cache_new(void);
/* A cache that keeps only each object's key and a 64-bit digest of its
 * content: the same events (changes found by digest, relists reconciled), for
 * some 100 bytes an object whatever its size. obj_cache_get() finds nothing
 * in it, and DELETED carries only the identity: kind, metadata.namespace and
 * metadata.name. */
struct obj_cache *obj_cache_new_digests(void);
/* What a digest cache's digest of an object covers: by default the whole tree
 * (util/json_hash.h); a consumer that reads only part of an object gives a
 * function hashing that part (e.g. endpoint_pod_digest), so that a change
 * elsewhere produces no event. */
typedef uint64_t (*obj_digest_fn)(const struct json_t *obj);
void obj_cache_set_digest(struct obj_cache *c, obj_digest_fn fn);
void obj_cache_free(struct obj_cache *c);

/* Kind, namespace and name of an object into "kind/ns/name". -EINVAL when
 * kind or metadata.name is missing. */
int obj_key(const struct json_t *obj, char *buf, size_t len, struct herr *err);

/* Insert or replace. Emits ADDED or MODIFIED, or nothing when the content is
 * unchanged. A cache that keeps objects takes a new reference to obj, or in
 * arena mode (util/arena.h) a copy made outside the arena. */
int obj_cache_upsert(struct obj_cache *c, struct json_t *obj, obj_event_cb cb, void *arg,
                     struct herr *err);
/* Remove by the object's key; emits DELETED with the cached version (nothing
 * if it was not cached). */
int obj_cache_delete(struct obj_cache *c, const struct json_t *obj, obj_event_cb cb, void *arg,
                     struct herr *err);

/* Make the cached objects whose key starts with `prefix` (e.g. "Pod/" or a
 * file's own set) exactly `objs`: deletes first, then adds and changes, each
 * group in key order. Objects without a valid key are reported in err and
 * skipped; the return value counts them (0 when all were valid). */
int obj_cache_replace(struct obj_cache *c, const char *prefix, struct json_t *const *objs, size_t n,
                      obj_event_cb cb, void *arg, struct herr *err);

const struct json_t *obj_cache_get(const struct obj_cache *c, const char *key);
size_t obj_cache_count(const struct obj_cache *c);

#endif
