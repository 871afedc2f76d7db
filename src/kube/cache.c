/* cache.c - a jansson object used as the hash table from key to object. */
#include "kube/cache.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct obj_cache {
	json_t *objs; /* key -> object */
};

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
	if (old && json_equal(old, obj))
		return 0;
	enum obj_event ev = old ? OBJ_MODIFIED : OBJ_ADDED;
	if (json_object_set(c->objs, key, obj) < 0)
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
	json_incref(old);
	json_object_del(c->objs, key);
	if (cb)
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
		json_t *old = json_incref(json_object_get(c->objs, key));
		json_object_del(c->objs, key);
		if (cb)
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
		if (old && json_equal(old, obj))
			continue;
		json_object_set(c->objs, keys[i], obj);
		if (cb)
			cb(arg, old ? OBJ_MODIFIED : OBJ_ADDED, obj);
	}
	free(keys);
	json_decref(fresh);
	return invalid;
}

const json_t *obj_cache_get(const struct obj_cache *c, const char *key)
{
	return json_object_get(c->objs, key);
}

size_t obj_cache_count(const struct obj_cache *c)
{
	return json_object_size(c->objs);
}
