/* roles_eval.c - the role rules of calico-semantics A.5 and the emission of
 * role changes (the overview is in roles.c). Every operation marks the
 * endpoints whose inputs it changed; roles_emit_changes() re-evaluates exactly those,
 * in key order, and reports an endpoint only when its role differs from the
 * one last reported. Kept apart from the indexes it reads (roles_index.c) and
 * the operations that mark (roles.c, roles_lm.c): this file is the one place
 * that decides a role. */
#include "core/roles_internal.h"

/* ---- evaluation --------------------------------------------------------------- */

void roles_mark(struct roles *r, struct ep_entry *ep)
{
	if (ep->affected)
		return;
	ep->affected = true;
	ptrvec_push(&r->affected, ep); /* capacity covers every endpoint */
}

/* Mark the endpoints an identity key names (exactly, or as their workload). */
void roles_mark_named(struct roles *r, const char *key)
{
	struct idx_entry *e = idx_get(&r->ep_idx, key, hmap_hash(key));

	for (size_t i = 0; e && i < e->items.n; i++)
		roles_mark(r, e->items.v[i]);
}

void roles_unmark_all(struct roles *r)
{
	for (size_t i = 0; i < r->affected.n; i++)
		((struct ep_entry *)r->affected.v[i])->affected = false;
	r->affected.n = 0;
}

/* Raise *best to the greatest uid among the LiveMigrations indexed under
 * `key`; false when there are none. Greatest, not latest: overlapping
 * migrations must give the same uid whatever the event order (A.6 #6). */
static bool idx_max_uid(const struct hmap *idx, const char *key, uint64_t hash, const char **best)
{
	struct idx_entry *e = idx_get(idx, key, hash);

	for (size_t i = 0; e && i < e->items.n; i++) {
		const struct lm_entry *lm = e->items.v[i];
		if (strcmp(lm->uid, *best) > 0)
			*best = lm->uid;
	}
	return e && e->items.n;
}

/* The role rules of A.5, first hit wins. */
enum lm_role roles_ep_eval(const struct roles *r, const struct ep_entry *ep, const char **uid)
{
	const char *best = "";
	enum lm_role role = LM_ROLE_NONE;

	if (ep->sels.n) {
		for (size_t i = 0; i < ep->sels.n; i++) {
			const struct sel_entry *s = ep->sels.v[i];
			for (size_t j = 0; j < s->owners.n; j++) {
				const struct lm_entry *lm = s->owners.v[j];
				if (strcmp(lm->uid, best) > 0)
					best = lm->uid;
			}
		}
		role = LM_ROLE_TARGET;
	} else {
		bool exact = idx_max_uid(&r->tgt_idx, ep->id_key, ep->id_hash, &best);
		bool wl = idx_max_uid(&r->tgt_idx, ep->wl_key, ep->wl_hash, &best);
		if (exact || wl) {
			role = LM_ROLE_TARGET;
		} else {
			exact = idx_max_uid(&r->src_idx, ep->id_key, ep->id_hash, &best);
			wl = idx_max_uid(&r->src_idx, ep->wl_key, ep->wl_hash, &best);
			if (exact || wl)
				role = LM_ROLE_SOURCE;
		}
	}
	if (uid)
		*uid = best;
	return role;
}

static int role_events_push(struct role_events *ev, const char *key, enum lm_role role,
                            const char *uid)
{
	if (ev->n == ev->cap) {
		size_t cap = ev->cap ? ev->cap * 2 : 8;
		struct role_event *v = realloc(ev->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		ev->v = v;
		ev->cap = cap;
	}
	char *k = strdup(key), *u = strdup(uid);
	if (!k || !u) {
		free(k);
		free(u);
		return -ENOMEM;
	}
	ev->v[ev->n++] = (struct role_event){.endpoint_key = k, .role = role, .uid = u};
	return 0;
}

static int ep_cmp_key(const void *a, const void *b)
{
	const struct ep_entry *x = *(const struct ep_entry *const *)a;
	const struct ep_entry *y = *(const struct ep_entry *const *)b;
	return strcmp(x->key, y->key);
}

/* Re-evaluate the affected endpoints in key order; report role changes. */
int roles_emit_changes(struct roles *r, struct role_events *out)
{
	int rc = 0;

	if (r->affected.n > 1) /* qsort(NULL, 0) is undefined */
		qsort(r->affected.v, r->affected.n, sizeof(void *), ep_cmp_key);
	for (size_t i = 0; i < r->affected.n; i++) {
		struct ep_entry *ep = r->affected.v[i];
		const char *uid;
		enum lm_role role = roles_ep_eval(r, ep, &uid);

		ep->affected = false;
		if (role == ep->role)
			continue; /* a uid-only change is not an event (A.5) */
		if (out && role_events_push(out, ep->key, role, uid) < 0) {
			rc = -ENOMEM;
			continue;
		}
		ep->role = role;
	}
	r->affected.n = 0;
	return rc;
}
