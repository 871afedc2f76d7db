/* roles_internal.h - what the files of the LiveMigration role calculator
 * share (calico-semantics A.5; roles.c has the overview): its records, the
 * pointer sets they hold, the few helpers every file needs, and the
 * functions one file provides to the others. The calculator is one data
 * structure split by what each file holds:
 *   roles.c        endpoints, queries, lifetime and event lists
 *   roles_index.c  identity keys, the hash indexes and the required-label cache
 *   roles_eval.c   the role rules and the emission of role changes
 *   roles_lm.c     LiveMigrations and their target selectors
 * Not for use outside src/core/roles*.c. */
#ifndef HANDOFF_CORE_ROLES_INTERNAL_H
#define HANDOFF_CORE_ROLES_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/roles.h"
#include "util/hmap.h"

/* ---- small unordered pointer sets ---------------------------------------- */

struct ptrvec {
	void **v;
	size_t n, cap;
};

static inline int ptrvec_reserve(struct ptrvec *p, size_t extra)
{
	if (p->n + extra <= p->cap)
		return 0;
	size_t cap = p->cap ? p->cap : 2;
	while (cap < p->n + extra)
		cap *= 2;
	void **v = realloc(p->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	p->v = v;
	p->cap = cap;
	return 0;
}

/* Room must have been reserved. */
static inline void ptrvec_push(struct ptrvec *p, void *x)
{
	p->v[p->n++] = x;
}

static inline bool ptrvec_remove(struct ptrvec *p, const void *x)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i] == x) {
			p->v[i] = p->v[--p->n];
			return true;
		}
	return false;
}

/* ---- the calculator's records --------------------------------------------- */

struct lm_entry {
	struct hnode node;
	char *key; /* "ns/name" */
	char *uid;
	char *src_key, *tgt_key; /* identity keys, NULL when not tracked */
	struct sel_entry *sel;   /* NULL without a target selector */
};

struct sel_entry {
	struct hnode node;
	char *text;
	struct selector *parsed;
	struct ptrvec owners;          /* struct lm_entry * */
	const char *req_key, *req_val; /* its required test (in parsed), or NULL */
	char *idx_key;                 /* sel_idx key for the test; NULL: in sel_any */
};

struct ep_entry {
	struct hnode node;
	char *key;
	struct wep_ident id;
	struct labels labels;
	char *id_key; /* identity key */
	char *wl_key; /* workload-level identity key; NULL when id_key is one already */
	uint64_t id_hash, wl_hash;
	struct ptrvec sels; /* struct sel_entry * matching the labels */
	enum lm_role role;  /* last emitted */
	bool affected;      /* in roles.affected */
};

/* One identity key and what is indexed under it (LiveMigrations or endpoints). */
struct idx_entry {
	struct hnode node;
	char *key;
	struct ptrvec items;
};

struct roles {
	struct hmap lms, eps, sels;
	struct hmap sel_idx;   /* label_pair_key() -> struct sel_entry * */
	struct ptrvec sel_any; /* selectors without a required test */
	struct hmap src_idx, tgt_idx, ep_idx;
	struct ptrvec affected; /* capacity >= number of endpoints, always */
	char **req_keys;        /* label keys lab_idx covers (only ever grows) */
	size_t nreq_keys;
	struct hmap lab_idx; /* label_pair_key() -> struct ep_entry * */
	bool lab_broken;     /* an allocation for lab_idx failed: scan instead */
};

/* ---- helpers every file uses ---------------------------------------------- */

/* Whether `labels` pass the selector's required test (true without one). */
static inline bool sel_may_match(const struct sel_entry *s, const struct labels *labels)
{
	const char *v;

	if (!s->req_key)
		return true;
	v = labels_get(labels, s->req_key);
	return v && !strcmp(v, s->req_val);
}

static inline bool streq_null(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static inline struct idx_entry *idx_get(const struct hmap *m, const char *key, uint64_t hash)
{
	struct hnode *n = key ? hmap_get(m, key, hash) : NULL;
	return n ? container_of(n, struct idx_entry, node) : NULL;
}

/* Every endpoint that can match selector s: those lab_idx lists under its
 * required test, or all of them. */
struct ep_iter {
	const struct idx_entry *listed; /* NULL: walk every endpoint */
	bool scan;
	size_t i;
	struct hnode *n;
	const struct hmap *eps;
};

/* ---- roles_index.c ------------------------------------------------------- */

bool ident_tracked(const struct wep_ident *id);
char *ident_key(const struct wep_ident *id, bool workload_level);
char *label_pair_key(const char *key, const char *value, char *buf, size_t size, char **heap);
void roles_idx_entry_free(struct idx_entry *e);
int roles_idx_prepare(struct hmap *m, const char *key, struct idx_entry **fresh);
void roles_idx_add(struct hmap *m, const char *key, struct idx_entry **fresh, void *item);
void roles_idx_remove(struct hmap *m, const char *key, void *item);
void roles_lab_update(struct roles *r, struct ep_entry *ep, const struct labels *from,
                      const struct labels *to);
void roles_lab_track(struct roles *r, const char *key);
void roles_ep_iter_init(struct ep_iter *it, struct roles *r, const struct sel_entry *s);
struct ep_entry *roles_ep_iter_next(struct ep_iter *it);

/* ---- roles_eval.c -------------------------------------------------------- */

void roles_mark(struct roles *r, struct ep_entry *ep);
void roles_mark_named(struct roles *r, const char *key);
void roles_unmark_all(struct roles *r);
enum lm_role roles_ep_eval(const struct roles *r, const struct ep_entry *ep, const char **uid);
int roles_emit_changes(struct roles *r, struct role_events *out);

/* ---- roles_lm.c ---------------------------------------------------------- */

void sel_free(struct sel_entry *s);
void lm_entry_free(struct lm_entry *e);

#endif
