/* roles.c - the LiveMigration role calculator (calico-semantics A.5).
 *
 * Felix keeps, per endpoint, the sets of LiveMigrations naming it; here the
 * role is derived on demand from indexes, so there is one source of truth:
 *
 *   src_idx, tgt_idx  identity key -> LiveMigrations naming it as source/target
 *   ep_idx            identity key -> endpoints it names (exact id, and the
 *                     workload-level id: endpoint cleared)
 *   ep->sels          the registered target selectors matching the endpoint
 *   sels              selector text -> parsed selector + the LiveMigrations
 *                     using it (reference count shared across LiveMigrations)
 *   sel_idx, sel_any  the selectors by a `key == 'value'` test every match
 *                     needs (KubeVirt's kubevirt.io/migrationJobUID), and
 *                     those without one
 *
 * Every operation marks the endpoints whose inputs it changed ("affected"),
 * then re-evaluates exactly those, in key order, and emits an event where the
 * role differs from the last one emitted. A state that only exists inside one
 * operation (selector A replaced by B, both matching) therefore never shows.
 *
 *   lab_idx           for each label key some selector has required, the
 *                     endpoints by "key=value" (a cache; see lab_track)
 *
 * Cost: an endpoint or a LiveMigration naming endpoints directly costs a few
 * hash lookups. Registering or dropping a selector with a required test
 * visits the endpoints lab_idx lists under that test (one scan of all the
 * endpoints the first time a key is required); one without a test scans the
 * endpoints. A new or relabelled endpoint is matched against the selectors
 * indexed under one of its labels and those without a required test.
 *
 * Memory: each operation first allocates all it may need, then mutates
 * without failing, so -ENOMEM leaves the calculator as it was. Only appending
 * to the caller's event list can fail after that; the endpoint then keeps its
 * old role as "last emitted" and the change is reported at its next
 * evaluation.
 *
 * Files (roles_internal.h holds what they share): roles.c the endpoints,
 * queries, lifetime and event lists; roles_index.c the identity keys, the
 * indexes and the lab_idx cache; roles_eval.c the role rules and the emission
 * of changes; roles_lm.c the LiveMigrations and their target selectors. */
#include "core/roles_internal.h"

#include "core/selector.h"

/* ---- endpoints ------------------------------------------------------------------------- */

static struct ep_entry *ep_lookup(const struct roles *r, const char *key)
{
	struct hnode *n = hmap_get(&r->eps, key, hmap_hash(key));
	return n ? container_of(n, struct ep_entry, node) : NULL;
}

static void ep_entry_free(struct ep_entry *ep)
{
	if (!ep)
		return;
	free(ep->key);
	wep_ident_free(&ep->id);
	labels_free(&ep->labels);
	free(ep->id_key);
	free(ep->wl_key);
	free(ep->sels.v);
	free(ep);
}

static int match_one(const struct sel_entry *s, const struct labels *labels, struct ptrvec *out)
{
	if (!selector_match(s->parsed, labels))
		return 0;
	if (ptrvec_reserve(out, 1) < 0)
		return -ENOMEM;
	ptrvec_push(out, (void *)s);
	return 0;
}

/* The registered selectors matching `labels`, into an empty vector: those
 * indexed under one of the labels, and those without a required test. Each
 * selector sits under one pair and a label set has each key once, so none
 * is found twice. */
static int match_selectors(const struct roles *r, const struct labels *labels, struct ptrvec *out)
{
	for (size_t i = 0; i < labels->n && r->sel_idx.n; i++) {
		char buf[256], *heap;
		const char *k =
		    label_pair_key(labels->v[i].key, labels->v[i].value, buf, sizeof(buf), &heap);
		if (!k)
			return -ENOMEM;
		struct idx_entry *e = idx_get(&r->sel_idx, k, hmap_hash(k));
		free(heap);
		for (size_t j = 0; e && j < e->items.n; j++)
			if (match_one(e->items.v[j], labels, out) < 0)
				return -ENOMEM;
	}
	for (size_t i = 0; i < r->sel_any.n; i++)
		if (match_one(r->sel_any.v[i], labels, out) < 0)
			return -ENOMEM;
	return 0;
}

int roles_ep_upsert(struct roles *r, const char *key, const struct wep_ident *id,
                    const struct labels *labels, struct role_events *out)
{
	struct ep_entry *ep = ep_lookup(r, key), *fresh = NULL;
	struct wep_ident nid = {0};
	struct labels nlab = {0};
	struct ptrvec nsels = {0};
	struct idx_entry *fresh_id = NULL, *fresh_wl = NULL;
	char *id_key = NULL, *wl_key = NULL;
	bool id_changed, wl_changed, labels_changed;
	int rc = -ENOMEM;

	/* Prepare. */
	if (wep_ident_set(&nid, id->hostname, id->orchestrator, id->workload, id->endpoint) < 0)
		goto done;
	if (!(id_key = ident_key(&nid, false)))
		goto done;
	if (*nid.endpoint && !(wl_key = ident_key(&nid, true)))
		goto done;
	if (labels && labels_copy(&nlab, labels) < 0)
		goto done;
	if (!ep) {
		if (ptrvec_reserve(&r->affected, r->eps.n + 1 - r->affected.n) < 0)
			goto done;
		if (!(fresh = calloc(1, sizeof(*fresh))) || !(fresh->key = strdup(key)))
			goto done;
	}
	id_changed = !ep || strcmp(ep->id_key, id_key);
	wl_changed = !ep || !streq_null(ep->wl_key, wl_key);
	labels_changed = !ep || !labels_equal(&ep->labels, &nlab);
	if (id_changed && roles_idx_prepare(&r->ep_idx, id_key, &fresh_id) < 0)
		goto done;
	if (wl_changed && wl_key && roles_idx_prepare(&r->ep_idx, wl_key, &fresh_wl) < 0)
		goto done;
	/* Felix re-matches through selector callbacks; here a label change
	 * re-matches every registered selector. */
	if (labels_changed && match_selectors(r, &nlab, &nsels) < 0)
		goto done;

	/* Commit. */
	if (!ep) {
		ep = fresh;
		fresh = NULL;
		hmap_put(&r->eps, &ep->node, ep->key);
	}
	/* Removals before additions: roles_idx_prepare() made the additions safe
	 * even when a removal empties and frees the entry they would use. */
	if (id_changed && ep->id_key)
		roles_idx_remove(&r->ep_idx, ep->id_key, ep);
	if (wl_changed && ep->wl_key)
		roles_idx_remove(&r->ep_idx, ep->wl_key, ep);
	if (id_changed) {
		free(ep->id_key);
		ep->id_key = id_key;
		id_key = NULL;
		ep->id_hash = hmap_hash(ep->id_key);
		roles_idx_add(&r->ep_idx, ep->id_key, &fresh_id, ep);
	}
	if (wl_changed) {
		free(ep->wl_key);
		ep->wl_key = wl_key;
		wl_key = NULL;
		ep->wl_hash = ep->wl_key ? hmap_hash(ep->wl_key) : 0;
		if (ep->wl_key)
			roles_idx_add(&r->ep_idx, ep->wl_key, &fresh_wl, ep);
	}
	wep_ident_free(&ep->id);
	ep->id = nid;
	memset(&nid, 0, sizeof(nid));
	if (labels_changed) {
		struct labels lt = ep->labels;
		struct ptrvec st = ep->sels;
		ep->labels = nlab;
		nlab = lt;
		ep->sels = nsels;
		nsels = st;
		roles_lab_update(r, ep, &nlab, &ep->labels);
	}
	/* First sight starts from NONE, so only another role is emitted. */
	roles_mark(r, ep);
	rc = roles_emit_changes(r, out);

done:
	wep_ident_free(&nid);
	labels_free(&nlab);
	free(nsels.v);
	free(id_key);
	free(wl_key);
	roles_idx_entry_free(fresh_id);
	roles_idx_entry_free(fresh_wl);
	ep_entry_free(fresh);
	return rc;
}

void roles_ep_delete(struct roles *r, const char *key)
{
	struct ep_entry *ep = ep_lookup(r, key);

	if (!ep)
		return;
	roles_idx_remove(&r->ep_idx, ep->id_key, ep);
	if (ep->wl_key)
		roles_idx_remove(&r->ep_idx, ep->wl_key, ep);
	roles_lab_update(r, ep, &ep->labels, NULL);
	hmap_del(&r->eps, &ep->node);
	ep_entry_free(ep);
}

enum lm_role roles_get(const struct roles *r, const char *key, const char **uid)
{
	struct ep_entry *ep = ep_lookup(r, key);

	if (!ep) {
		if (uid)
			*uid = "";
		return LM_ROLE_NONE;
	}
	return roles_ep_eval(r, ep, uid);
}

/* ---- lifetime and event lists ----------------------------------------------------------- */

struct roles *roles_new(void)
{
	struct roles *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	if (hmap_init(&r->lms) < 0 || hmap_init(&r->eps) < 0 || hmap_init(&r->sels) < 0 ||
	    hmap_init(&r->sel_idx) < 0 || hmap_init(&r->src_idx) < 0 ||
	    hmap_init(&r->tgt_idx) < 0 || hmap_init(&r->ep_idx) < 0 || hmap_init(&r->lab_idx) < 0) {
		roles_free(r);
		return NULL;
	}
	return r;
}

void roles_free(struct roles *r)
{
	if (!r)
		return;
		/* Unlink while walking: read `next` before freeing each record. */
#define FREE_ALL(m, type, fn)                                                                      \
	for (size_t i = 0; (m)->b && i < (m)->nb; i++) {                                           \
		struct hnode *n = (m)->b[i], *next;                                                \
		for (; n; n = next) {                                                              \
			next = n->next;                                                            \
			fn(container_of(n, type, node));                                           \
		}                                                                                  \
	}                                                                                          \
	free((m)->b)
	FREE_ALL(&r->lms, struct lm_entry, lm_entry_free);
	FREE_ALL(&r->eps, struct ep_entry, ep_entry_free);
	FREE_ALL(&r->sels, struct sel_entry, sel_free);
	FREE_ALL(&r->src_idx, struct idx_entry, roles_idx_entry_free);
	FREE_ALL(&r->tgt_idx, struct idx_entry, roles_idx_entry_free);
	FREE_ALL(&r->ep_idx, struct idx_entry, roles_idx_entry_free);
	FREE_ALL(&r->sel_idx, struct idx_entry, roles_idx_entry_free);
	FREE_ALL(&r->lab_idx, struct idx_entry, roles_idx_entry_free);
#undef FREE_ALL
	for (size_t i = 0; i < r->nreq_keys; i++)
		free(r->req_keys[i]);
	free(r->req_keys);
	free(r->sel_any.v);
	free(r->affected.v);
	free(r);
}

const char *lm_role_name(enum lm_role role)
{
	switch (role) {
	case LM_ROLE_SOURCE:
		return "SOURCE";
	case LM_ROLE_TARGET:
		return "TARGET";
	case LM_ROLE_NONE:
		break;
	}
	return "NONE";
}

void role_events_clear(struct role_events *ev)
{
	for (size_t i = 0; i < ev->n; i++) {
		free(ev->v[i].endpoint_key);
		free(ev->v[i].uid);
	}
	ev->n = 0;
}

void role_events_free(struct role_events *ev)
{
	role_events_clear(ev);
	free(ev->v);
	memset(ev, 0, sizeof(*ev));
}
