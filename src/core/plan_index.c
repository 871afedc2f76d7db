/* plan_index.c - three sorted arrays of (part, position) references, one per
 * list of the plan. Adding or removing an entry is a binary search and a
 * memmove; with a few thousand endpoints that is microseconds, against the
 * milliseconds a full sort of the node's plan costs on every loop iteration.
 * Most changes of a part keep every entry's sort key (a metric changes, a
 * capture opens): plan_index_replace() then leaves those arrays alone, which
 * spares two memmoves of the whole array per entry. */
#include "core/plan_index.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct ref {
	const struct plan *part;
	size_t j; /* index into the part's routes, arps or captures */
};

typedef int (*ref_cmp)(const struct ref *a, const struct ref *b);

struct refs {
	struct ref *v;
	size_t n, cap;
	ref_cmp cmp;
};

struct plan_index {
	struct refs routes, arps, captures;
	bool broken; /* an add ran out of memory */
};

static int route_cmp(const struct ref *a, const struct ref *b)
{
	return plan_route_order(&a->part->routes[a->j], &b->part->routes[b->j]);
}

static int arp_cmp(const struct ref *a, const struct ref *b)
{
	return plan_arp_order(&a->part->arps[a->j], &b->part->arps[b->j]);
}

static int capture_cmp(const struct ref *a, const struct ref *b)
{
	return plan_capture_order(&a->part->captures[a->j], &b->part->captures[b->j]);
}

struct plan_index *plan_index_new(void)
{
	struct plan_index *ix = calloc(1, sizeof(*ix));

	if (ix) {
		ix->routes.cmp = route_cmp;
		ix->arps.cmp = arp_cmp;
		ix->captures.cmp = capture_cmp;
	}
	return ix;
}

void plan_index_free(struct plan_index *ix)
{
	if (!ix)
		return;
	free(ix->routes.v);
	free(ix->arps.v);
	free(ix->captures.v);
	free(ix);
}

/* The first position whose entry does not sort before `key` (upper: after). */
static size_t bound(const struct refs *r, const struct ref *key, bool upper)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = r->cmp(&r->v[mid], key);
		if (c < 0 || (upper && c == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void refs_remove(struct refs *r, const struct ref *key)
{
	/* Among the entries equal to key, the very one. */
	for (size_t i = bound(r, key, false); i < r->n && !r->cmp(&r->v[i], key); i++)
		if (r->v[i].part == key->part && r->v[i].j == key->j) {
			memmove(&r->v[i], &r->v[i + 1], (r->n - i - 1) * sizeof(*r->v));
			r->n--;
			return;
		}
}

static int refs_insert(struct refs *r, const struct ref *key)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct ref *v = realloc(r->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	size_t i = bound(r, key, true);
	memmove(&r->v[i + 1], &r->v[i], (r->n - i) * sizeof(*r->v));
	r->v[i] = *key;
	r->n++;
	return 0;
}

/* Would the entries of one list of `fresh` sort exactly where those of `old`
 * do, entry by entry? Then every reference (part, j) into that list stays in
 * order once the part holds fresh. */
static bool routes_in_place(const struct plan *old, const struct plan *fresh)
{
	if (old->nroutes != fresh->nroutes)
		return false;
	for (size_t j = 0; j < old->nroutes; j++)
		if (plan_route_order(&old->routes[j], &fresh->routes[j]))
			return false;
	return true;
}

static bool arps_in_place(const struct plan *old, const struct plan *fresh)
{
	if (old->narps != fresh->narps)
		return false;
	for (size_t j = 0; j < old->narps; j++)
		if (plan_arp_order(&old->arps[j], &fresh->arps[j]))
			return false;
	return true;
}

static bool captures_in_place(const struct plan *old, const struct plan *fresh)
{
	if (old->ncaptures != fresh->ncaptures)
		return false;
	for (size_t j = 0; j < old->ncaptures; j++)
		if (plan_capture_order(&old->captures[j], &fresh->captures[j]))
			return false;
	return true;
}

/* Each list on its own: a capture that opens moves no route. */
int plan_index_replace(struct plan_index *ix, struct plan *part, struct plan *fresh)
{
	bool routes = routes_in_place(part, fresh), arps = arps_in_place(part, fresh);
	bool captures = captures_in_place(part, fresh);
	int r = 0;

	for (size_t j = 0; !routes && j < part->nroutes; j++)
		refs_remove(&ix->routes, &(struct ref){part, j});
	for (size_t j = 0; !arps && j < part->narps; j++)
		refs_remove(&ix->arps, &(struct ref){part, j});
	for (size_t j = 0; !captures && j < part->ncaptures; j++)
		refs_remove(&ix->captures, &(struct ref){part, j});
	plan_free(part);
	*part = *fresh;
	memset(fresh, 0, sizeof(*fresh));
	for (size_t j = 0; !routes && !r && j < part->nroutes; j++)
		r = refs_insert(&ix->routes, &(struct ref){part, j});
	for (size_t j = 0; !arps && !r && j < part->narps; j++)
		r = refs_insert(&ix->arps, &(struct ref){part, j});
	for (size_t j = 0; !captures && !r && j < part->ncaptures; j++)
		r = refs_insert(&ix->captures, &(struct ref){part, j});
	if (r)
		ix->broken = true;
	return r;
}

/* Copy a key into the plan's pool; returns the copy. */
static const char *pool_put(struct plan *out, const char *key)
{
	size_t n = strlen(key) + 1;
	char *at = out->keys + out->keys_len;

	memcpy(at, key, n);
	out->keys_len += n;
	return at;
}

int plan_index_build(const struct plan_index *ix, struct plan *out)
{
	size_t keys_len = 0, naddrs = 0;

	memset(out, 0, sizeof(*out));
	if (ix->broken)
		return -ENOMEM;
	/* Each route and capture carries its own copy of its endpoint's key. */
	for (size_t i = 0; i < ix->routes.n; i++) {
		const struct ref *r = &ix->routes.v[i];
		keys_len += strlen(r->part->routes[r->j].endpoint_key) + 1;
	}
	for (size_t i = 0; i < ix->captures.n; i++) {
		const struct ref *r = &ix->captures.v[i];
		keys_len += strlen(r->part->captures[r->j].endpoint_key) + 1;
	}
	for (size_t i = 0; i < ix->arps.n; i++)
		naddrs += ix->arps.v[i].part->arps[ix->arps.v[i].j].naddrs;
	out->routes = malloc((ix->routes.n + 1) * sizeof(*out->routes));
	out->arps = calloc(ix->arps.n + 1, sizeof(*out->arps));
	out->captures = malloc((ix->captures.n + 1) * sizeof(*out->captures));
	out->keys = malloc(keys_len + 1);
	out->addr_pool = malloc((naddrs + 1) * sizeof(*out->addr_pool));
	if (!out->routes || !out->arps || !out->captures || !out->keys || !out->addr_pool)
		goto nomem;
	for (size_t i = 0; i < ix->routes.n; i++) {
		const struct ref *r = &ix->routes.v[i];
		out->routes[i] = r->part->routes[r->j];
		out->routes[i].endpoint_key = pool_put(out, out->routes[i].endpoint_key);
	}
	out->nroutes = ix->routes.n;
	for (size_t i = 0; i < ix->captures.n; i++) {
		const struct ref *r = &ix->captures.v[i];
		out->captures[i] = r->part->captures[r->j];
		out->captures[i].endpoint_key = pool_put(out, out->captures[i].endpoint_key);
	}
	out->ncaptures = ix->captures.n;
	naddrs = 0;
	for (size_t i = 0; i < ix->arps.n; i++) {
		const struct plan_arp *src = &ix->arps.v[i].part->arps[ix->arps.v[i].j];
		struct plan_arp *a = &out->arps[i];
		memcpy(a->ifname, src->ifname, sizeof(a->ifname));
		a->addrs = out->addr_pool + naddrs;
		memcpy(a->addrs, src->addrs, src->naddrs * sizeof(*a->addrs));
		a->naddrs = src->naddrs;
		naddrs += src->naddrs;
	}
	out->narps = ix->arps.n;
	return 0;
nomem:
	plan_free(out);
	return -ENOMEM;
}
