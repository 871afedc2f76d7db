/* digest.c - digests of the part of an object its decoder reads, read in
 * place (digest.h).
 *
 * The Pod watch caches digests only. Trimming each event's Pod to what the
 * decoder reads and then hashing the rest walks the tree twice and frees most
 * of it one node at a time; this reads only the members endpoint_pod_trim()
 * keeps and combines them as util/json_hash would combine the trimmed tree,
 * so endpoint_pod_digest(pod) == json_tree_hash(trimmed copy of pod): a list
 * whose items were trimmed and a watch event that was not agree on whether
 * the Pod changed (test_pod_digest, fuzz_watch_events). The member lists below are
 * endpoint_pod_trim's (decode.c); the tests hold the two together. */
#include "core/digest.h"

#include <jansson.h>
#include <string.h>

#include "util/json_hash.h"

#define MAC_ANNOTATION "handoff.dev/mac"

/* The hash `obj` would have with only the members named in `keep`. */
static uint64_t hash_kept(const json_t *obj, const char *const *keep)
{
	uint64_t sum = 0;

	for (; *keep; keep++) {
		json_t *v = json_object_get(obj, *keep);
		if (v)
			sum += json_hash_member(*keep, json_tree_hash(v));
	}
	return json_hash_object(sum);
}

static uint64_t metadata_hash(const json_t *md)
{
	static const char *const keep[] = {"name", "namespace", "uid", "labels", NULL};
	static const char *const ann_keep[] = {MAC_ANNOTATION, NULL};
	uint64_t sum = 0;

	if (!json_is_object(md))
		return json_tree_hash(md);
	for (const char *const *k = keep; *k; k++) {
		json_t *v = json_object_get(md, *k);
		if (v)
			sum += json_hash_member(*k, json_tree_hash(v));
	}
	/* Annotations keep only the MAC; left empty, they are dropped. */
	json_t *a = json_object_get(md, "annotations");
	if (json_is_object(a)) {
		if (json_object_get(a, MAC_ANNOTATION))
			sum += json_hash_member("annotations", hash_kept(a, ann_keep));
	} else if (a) {
		sum += json_hash_member("annotations", json_tree_hash(a));
	}
	return json_hash_object(sum);
}

static uint64_t status_hash(const json_t *st)
{
	uint64_t sum = 0;

	if (!json_is_object(st))
		return json_tree_hash(st);
	json_t *ips = json_object_get(st, "podIPs"), *ip = json_object_get(st, "podIP");
	if (ips)
		sum += json_hash_member("podIPs", json_tree_hash(ips));
	/* podIP is read only when podIPs is empty or absent. */
	if (ip && !(json_is_array(ips) && json_array_size(ips)))
		sum += json_hash_member("podIP", json_tree_hash(ip));
	return json_hash_object(sum);
}

uint64_t endpoint_pod_digest(const json_t *pod)
{
	static const char *const spec_keep[] = {"nodeName", NULL};
	uint64_t sum = 0;
	json_t *v;

	if (!json_is_object(pod))
		return json_tree_hash(pod);
	if ((v = json_object_get(pod, "kind")))
		sum += json_hash_member("kind", json_tree_hash(v));
	if ((v = json_object_get(pod, "apiVersion")))
		sum += json_hash_member("apiVersion", json_tree_hash(v));
	if ((v = json_object_get(pod, "metadata")))
		sum += json_hash_member("metadata", metadata_hash(v));
	if ((v = json_object_get(pod, "spec")))
		sum += json_hash_member("spec", json_is_object(v) ? hash_kept(v, spec_keep)
		                                                  : json_tree_hash(v));
	if ((v = json_object_get(pod, "status")))
		sum += json_hash_member("status", status_hash(v));
	return json_hash_object(sum);
}

uint64_t live_migration_digest(const json_t *lm)
{
	static const char *const md_keep[] = {"name", "namespace", "uid", NULL};
	uint64_t sum = 0;
	json_t *v;

	if (!json_is_object(lm))
		return json_tree_hash(lm);
	if ((v = json_object_get(lm, "kind")))
		sum += json_hash_member("kind", json_tree_hash(v));
	if ((v = json_object_get(lm, "apiVersion")))
		sum += json_hash_member("apiVersion", json_tree_hash(v));
	if ((v = json_object_get(lm, "metadata")))
		sum += json_hash_member("metadata", json_is_object(v) ? hash_kept(v, md_keep)
		                                                      : json_tree_hash(v));
	if ((v = json_object_get(lm, "spec")))
		sum += json_hash_member("spec", json_tree_hash(v));
	return json_hash_object(sum);
}
