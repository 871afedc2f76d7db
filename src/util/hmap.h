/* hmap.h - an intrusive hash map from C strings to the structs that embed a
 * node. The map owns no memory of its entries: the embedding struct owns its
 * key and frees itself after hmap_del().
 *
 *   struct thing { struct hnode node; char *name; ... };
 *   hmap_put(&m, &t->node, t->name);
 *   struct hnode *n = hmap_get(&m, "x", hmap_hash("x"));
 *   struct thing *t = n ? container_of(n, struct thing, node) : NULL; */
#ifndef HANDOFF_UTIL_HMAP_H
#define HANDOFF_UTIL_HMAP_H

#include <stddef.h>
#include <stdint.h>

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

struct hnode {
	struct hnode *next;
	uint64_t hash;
	const char *key; /* owned by the struct that embeds the node */
};

struct hmap {
	struct hnode **b;
	size_t nb, n; /* nb is a power of two */
};

uint64_t hmap_hash(const char *s); /* FNV-1a */

int hmap_init(struct hmap *m); /* -ENOMEM */
/* Frees the buckets only; the entries are the caller's. */
void hmap_fini(struct hmap *m);
struct hnode *hmap_get(const struct hmap *m, const char *key, uint64_t hash);
/* Never fails; the key must not be present yet. */
void hmap_put(struct hmap *m, struct hnode *node, const char *key);
void hmap_del(struct hmap *m, struct hnode *node);

/* Every node; the body must not put or delete. */
#define hmap_foreach(m, n)                                                                         \
	for (size_t hmap_i_ = 0; hmap_i_ < (m)->nb; hmap_i_++)                                     \
		for (struct hnode *n = (m)->b[hmap_i_]; n; n = n->next)

#endif
