/* roles.h - LiveMigrations x local endpoints -> role (calico-semantics A.5).
 *
 * Rules, first hit wins: target selector matches -> TARGET; a LiveMigration
 * names the endpoint as target -> TARGET; names it (or its whole workload) as
 * source -> SOURCE; else NONE. The uid is the greatest non-empty uid among
 * the LiveMigrations behind the winning rule. An event is emitted only when an
 * endpoint's role changes (a uid-only change is not an event). */
#ifndef HANDOFF_CORE_ROLES_H
#define HANDOFF_CORE_ROLES_H

#include <stddef.h>

#include "core/model.h"

enum lm_role { LM_ROLE_NONE = 0, LM_ROLE_SOURCE = 1, LM_ROLE_TARGET = 2 };

const char *lm_role_name(enum lm_role r); /* "NONE", "SOURCE", "TARGET" */

struct role_event {
	char *endpoint_key; /* owned */
	enum lm_role role;
	char *uid; /* owned, "" with NONE */
};

/* Growable list the calculator appends to; the caller reads and clears it. */
struct role_events {
	struct role_event *v;
	size_t n, cap;
};

void role_events_clear(struct role_events *ev); /* frees entries, keeps the buffer */
void role_events_free(struct role_events *ev);

struct roles;

struct roles *roles_new(void);
void roles_free(struct roles *r);

/* Add or update a LiveMigration (keyed by ns/name). An invalid target selector
 * is rejected with -EINVAL (err names the LiveMigration and the column) and
 * the LiveMigration's previous version, if any, stays in force. A selector
 * new to the roles is taken from lm->target_parsed when the decoder left it
 * there (lm->target_parsed is then NULL, whatever the outcome), else parsed
 * from the text; lm is otherwise left as it was. */
int roles_lm_upsert(struct roles *r, struct live_migration *lm, struct role_events *out,
                    struct herr *err);
void roles_lm_delete(struct roles *r, const char *ns, const char *name, struct role_events *out);

/* Add or update a local endpoint. First sight emits only a role other than
 * NONE; an update re-evaluates target selectors against the new labels. */
int roles_ep_upsert(struct roles *r, const char *key, const struct wep_ident *id,
                    const struct labels *labels, struct role_events *out);
/* Forget an endpoint; emits nothing (the removal itself is the signal). */
void roles_ep_delete(struct roles *r, const char *key);

/* The current role of an endpoint; *uid (if non-NULL) gets its uid ("" if none),
 * valid until the next call that changes the calculator. */
enum lm_role roles_get(const struct roles *r, const char *key, const char **uid);

#endif
