/* roles_index.c - the role calculator's indexes (calico-semantics A.5; the
 * overview and the cost model are in roles.c): the identity keys that name
 * endpoints and LiveMigrations, the identity key -> items hash indexes
 * (src_idx, tgt_idx, ep_idx, sel_idx), the cache of endpoints by the value of
 * a required label (lab_idx), and the walk over the endpoints a selector can
 * match. Kept apart because they answer "who is named by what" and know
 * nothing of the role rules (roles_eval.c) or of the operations that keep
 * them (roles.c, roles_lm.c). roles_idx_prepare()/roles_idx_add() split every insertion
 * into a fallible and an infallible half, for the operations' "allocate
 * everything, then mutate" rule. */
#include "core/roles_internal.h"

#include <stdio.h>

/* ---- identity keys ---------------------------------------------------------- */

/* An identity that names nothing (no workload) is not tracked: Felix tolerates
 * LiveMigrations with empty identifiers without acting on them. */
bool ident_tracked(const struct wep_ident *id)
{
	return id->workload && *id->workload;
}

/* Length-prefixed fields, so that no field content can forge another key.
 * The k8s rule is applied again here because a caller may have filled the
 * struct by hand rather than through wep_ident_set(). */
char *ident_key(const struct wep_ident *id, bool workload_level)
{
	const char *orch = id->orchestrator ? id->orchestrator : "";
	const char *host = id->hostname && strcmp(orch, "k8s") ? id->hostname : "";
	const char *wl = id->workload ? id->workload : "";
	const char *ep = !workload_level && id->endpoint ? id->endpoint : "";
	const char *fmt = "%zu:%s|%zu:%s|%zu:%s|%zu:%s";
	int len = snprintf(NULL, 0, fmt, strlen(host), host, strlen(orch), orch, strlen(wl), wl,
	                   strlen(ep), ep);
	char *k = len < 0 ? NULL : malloc((size_t)len + 1);

	if (k)
		snprintf(k, (size_t)len + 1, fmt, strlen(host), host, strlen(orch), orch,
		         strlen(wl), wl, strlen(ep), ep);
	return k;
}

/* "<len>:<key>=<value>": a label pair as a hash key, unambiguous whatever
 * the key holds. Into `buf` when it fits, else malloc'd (*heap set). */
char *label_pair_key(const char *key, const char *value, char *buf, size_t size, char **heap)
{
	int len = snprintf(buf, size, "%zu:%s=%s", strlen(key), key, value);

	*heap = NULL;
	if (len < 0)
		return NULL;
	if ((size_t)len < size)
		return buf;
	if ((*heap = malloc((size_t)len + 1)))
		snprintf(*heap, (size_t)len + 1, "%zu:%s=%s", strlen(key), key, value);
	return *heap;
}

/* ---- index maintenance ------------------------------------------------------ */

void roles_idx_entry_free(struct idx_entry *e)
{
	if (!e)
		return;
	free(e->key);
	free(e->items.v);
	free(e);
}

/* Make roles_idx_add() of `key` infallible: room in the existing entry, and a fresh
 * entry in case the existing one is gone (emptied by a removal) by then. */
int roles_idx_prepare(struct hmap *m, const char *key, struct idx_entry **fresh)
{
	struct idx_entry *e = idx_get(m, key, hmap_hash(key));

	if (e && ptrvec_reserve(&e->items, 1) < 0)
		return -ENOMEM;
	*fresh = calloc(1, sizeof(**fresh));
	if (!*fresh)
		return -ENOMEM;
	(*fresh)->key = strdup(key);
	if (!(*fresh)->key || ptrvec_reserve(&(*fresh)->items, 1) < 0) {
		roles_idx_entry_free(*fresh);
		*fresh = NULL;
		return -ENOMEM;
	}
	return 0;
}

void roles_idx_add(struct hmap *m, const char *key, struct idx_entry **fresh, void *item)
{
	struct idx_entry *e = idx_get(m, key, hmap_hash(key));

	if (!e) {
		e = *fresh;
		*fresh = NULL;
		hmap_put(m, &e->node, e->key);
	}
	ptrvec_push(&e->items, item);
}

void roles_idx_remove(struct hmap *m, const char *key, void *item)
{
	struct idx_entry *e = idx_get(m, key, hmap_hash(key));

	if (!e)
		return;
	ptrvec_remove(&e->items, item);
	if (!e->items.n) {
		hmap_del(m, &e->node);
		roles_idx_entry_free(e);
	}
}

/* ---- endpoints by the value of a required label ------------------------------
 *
 * A selector with a required test `key == 'value'` can only match endpoints
 * carrying that pair. lab_idx lists them for every key some selector has
 * required (in practice one: kubevirt.io/migrationJobUID), so registering or
 * dropping a migration's selector visits its one or two pods, not the node's
 * thousands. It is a cache: when an allocation for it fails, lab_broken
 * stops its use for good and the operations scan all endpoints again. */

static bool lab_covers(const struct roles *r, const char *key)
{
	for (size_t i = 0; i < r->nreq_keys; i++)
		if (!strcmp(r->req_keys[i], key))
			return true;
	return false;
}

static void lab_put(struct roles *r, const char *key, const char *value, struct ep_entry *ep)
{
	char buf[256], *heap;
	const char *k = label_pair_key(key, value, buf, sizeof(buf), &heap);
	struct idx_entry *fresh = NULL;

	if (!k || roles_idx_prepare(&r->lab_idx, k, &fresh) < 0)
		r->lab_broken = true;
	else
		roles_idx_add(&r->lab_idx, k, &fresh, ep);
	roles_idx_entry_free(fresh);
	free(heap);
}

static void lab_drop(struct roles *r, const char *key, const char *value, struct ep_entry *ep)
{
	char buf[256], *heap;
	const char *k = label_pair_key(key, value, buf, sizeof(buf), &heap);

	if (!k)
		r->lab_broken = true; /* ep may stay listed: never read lab_idx again */
	else
		roles_idx_remove(&r->lab_idx, k, ep);
	free(heap);
}

/* The endpoint's covered labels went from `from` to `to` (either may be NULL). */
void roles_lab_update(struct roles *r, struct ep_entry *ep, const struct labels *from,
                      const struct labels *to)
{
	for (size_t i = 0; i < r->nreq_keys && !r->lab_broken; i++) {
		const char *k = r->req_keys[i];
		const char *a = from ? labels_get(from, k) : NULL,
		           *b = to ? labels_get(to, k) : NULL;
		if (streq_null(a, b))
			continue;
		if (a)
			lab_drop(r, k, a, ep);
		if (b)
			lab_put(r, k, b, ep);
	}
}

/* Cover `key` from now on: list every endpoint carrying it, once. */
void roles_lab_track(struct roles *r, const char *key)
{
	char **v;
	char *dup;

	if (r->lab_broken || lab_covers(r, key))
		return;
	v = realloc(r->req_keys, (r->nreq_keys + 1) * sizeof(*v));
	dup = strdup(key);
	if (v)
		r->req_keys = v;
	if (!v || !dup) {
		free(dup);
		r->lab_broken = true;
		return;
	}
	r->req_keys[r->nreq_keys++] = dup;
	hmap_foreach(&r->eps, n)
	{
		struct ep_entry *ep = container_of(n, struct ep_entry, node);
		const char *val = labels_get(&ep->labels, key);
		if (val)
			lab_put(r, key, val, ep);
	}
}

void roles_ep_iter_init(struct ep_iter *it, struct roles *r, const struct sel_entry *s)
{
	memset(it, 0, sizeof(*it));
	it->eps = &r->eps;
	it->scan = !s->idx_key || r->lab_broken || !lab_covers(r, s->req_key);
	if (!it->scan)
		it->listed = idx_get(&r->lab_idx, s->idx_key, hmap_hash(s->idx_key));
}

struct ep_entry *roles_ep_iter_next(struct ep_iter *it)
{
	if (!it->scan)
		return it->listed && it->i < it->listed->items.n ? it->listed->items.v[it->i++]
		                                                 : NULL;
	while (!it->n && it->i < it->eps->nb)
		it->n = it->eps->b[it->i++];
	if (!it->n)
		return NULL;
	struct hnode *n = it->n;
	it->n = n->next;
	return container_of(n, struct ep_entry, node);
}
