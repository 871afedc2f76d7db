/* routes_sets.c - the route syncer's keys and its two hash sets (routes.c
 * has the overview): `kern`, the kernel's routes of our protocol keyed by
 * (family, dst, prefix length, metric), chained; and `wants`, the last plan's
 * routes with metric > 0, an array with an open-addressing index on (family,
 * dst). Plain data, no I/O: kept apart from the netlink code that fills them
 * (routes_kernel.c) and the reconciliation that compares them (routes_sync.c). */
#define _GNU_SOURCE
#include "dataplane/routes_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ull;
	}
	return h;
}

uint64_t rs_dst_hash(uint8_t family, const uint8_t *addr)
{
	uint64_t h = fnv(14695981039346656037ull, &family, 1);
	return fnv(h, addr, addr_len(family));
}

static uint64_t rkey_hash(const struct rkey *k)
{
	uint64_t h = rs_dst_hash(k->family, k->addr);
	h = fnv(h, &k->plen, 1);
	return fnv(h, &k->metric, sizeof(k->metric));
}

static bool rkey_equal(const struct rkey *a, const struct rkey *b)
{
	return a->family == b->family && a->plen == b->plen && a->metric == b->metric &&
	       !memcmp(a->addr, b->addr, addr_len(a->family));
}

void rs_rkey_format(const struct rkey *k, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(k->family, k->addr, a, sizeof(a));
	snprintf(out, len, "%s/%u", a, k->plen);
}

struct kroute *rs_kset_get(const struct kset *s, const struct rkey *k)
{
	if (!s->nb)
		return NULL;
	for (struct kroute *e = s->b[rkey_hash(k) & (s->nb - 1)]; e; e = e->next)
		if (rkey_equal(&e->k, k))
			return e;
	return NULL;
}

static int kset_grow(struct kset *s)
{
	size_t nb = s->nb ? s->nb * 2 : 64;
	struct kroute **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < s->nb; i++) {
		struct kroute *e = s->b[i], *next;
		for (; e; e = next) {
			next = e->next;
			size_t h = rkey_hash(&e->k) & (nb - 1);
			e->next = b[h];
			b[h] = e;
		}
	}
	free(s->b);
	s->b = b;
	s->nb = nb;
	return 0;
}

/* Insert or update (oif). */
int rs_kset_put(struct kset *s, const struct rkey *k, int oif)
{
	struct kroute *e = rs_kset_get(s, k);

	if (e) {
		e->oif = oif;
		return 0;
	}
	if (s->n >= s->nb && kset_grow(s) < 0)
		return -ENOMEM;
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->k = *k;
	e->oif = oif;
	size_t h = rkey_hash(k) & (s->nb - 1);
	e->next = s->b[h];
	s->b[h] = e;
	s->n++;
	return 0;
}

void rs_kset_del(struct kset *s, const struct rkey *k)
{
	if (!s->nb)
		return;
	for (struct kroute **pp = &s->b[rkey_hash(k) & (s->nb - 1)]; *pp; pp = &(*pp)->next) {
		if (rkey_equal(&(*pp)->k, k)) {
			struct kroute *e = *pp;
			*pp = e->next;
			free(e);
			s->n--;
			return;
		}
	}
}

void rs_kset_clear(struct kset *s)
{
	for (size_t i = 0; i < s->nb; i++) {
		struct kroute *e = s->b[i], *next;
		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(s->b);
	memset(s, 0, sizeof(*s));
}

struct want *rs_wset_get(const struct wset *s, uint8_t family, const uint8_t *addr)
{
	if (!s->nslot)
		return NULL;
	for (size_t i = rs_dst_hash(family, addr) & (s->nslot - 1);; i = (i + 1) & (s->nslot - 1)) {
		uint32_t j = s->slot[i];
		if (!j)
			return NULL;
		struct want *w = &s->v[j - 1];
		if (w->k.family == family && !memcmp(w->k.addr, addr, addr_len(family)))
			return w;
	}
}

void rs_wset_free(struct wset *s)
{
	free(s->v);
	free(s->slot);
	memset(s, 0, sizeof(*s));
}
