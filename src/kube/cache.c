/* cache.c - util/hmap from "kind/ns/name" to an entry holding the object's
 * digest and, unless the cache keeps digests only, the object.
 *
 * No jansson container is kept here: the cache is changed while a watch's
 * events are parsed into an arena (util/arena.h), and a jansson table given
 * a member then would hold arena memory past the batch. A kept object is
 * taken with json_arena_keep(), a copy made outside the arena. */
#include "kube/cache.h"

#include <errno.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "util/hmap.h"
#include "util/json_hash.h"

struct entry {
	struct hnode node;
	uint64_t digest; /* digest caches only */
	json_t *obj;     /* NULL in a digest cache */
	char key[];
};

struct obj_cache {
	struct hmap map;
	bool digests;
	obj_digest_fn digest;
};

static struct entry *entry_get(const struct obj_cache *c, const char *key)
{
	struct hnode *n = hmap_get(&c->map, key, hmap_hash(key));

	return n ? container_of(n, struct entry, node) : NULL;
}

static void entry_free(struct entry *e)
{
	json_decref(e->obj);
	free(e);
}

static uint64_t digest_of(const struct obj_cache *c, const json_t *obj)
{
	return c->digests ? c->digest(obj) : 0;
}

static bool unchanged(const struct obj_cache *c, const struct entry *old, const json_t *obj,
                      uint64_t digest)
{
	if (!old)
		return false;
	return c->digests ? old->digest == digest : json_equal(old->obj, obj);
}

/* Make `key` hold obj (or its digest). -ENOMEM leaves the cache as it was. */
static int store(struct obj_cache *c, const char *key, struct entry *old, json_t *obj,
                 uint64_t digest)
{
	json_t *kept = NULL;

	if (!c->digests && !(kept = json_arena_keep(obj)))
		return -ENOMEM;
	if (old) {
		json_decref(old->obj);
		old->obj = kept;
		old->digest = digest;
		return 0;
	}
	size_t len = strlen(key);
	struct entry *e = malloc(sizeof(*e) + len + 1);
	if (!e) {
		json_decref(kept);
		return -ENOMEM;
	}
	memcpy(e->key, key, len + 1);
	e->obj = kept;
	e->digest = digest;
	hmap_put(&c->map, &e->node, e->key);
	return 0;
}

/* The object a DELETED event carries (a new reference): the cached version,
 * or for a digest cache the identity rebuilt from the key "kind/ns/name". */
static json_t *deleted_form(const struct obj_cache *c, const struct entry *e)
{
	if (!c->digests)
		return json_incref(e->obj);
	const char *key = e->key;
	const char *s1 = strchr(key, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
	if (!s2)
		return NULL;
	json_t *md = json_pack("{s:s#}", "name", s2 + 1, (int)strlen(s2 + 1));
	if (md && s2 > s1 + 1)
		json_object_set_new(md, "namespace", json_stringn(s1 + 1, (size_t)(s2 - s1 - 1)));
	return md ? json_pack("{s:s#,s:o}", "kind", key, (int)(s1 - key), "metadata", md) : NULL;
}

/* Forget e and tell cb, with the version it held. */
static void remove_entry(struct obj_cache *c, struct entry *e, obj_event_cb cb, void *arg)
{
	json_t *old = deleted_form(c, e);

	hmap_del(&c->map, &e->node);
	entry_free(e);
	if (cb && old)
		cb(arg, OBJ_DELETED, old);
	json_decref(old);
}

const char *obj_event_name(enum obj_event ev)
{
	switch (ev) {
	case OBJ_ADDED:
		return "ADDED";
	case OBJ_MODIFIED:
		return "MODIFIED";
	case OBJ_DELETED:
		return "DELETED";
	}
	return "UNKNOWN";
}

struct obj_cache *obj_cache_new(void)
{
	struct obj_cache *c = calloc(1, sizeof(*c));

	if (c && hmap_init(&c->map) < 0) {
		free(c);
		return NULL;
	}
	if (c)
		c->digest = json_tree_hash;
	return c;
}

struct obj_cache *obj_cache_new_digests(void)
{
	struct obj_cache *c = obj_cache_new();

	if (c)
		c->digests = true;
	return c;
}

void obj_cache_set_digest(struct obj_cache *c, obj_digest_fn fn)
{
	c->digest = fn ? fn : json_tree_hash;
}

void obj_cache_free(struct obj_cache *c)
{
	if (!c)
		return;
	/* Unlink everything first: freeing inside hmap_foreach would read freed nodes. */
	struct entry **all = malloc((c->map.n + 1) * sizeof(*all));
	size_t n = 0;
	if (all) {
		hmap_foreach(&c->map, node) all[n++] = container_of(node, struct entry, node);
		for (size_t i = 0; i < n; i++)
			entry_free(all[i]);
		free(all);
	}
	hmap_fini(&c->map);
	free(c);
}

int obj_key(const json_t *obj, char *buf, size_t len, struct herr *err)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	json_t *meta = json_object_get(obj, "metadata");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));

	if (!json_is_object(obj))
		return herr_set(err, -EINVAL, "object: not a JSON object");
	if (!kind || !*kind)
		return herr_set(err, -EINVAL, "object %s: kind: missing",
		                name ? name : "(unnamed)");
	if (!name || !*name)
		return herr_set(err, -EINVAL, "%s: metadata.name: missing", kind);
	/* "kind/ns/name", built by hand: this runs for every event. */
	size_t lk = strlen(kind), ln = ns ? strlen(ns) : 0, lm = strlen(name);
	if (lk + ln + lm + 3 > len)
		return herr_set(err, -EINVAL, "%s %s: metadata.name: too long", kind, name);
	memcpy(buf, kind, lk);
	buf[lk] = '/';
	memcpy(buf + lk + 1, ns ? ns : "", ln);
	buf[lk + 1 + ln] = '/';
	memcpy(buf + lk + ln + 2, name, lm + 1);
	return 0;
}

int obj_cache_upsert(struct obj_cache *c, json_t *obj, obj_event_cb cb, void *arg, struct herr *err)
{
	char key[1024];
	int r = obj_key(obj, key, sizeof(key), err);

	if (r < 0)
		return r;
	struct entry *old = entry_get(c, key);
	uint64_t digest = digest_of(c, obj);
	if (unchanged(c, old, obj, digest))
		return 0;
	enum obj_event ev = old ? OBJ_MODIFIED : OBJ_ADDED;
	if (store(c, key, old, obj, digest) < 0)
		return herr_set(err, -ENOMEM, "%s: out of memory", key);
	if (cb)
		cb(arg, ev, obj);
	return 0;
}

int obj_cache_delete(struct obj_cache *c, const json_t *obj, obj_event_cb cb, void *arg,
                     struct herr *err)
{
	char key[1024];
	int r = obj_key(obj, key, sizeof(key), err);
	struct entry *e;

	if (r < 0)
		return r;
	if ((e = entry_get(c, key)))
		remove_entry(c, e, cb, arg);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp((*(struct entry *const *)a)->key, (*(struct entry *const *)b)->key);
}

int obj_cache_replace(struct obj_cache *c, const char *prefix, json_t *const *objs, size_t n,
                      obj_event_cb cb, void *arg, struct herr *err)
{
	json_t *fresh = json_object(); /* key -> object; dropped before returning */
	size_t plen = strlen(prefix), nkeys = 0, i;
	const char **keys = NULL;
	struct entry **gone = NULL;
	const char *k;
	json_t *v;
	int invalid = 0;

	if (!fresh)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		char key[1024];
		if (obj_key(objs[i], key, sizeof(key), err) < 0) {
			invalid++;
			continue;
		}
		if (strncmp(key, prefix, plen)) {
			herr_set(err, -EINVAL, "%s: does not belong under %s", key, prefix);
			invalid++;
			continue;
		}
		json_object_set(fresh, key, objs[i]);
	}

	/* Deletions: cached keys under prefix that are not in the fresh set. */
	gone = malloc((c->map.n + 1) * sizeof(*gone));
	if (!gone) {
		json_decref(fresh);
		return -ENOMEM;
	}
	hmap_foreach(&c->map, node)
	{
		struct entry *e = container_of(node, struct entry, node);
		if (!strncmp(e->key, prefix, plen) && !json_object_get(fresh, e->key))
			gone[nkeys++] = e;
	}
	qsort(gone, nkeys, sizeof(*gone), cmp_entry);
	for (i = 0; i < nkeys; i++)
		remove_entry(c, gone[i], cb, arg);
	free(gone);

	/* Additions and changes, in key order. */
	nkeys = 0;
	keys = malloc((json_object_size(fresh) + 1) * sizeof(*keys));
	if (!keys) {
		json_decref(fresh);
		return -ENOMEM;
	}
	json_object_foreach(fresh, k, v) keys[nkeys++] = k;
	qsort(keys, nkeys, sizeof(*keys), cmp_str);
	for (i = 0; i < nkeys; i++) {
		json_t *obj = json_object_get(fresh, keys[i]);
		struct entry *old = entry_get(c, keys[i]);
		uint64_t digest = digest_of(c, obj);
		if (unchanged(c, old, obj, digest))
			continue;
		if (store(c, keys[i], old, obj, digest) < 0) {
			herr_set(err, -ENOMEM, "%s: out of memory", keys[i]);
			invalid++;
			continue;
		}
		if (cb)
			cb(arg, old ? OBJ_MODIFIED : OBJ_ADDED, obj);
	}
	free(keys);
	json_decref(fresh);
	return invalid;
}

const json_t *obj_cache_get(const struct obj_cache *c, const char *key)
{
	struct entry *e = c->digests ? NULL : entry_get(c, key);

	return e ? e->obj : NULL;
}

size_t obj_cache_count(const struct obj_cache *c)
{
	return c->map.n;
}
