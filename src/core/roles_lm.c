/* roles_lm.c - LiveMigrations and their target selectors in the role
 * calculator (calico-semantics A.5, A.6; the overview is in roles.c).
 * roles_lm_upsert() allocates all it may need first, then commits without
 * failing; it moves the LiveMigration's source and target references
 * independently (A.6 #1) and unreferences the OLD selector (A.6 #2). A
 * selector is shared by the LiveMigrations using the same text and registered
 * once: matched against the endpoints that can match it when it comes, and
 * released from them when its last LiveMigration goes. */
#include "core/roles_internal.h"

#include "core/selector.h"

/* ---- selectors ------------------------------------------------------------------ */

void sel_free(struct sel_entry *s)
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
	roles_ep_iter_init(&it, r, s);
	while ((ep = roles_ep_iter_next(&it)))
		/* Only an endpoint passing the required test can hold s. */
		if (sel_may_match(s, &ep->labels) && ptrvec_remove(&ep->sels, s))
			roles_mark(r, ep);
	if (s->idx_key)
		roles_idx_remove(&r->sel_idx, s->idx_key, s);
	else
		ptrvec_remove(&r->sel_any, s);
	hmap_del(&r->sels, &s->node);
	sel_free(s);
}

/* ---- LiveMigrations -------------------------------------------------------------- */

void lm_entry_free(struct lm_entry *e)
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
		roles_idx_remove(idx, *slot, e);
		roles_mark_named(r, *slot);
		free(*slot);
	}
	*slot = *new_key;
	*new_key = NULL;
	if (*slot) {
		roles_idx_add(idx, *slot, fresh, e);
		roles_mark_named(r, *slot);
	}
}

int roles_lm_upsert(struct roles *r, struct live_migration *lm, struct role_events *out,
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
		/* The decoder's parse of this very text, when it left one. */
		struct selector *parsed = lm->target_parsed;
		lm->target_parsed = NULL;
		rc = parsed ? 0 : selector_parse(text, &parsed, err);
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
			if (roles_idx_prepare(&r->sel_idx, heap, &fresh_si) < 0)
				goto fail;
		} else if (ptrvec_reserve(&r->sel_any, 1) < 0) {
			goto fail;
		}
		/* A new selector is matched against every endpoint that can match
		 * it, once; the matches are the first entries of the affected list. */
		if (fresh_sel->idx_key)
			roles_lab_track(r, fresh_sel->req_key);
		struct ep_iter it;
		struct ep_entry *ep;
		roles_ep_iter_init(&it, r, fresh_sel);
		while ((ep = roles_ep_iter_next(&it))) {
			if (!sel_may_match(fresh_sel, &ep->labels) ||
			    !selector_match(parsed, &ep->labels))
				continue;
			if (ptrvec_reserve(&ep->sels, 1) < 0)
				goto fail;
			roles_mark(r, ep);
		}
		matched = r->affected.n;
		sel = fresh_sel;
	}
	if (sel && (!e || e->sel != sel) && ptrvec_reserve(&sel->owners, 1) < 0)
		goto fail;
	src_changed = !streq_null(e ? e->src_key : NULL, src_key);
	tgt_changed = !streq_null(e ? e->tgt_key : NULL, tgt_key);
	if (src_changed && src_key && roles_idx_prepare(&r->src_idx, src_key, &fresh_src) < 0)
		goto fail;
	if (tgt_changed && tgt_key && roles_idx_prepare(&r->tgt_idx, tgt_key, &fresh_tgt) < 0)
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
				roles_idx_add(&r->sel_idx, sel->idx_key, &fresh_si, sel);
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
	rc = roles_emit_changes(r, out);
	goto done;

fail:
	roles_unmark_all(r);
	if (rc == -ENOMEM)
		herr_set(err, rc, "LiveMigration %s/%s: out of memory", ns, name);
done:
	free(key);
	free(uid);
	free(src_key);
	free(tgt_key);
	lm_entry_free(fresh_lm);
	sel_free(fresh_sel);
	roles_idx_entry_free(fresh_src);
	roles_idx_entry_free(fresh_tgt);
	roles_idx_entry_free(fresh_si);
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
	roles_emit_changes(r, out); /* on -ENOMEM the change is reported later */
}
