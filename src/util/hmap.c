/* hmap.c - chained buckets, doubled when the map holds as many entries as
 * it has buckets. */
#include "util/hmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HMAP_INITIAL 16

uint64_t hmap_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

int hmap_init(struct hmap *m)
{
	m->b = calloc(HMAP_INITIAL, sizeof(*m->b));
	m->nb = HMAP_INITIAL;
	m->n = 0;
	return m->b ? 0 : -ENOMEM;
}

struct hnode *hmap_get(const struct hmap *m, const char *key, uint64_t hash)
{
	for (struct hnode *n = m->b[hash & (m->nb - 1)]; n; n = n->next)
		if (n->hash == hash && !strcmp(n->key, key))
			return n;
	return NULL;
}

static void hmap_grow(struct hmap *m)
{
	size_t nb = m->nb * 2;
	struct hnode **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* chains get longer; lookups stay correct */
	for (size_t i = 0; i < m->nb; i++) {
		struct hnode *n = m->b[i], *next;
		for (; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

void hmap_put(struct hmap *m, struct hnode *node, const char *key)
{
	node->key = key;
	node->hash = hmap_hash(key);
	if (m->n >= m->nb)
		hmap_grow(m);
	struct hnode **head = &m->b[node->hash & (m->nb - 1)];
	node->next = *head;
	*head = node;
	m->n++;
}

void hmap_del(struct hmap *m, struct hnode *node)
{
	struct hnode **p = &m->b[node->hash & (m->nb - 1)];

	for (; *p; p = &(*p)->next)
		if (*p == node) {
			*p = node->next;
			m->n--;
			return;
		}
}

void hmap_fini(struct hmap *m)
{
	free(m->b);
	m->b = NULL;
	m->nb = m->n = 0;
}
