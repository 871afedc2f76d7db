/* cache.c - a jansson object used as the hash table from key to object (or,
 * in a digest cache, from key to a JSON integer holding the digest). */
#include "kube/cache.h"

#include <errno.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hmap.h"

struct obj_cache {
	json_t *objs; /* key -> object, or key -> digest */
	bool digests;
};

/* A structural hash of a JSON tree, cheaper than serialising it: members of
 * an object are combined with a sum, so their order does not matter, and
 * each member mixes its key with its value, so swapping two values changes
 * the hash. Two trees json_equal() calls equal hash the same. */
static uint64_t mix(uint64_t x) /* splitmix64's finaliser */
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t bytes_hash(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	while (n--) {
		h ^= (unsigned char)*p++;
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t tree_hash(const json_t *j)
{
	uint64_t h;
	const char *k;
	json_t *v;
	size_t i;
	double d;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		h = 1;
		json_object_foreach((json_t *)j, k, v) h += mix(hmap_hash(k) ^ mix(tree_hash(v)));
		return mix(h ^ 0x6f);
	case JSON_ARRAY:
		h = 2;
		json_array_foreach(j, i, v) h = mix(h * 31 + tree_hash(v));
		return mix(h ^ 0x61);
	case JSON_STRING:
		return mix(bytes_hash(json_string_value(j), json_string_length(j)) ^ 0x73);
	case JSON_INTEGER:
		return mix((uint64_t)json_integer_value(j) ^ 0x69);
	case JSON_REAL:
		d = json_real_value(j);
		memcpy(&h, &d, sizeof(h));
		return mix(h ^ 0x72);
	case JSON_TRUE:
		return 0x74;
	case JSON_FALSE:
		return 0x66;
	default:
		return 0x6e;
	}
}

static json_int_t digest_of(const json_t *obj)
{
	return (json_int_t)tree_hash(obj);
}

/* What the table keeps for obj: obj itself, or its digest. */
static json_t *stored_form(const struct obj_cache *c, json_t *obj, json_int_t digest)
{
	return c->digests ? json_integer(digest) : json_incref(obj);
}

static bool unchanged(const struct obj_cache *c, const json_t *old, const json_t *obj,
                      json_int_t digest)
{
	if (!old)
		return false;
	return c->digests ? json_integer_value(old) == digest : json_equal(old, obj);
}

/* The object a DELETED event carries (a new reference): the cached version,
 * or for a digest cache the identity rebuilt from the key "kind/ns/name". */
static json_t *deleted_form(const struct obj_cache *c, const char *key, json_t *old)
{
	if (!c->digests)
		return json_incref(old);
	const char *s1 = strchr(key, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
	if (!s2)
		return NULL;
	json_t *md = json_pack("{s:s#}", "name", s2 + 1, (int)strlen(s2 + 1));
	if (md && s2 > s1 + 1)
		json_object_set_new(md, "namespace", json_stringn(s1 + 1, (size_t)(s2 - s1 - 1)));
	return md ? json_pack("{s:s#,s:o}", "kind", key, (int)(s1 - key), "metadata", md) : NULL;
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

	if (c && !(c->objs = json_object())) {
		free(c);
		return NULL;
	}
	return c;
}

struct obj_cache *obj_cache_new_digests(void)
{
	struct obj_cache *c = obj_cache_new();

	if (c)
		c->digests = true;
	return c;
}

void obj_cache_free(struct obj_cache *c)
{
	if (!c)
		return;
	json_decref(c->objs);
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
	if ((size_t)snprintf(buf, len, "%s/%s/%s", kind, ns ? ns : "", name) >= len)
		return herr_set(err, -EINVAL, "%s %s: metadata.name: too long", kind, name);
	return 0;
}

int obj_cache_upsert(struct obj_cache *c, json_t *obj, obj_event_cb cb, void *arg, struct herr *err)
{
	char key[1024];
	int r = obj_key(obj, key, sizeof(key), err);
	json_t *old;

	if (r < 0)
		return r;
	old = json_object_get(c->objs, key);
	json_int_t digest = c->digests ? digest_of(obj) : 0;
	if (unchanged(c, old, obj, digest))
		return 0;
	enum obj_event ev = old ? OBJ_MODIFIED : OBJ_ADDED;
	if (json_object_set_new(c->objs, key, stored_form(c, obj, digest)) < 0)
		return -ENOMEM;
	if (cb)
		cb(arg, ev, obj);
	return 0;
}

int obj_cache_delete(struct obj_cache *c, const json_t *obj, obj_event_cb cb, void *arg,
                     struct herr *err)
{
	char key[1024];
	int r = obj_key(obj, key, sizeof(key), err);
	json_t *old;

	if (r < 0)
		return r;
	old = json_object_get(c->objs, key);
	if (!old)
		return 0;
	old = deleted_form(c, key, old);
	json_object_del(c->objs, key);
	if (cb && old)
		cb(arg, OBJ_DELETED, old);
	json_decref(old);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int obj_cache_replace(struct obj_cache *c, const char *prefix, json_t *const *objs, size_t n,
                      obj_event_cb cb, void *arg, struct herr *err)
{
	json_t *fresh = json_object();
	size_t plen = strlen(prefix), nkeys = 0, i;
	const char **keys = NULL;
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
	keys = malloc((json_object_size(c->objs) + 1) * sizeof(*keys));
	if (!keys) {
		json_decref(fresh);
		return -ENOMEM;
	}
	json_object_foreach(c->objs, k, v) if (!strncmp(k, prefix, plen) &&
	                                       !json_object_get(fresh, k)) keys[nkeys++] = k;
	qsort(keys, nkeys, sizeof(*keys), cmp_str);
	for (i = 0; i < nkeys; i++) {
		/* keys[i] points into the table: copy before deleting. */
		char key[1024];
		snprintf(key, sizeof(key), "%s", keys[i]);
		json_t *old = deleted_form(c, key, json_object_get(c->objs, key));
		json_object_del(c->objs, key);
		if (cb && old)
			cb(arg, OBJ_DELETED, old);
		json_decref(old);
	}
	free(keys);

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
		json_t *old = json_object_get(c->objs, keys[i]);
		json_int_t digest = c->digests ? digest_of(obj) : 0;
		if (unchanged(c, old, obj, digest))
			continue;
		json_object_set_new(c->objs, keys[i], stored_form(c, obj, digest));
		if (cb)
			cb(arg, old ? OBJ_MODIFIED : OBJ_ADDED, obj);
	}
	free(keys);
	json_decref(fresh);
	return invalid;
}

const json_t *obj_cache_get(const struct obj_cache *c, const char *key)
{
	return c->digests ? NULL : json_object_get(c->objs, key);
}

size_t obj_cache_count(const struct obj_cache *c)
{
	return json_object_size(c->objs);
}
