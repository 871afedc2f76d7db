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
 * Files (roles_internal.h holds what they share): this one has the endpoints,
 * queries, lifetime and event lists; roles_index.c the identity keys, indexes
 * and the required-label cache;
 * roles_eval.c the role rules and the emission of changes. */
#include "core/roles_internal.h"

#include "core/selector.h"

/* ---- selectors ------------------------------------------------------------------ */

static void sel_free(struct sel_entry *s)
{
	if (!s)
		return;
	free(s->text);
	free(s->idx_key);
	selector_free(s->parsed);
	free(s->owners.v);
	free(s);
}

/* Drop one LiveMigration's reference; the last one unregisters the selector
 * and releases the endpoints it matched. */
static void sel_unref(struct roles *r, struct sel_entry *s, struct lm_entry *lm)
{
	ptrvec_remove(&s->owners, lm);
	if (s->owners.n)
		return;
	struct ep_iter it;
	struct ep_entry *ep;
	ep_iter_init(&it, r, s);
	while ((ep = ep_iter_next(&it)))
		/* Only an endpoint passing the required test can hold s. */
		if (sel_may_match(s, &ep->labels) && ptrvec_remove(&ep->sels, s))
			mark(r, ep);
	if (s->idx_key)
		idx_remove(&r->sel_idx, s->idx_key, s);
	else
		ptrvec_remove(&r->sel_any, s);
	hmap_del(&r->sels, &s->node);
	sel_free(s);
}

/* ---- LiveMigrations -------------------------------------------------------------- */

static void lm_entry_free(struct lm_entry *e)
{
	if (!e)
		return;
	free(e->key);
	free(e->uid);
	free(e->src_key);
	free(e->tgt_key);
	free(e);
}

static char *join_key(const char *ns, const char *name)
{
	size_t a = strlen(ns), b = strlen(name);
	char *k = malloc(a + b + 2);

	if (k) {
		memcpy(k, ns, a);
		k[a] = '/';
		memcpy(k + a + 1, name, b + 1);
	}
	return k;
}

static struct lm_entry *lm_lookup(const struct roles *r, const char *key)
{
	struct hnode *n = hmap_get(&r->lms, key, hmap_hash(key));
	return n ? container_of(n, struct lm_entry, node) : NULL;
}

/* Move an LM's reference in `idx` from its old identity key to `*new_key`
 * (either may be NULL), marking the endpoints both name. Takes `*new_key`. */
static void lm_move_ref(struct roles *r, struct hmap *idx, struct lm_entry *e, char **slot,
                        char **new_key, struct idx_entry **fresh)
{
	if (*slot) {
		idx_remove(idx, *slot, e);
		mark_named(r, *slot);
		free(*slot);
	}
	*slot = *new_key;
	*new_key = NULL;
	if (*slot) {
		idx_add(idx, *slot, fresh, e);
		mark_named(r, *slot);
	}
}

int roles_lm_upsert(struct roles *r, const struct live_migration *lm, struct role_events *out,
                    struct herr *err)
{
	const char *ns = lm->ns ? lm->ns : "", *name = lm->name ? lm->name : "";
	const char *text = lm->target_selector && *lm->target_selector ? lm->target_selector : NULL;
	char *key = join_key(ns, name), *uid = strdup(lm->uid ? lm->uid : "");
	char *src_key = NULL, *tgt_key = NULL;
	struct lm_entry *e = NULL, *fresh_lm = NULL;
	struct sel_entry *sel = NULL, *fresh_sel = NULL;
	struct idx_entry *fresh_src = NULL, *fresh_tgt = NULL, *fresh_si = NULL;
	size_t matched = 0; /* endpoints a newly registered selector matches */
	bool src_changed, tgt_changed;
	int rc = -ENOMEM;

	/* Prepare: everything that can fail happens before any change. */
	if (!key || !uid)
		goto fail;
	if (lm->has_source && ident_tracked(&lm->source) &&
	    !(src_key = ident_key(&lm->source, false)))
		goto fail;
	if (lm->has_target && ident_tracked(&lm->target) &&
	    !(tgt_key = ident_key(&lm->target, false)))
		goto fail;
	e = lm_lookup(r, key);
	if (!e && !(fresh_lm = calloc(1, sizeof(*fresh_lm))))
		goto fail;

	if (text) {
		struct hnode *n = hmap_get(&r->sels, text, hmap_hash(text));
		sel = n ? container_of(n, struct sel_entry, node) : NULL;
	}
	if (text && !sel) {
		struct selector *parsed = NULL;
		rc = selector_parse(text, &parsed, err);
		if (rc < 0) {
			herr_prefix(err, "LiveMigration %s/%s: spec.target.selector: ", ns, name);
			goto fail;
		}
		rc = -ENOMEM;
		fresh_sel = calloc(1, sizeof(*fresh_sel));
		if (!fresh_sel) {
			selector_free(parsed);
			goto fail;
		}
		fresh_sel->parsed = parsed;
		if (!(fresh_sel->text = strdup(text)))
			goto fail;
		if (selector_required_eq(parsed, &fresh_sel->req_key, &fresh_sel->req_val)) {
			char *heap;
			if (!label_pair_key(fresh_sel->req_key, fresh_sel->req_val, NULL, 0, &heap))
				goto fail;
			fresh_sel->idx_key = heap;
			if (idx_prepare(&r->sel_idx, heap, &fresh_si) < 0)
				goto fail;
		} else if (ptrvec_reserve(&r->sel_any, 1) < 0) {
			goto fail;
		}
		/* A new selector is matched against every endpoint that can match
		 * it, once; the matches are the first entries of the affected list. */
		if (fresh_sel->idx_key)
			lab_track(r, fresh_sel->req_key);
		struct ep_iter it;
		struct ep_entry *ep;
		ep_iter_init(&it, r, fresh_sel);
		while ((ep = ep_iter_next(&it))) {
			if (!sel_may_match(fresh_sel, &ep->labels) ||
			    !selector_match(parsed, &ep->labels))
				continue;
			if (ptrvec_reserve(&ep->sels, 1) < 0)
				goto fail;
			mark(r, ep);
		}
		matched = r->affected.n;
		sel = fresh_sel;
	}
	if (sel && (!e || e->sel != sel) && ptrvec_reserve(&sel->owners, 1) < 0)
		goto fail;
	src_changed = !streq_null(e ? e->src_key : NULL, src_key);
	tgt_changed = !streq_null(e ? e->tgt_key : NULL, tgt_key);
	if (src_changed && src_key && idx_prepare(&r->src_idx, src_key, &fresh_src) < 0)
		goto fail;
	if (tgt_changed && tgt_key && idx_prepare(&r->tgt_idx, tgt_key, &fresh_tgt) < 0)
		goto fail;

	/* Commit: nothing below fails. */
	if (!e) {
		e = fresh_lm;
		fresh_lm = NULL;
		e->key = key;
		key = NULL;
		hmap_put(&r->lms, &e->node, e->key);
	}
	/* Old reference out, new one in, for each of source and target
	 * independently (A.6 #1 re-referenced the old name). */
	if (src_changed)
		lm_move_ref(r, &r->src_idx, e, &e->src_key, &src_key, &fresh_src);
	if (tgt_changed)
		lm_move_ref(r, &r->tgt_idx, e, &e->tgt_key, &tgt_key, &fresh_tgt);
	if (e->sel != sel) {
		/* Unref the OLD selector (A.6 #2 dropped the new one). */
		if (e->sel)
			sel_unref(r, e->sel, e);
		if (sel == fresh_sel && sel) {
			hmap_put(&r->sels, &sel->node, sel->text);
			if (sel->idx_key)
				idx_add(&r->sel_idx, sel->idx_key, &fresh_si, sel);
			else
				ptrvec_push(&r->sel_any, sel);
			for (size_t i = 0; i < matched; i++)
				ptrvec_push(&((struct ep_entry *)r->affected.v[i])->sels, sel);
			fresh_sel = NULL;
		}
		if (sel)
			ptrvec_push(&sel->owners, e);
		e->sel = sel;
	}
	free(e->uid);
	e->uid = uid;
	uid = NULL;
	rc = emit_changes(r, out);
	goto done;

fail:
	unmark_all(r);
	if (rc == -ENOMEM)
		herr_set(err, rc, "LiveMigration %s/%s: out of memory", ns, name);
done:
	free(key);
	free(uid);
	free(src_key);
	free(tgt_key);
	lm_entry_free(fresh_lm);
	sel_free(fresh_sel);
	idx_entry_free(fresh_src);
	idx_entry_free(fresh_tgt);
	idx_entry_free(fresh_si);
	return rc;
}

void roles_lm_delete(struct roles *r, const char *ns, const char *name, struct role_events *out)
{
	char *key = join_key(ns ? ns : "", name ? name : "");
	struct lm_entry *e = key ? lm_lookup(r, key) : NULL;

	free(key);
	if (!e)
		return;
	char *none = NULL;
	/* Removal needs no allocation: the endpoints it affects are marked in
	 * the list whose capacity covers every endpoint. */
	if (e->src_key)
		lm_move_ref(r, &r->src_idx, e, &e->src_key, &none, NULL);
	if (e->tgt_key)
		lm_move_ref(r, &r->tgt_idx, e, &e->tgt_key, &none, NULL);
	if (e->sel)
		sel_unref(r, e->sel, e);
	hmap_del(&r->lms, &e->node);
	lm_entry_free(e);
	emit_changes(r, out); /* on -ENOMEM the change is reported later */
}

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
	if (id_changed && idx_prepare(&r->ep_idx, id_key, &fresh_id) < 0)
		goto done;
	if (wl_changed && wl_key && idx_prepare(&r->ep_idx, wl_key, &fresh_wl) < 0)
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
	/* Removals before additions: idx_prepare() made the additions safe
	 * even when a removal empties and frees the entry they would use. */
	if (id_changed && ep->id_key)
		idx_remove(&r->ep_idx, ep->id_key, ep);
	if (wl_changed && ep->wl_key)
		idx_remove(&r->ep_idx, ep->wl_key, ep);
	if (id_changed) {
		free(ep->id_key);
		ep->id_key = id_key;
		id_key = NULL;
		ep->id_hash = hmap_hash(ep->id_key);
		idx_add(&r->ep_idx, ep->id_key, &fresh_id, ep);
	}
	if (wl_changed) {
		free(ep->wl_key);
		ep->wl_key = wl_key;
		wl_key = NULL;
		ep->wl_hash = ep->wl_key ? hmap_hash(ep->wl_key) : 0;
		if (ep->wl_key)
			idx_add(&r->ep_idx, ep->wl_key, &fresh_wl, ep);
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
		lab_update(r, ep, &nlab, &ep->labels);
	}
	/* First sight starts from NONE, so only another role is emitted. */
	mark(r, ep);
	rc = emit_changes(r, out);

done:
	wep_ident_free(&nid);
	labels_free(&nlab);
	free(nsels.v);
	free(id_key);
	free(wl_key);
	idx_entry_free(fresh_id);
	idx_entry_free(fresh_wl);
	ep_entry_free(fresh);
	return rc;
}

void roles_ep_delete(struct roles *r, const char *key)
{
	struct ep_entry *ep = ep_lookup(r, key);

	if (!ep)
		return;
	idx_remove(&r->ep_idx, ep->id_key, ep);
	if (ep->wl_key)
		idx_remove(&r->ep_idx, ep->wl_key, ep);
	lab_update(r, ep, &ep->labels, NULL);
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
	return ep_eval(r, ep, uid);
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
	FREE_ALL(&r->src_idx, struct idx_entry, idx_entry_free);
	FREE_ALL(&r->tgt_idx, struct idx_entry, idx_entry_free);
	FREE_ALL(&r->ep_idx, struct idx_entry, idx_entry_free);
	FREE_ALL(&r->sel_idx, struct idx_entry, idx_entry_free);
	FREE_ALL(&r->lab_idx, struct idx_entry, idx_entry_free);
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
