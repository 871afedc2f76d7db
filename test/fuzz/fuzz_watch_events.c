/* fuzz_watch_events - watch lines through the arena path: each line parsed
 * into an arena (util/arena.h) in arena mode, as kube/watch.c does, cached by
 * a digest cache with the Pod digest and by a cache that keeps objects, and
 * decoded by a consumer that keeps Pods in the pod store; the arena is reset
 * after every line.
 *
 * Beyond "no memory error" (ASan fences the arena and frees it at every
 * reset, so a tree that outlives its line is a use-after-free there), every
 * input checks, and aborts when it does not hold:
 * - each line parses in the arena exactly as it parses with malloc;
 * - the Pod digest of the arena tree equals json_tree_hash() of the trimmed
 *   tree (what a relisted, trimmed Pod digests to);
 * - decoding a Pod or a LiveMigration from the arena tree gives what
 *   decoding the malloc tree gives;
 * - after the last line, outside arena mode, the keeping cache holds for
 *   every key exactly the last version upserted under it, and the digest
 *   cache has the same keys. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/model.h"
#include "core/digest.h"
#include "core/pods.h"
#include "kube/cache.h"
#include "kube/client.h"
#include "util/arena.h"
#include "util/json_hash.h"

#define MAX_LINE 4096

struct run {
	struct arena *arena;
	struct obj_cache *digests, *keeps;
	struct pod_store *pods;
	json_t *expect; /* key -> last version upserted (malloc), or absent */
};

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_watch_events: %s\n", what);
	abort();
}

/* The consumer: decodes Pods into the pod store, reads other kinds. */
static void consume(void *arg, enum obj_event ev, const json_t *obj)
{
	struct run *r = arg;
	struct herr err = {{0}};
	const char *kind = json_string_value(json_object_get(obj, "kind"));

	if (!kind || strcmp(kind, "Pod"))
		return;
	if (ev == OBJ_DELETED) {
		char key[600];
		json_t *md = json_object_get(obj, "metadata");
		const char *ns = json_string_value(json_object_get(md, "namespace"));
		const char *name = json_string_value(json_object_get(md, "name"));
		snprintf(key, sizeof(key), "%s/%s", ns && *ns ? ns : "default", name ? name : "");
		pod_store_delete(r->pods, key);
		return;
	}
	pod_store_upsert(r->pods, obj, &err);
}

static bool same_endpoint(const struct endpoint *a, const struct endpoint *b)
{
	if (strcmp(a->key, b->key) || strcmp(a->node, b->node) || strcmp(a->ifname, b->ifname) ||
	    strcmp(a->mac, b->mac) || a->naddrs != b->naddrs ||
	    !labels_equal(&a->labels, &b->labels))
		return false;
	for (size_t i = 0; i < a->naddrs; i++)
		if (strcmp(a->addrs[i], b->addrs[i]))
			return false;
	return true;
}

static bool same_ident(const struct wep_ident *a, const struct wep_ident *b)
{
	return !strcmp(a->hostname, b->hostname) && !strcmp(a->orchestrator, b->orchestrator) &&
	       !strcmp(a->workload, b->workload) && !strcmp(a->endpoint, b->endpoint);
}

static bool same_lm(const struct live_migration *a, const struct live_migration *b)
{
	return !strcmp(a->ns, b->ns) && !strcmp(a->name, b->name) && !strcmp(a->uid, b->uid) &&
	       a->has_source == b->has_source && a->has_target == b->has_target &&
	       same_ident(&a->source, &b->source) && same_ident(&a->target, &b->target) &&
	       !a->target_selector == !b->target_selector &&
	       (!a->target_selector || !strcmp(a->target_selector, b->target_selector));
}

/* The same line parsed with malloc, for comparison (outside arena mode). */
static json_t *parse_plain(const char *line, size_t len)
{
	struct arena *a = json_arena_current();
	json_arena_end();
	json_t *j = json_loadb(line, len, 0, NULL);
	if (json_arena_begin(a) < 0)
		fail("arena mode could not be entered again");
	return j;
}

static void on_line(void *arg, const char *line, size_t len)
{
	struct run *r = arg;
	struct herr err = {{0}};
	json_t *ev, *plain;

	if (!line)
		return;
	ev = json_loadb(line, len, 0, NULL);
	plain = parse_plain(line, len);
	if (!ev != !plain || (ev && !json_equal(ev, plain)))
		fail("the arena parse differs from the malloc parse");
	if (ev && !arena_owns(r->arena, ev))
		fail("a tree parsed in arena mode is not in the arena");
	json_t *obj = json_object_get(ev, "object");
	const char *type = json_string_value(json_object_get(ev, "type"));
	if (json_is_object(obj) && type) {
		json_t *pobj = json_object_get(plain, "object");
		char key[1024];
		/* Digest: in place on the arena tree == hash of the trimmed copy. */
		struct arena *a = json_arena_current();
		json_arena_end();
		json_t *trimmed = json_deep_copy(pobj);
		endpoint_pod_trim(trimmed);
		uint64_t want = json_tree_hash(trimmed);
		json_decref(trimmed);
		struct endpoint e1, e2;
		struct live_migration l1, l2;
		struct herr e1err = {{0}}, e2err = {{0}}, l1err = {{0}}, l2err = {{0}};
		int r2 = endpoint_decode_pod(pobj, &e2, &e2err);
		int q2 = live_migration_decode(pobj, &l2, &l2err);
		json_arena_begin(a);
		if (endpoint_pod_digest(obj) != want)
			fail("Pod digest differs from the trimmed tree's hash");
		int r1 = endpoint_decode_pod(obj, &e1, &e1err);
		if (r1 != r2 || (r1 == 0 && !same_endpoint(&e1, &e2)) ||
		    (r1 < 0 && strcmp(e1err.msg, e2err.msg)))
			fail("a Pod decodes differently from the arena tree");
		if (r1 == 0)
			endpoint_free(&e1);
		if (r2 == 0)
			endpoint_free(&e2);
		/* LiveMigrations too: decoded from the arena tree as from malloc's. */
		int q1 = live_migration_decode(obj, &l1, &l1err);
		if (q1 != q2 || (q1 == 0 && !same_lm(&l1, &l2)) ||
		    (q1 < 0 && strcmp(l1err.msg, l2err.msg)))
			fail("a LiveMigration decodes differently from the arena tree");
		if (q1 == 0)
			live_migration_free(&l1);
		if (q2 == 0)
			live_migration_free(&l2);

		bool del = type[0] == 'D';
		int rc1 = del ? obj_cache_delete(r->digests, obj, consume, r, &err)
		              : obj_cache_upsert(r->digests, obj, consume, r, &err);
		int rc2 = del ? obj_cache_delete(r->keeps, obj, NULL, NULL, &err)
		              : obj_cache_upsert(r->keeps, obj, NULL, NULL, &err);
		if (rc1 != rc2)
			fail("the two caches disagree on an event");
		if (rc1 == 0 && obj_key(pobj, key, sizeof(key), NULL) == 0) {
			/* The expectation is a plain tree: kept outside arena mode. */
			json_arena_end();
			if (del)
				json_object_del(r->expect, key);
			else
				json_object_set(r->expect, key, pobj);
			json_arena_begin(a);
		}
	}
	json_decref(plain); /* made outside the arena: freed as such */
	arena_reset(r->arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run r = {
	    .arena = arena_new(256, 4096),
	    .digests = obj_cache_new_digests(),
	    .keeps = obj_cache_new(),
	    .pods = pod_store_new(),
	    .expect = json_object(),
	};
	struct line_splitter *ls = line_splitter_new(MAX_LINE, on_line, &r);
	const char *k;
	json_t *v;

	if (!r.arena || !r.digests || !r.keeps || !r.pods || !r.expect || !ls)
		fail("out of memory");
	obj_cache_set_digest(r.digests, endpoint_pod_digest);
	/* In pieces, as libcurl delivers them: arena mode for each piece. */
	for (size_t off = 0; off < size;) {
		size_t n = size - off < 97 ? size - off : 97;
		if (json_arena_begin(r.arena) < 0)
			fail("arena busy");
		line_splitter_feed(ls, (const char *)data + off, n);
		json_arena_end();
		off += n;
	}
	line_splitter_free(ls);

	/* Outside arena mode, after every reset: what the caches kept. */
	if (obj_cache_count(r.keeps) != json_object_size(r.expect) ||
	    obj_cache_count(r.digests) != json_object_size(r.expect))
		fail("the caches do not hold the keys last upserted");
	json_object_foreach(r.expect, k, v)
	{
		const json_t *kept = obj_cache_get(r.keeps, k);
		if (!kept || !json_equal(kept, v))
			fail("a kept object is not the last version upserted");
	}
	json_decref(r.expect);
	obj_cache_free(r.digests);
	obj_cache_free(r.keeps);
	pod_store_free(r.pods);
	arena_free(r.arena);
	return 0;
}
