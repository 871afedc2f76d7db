/* engine.h - the core pipeline for one node, without I/O.
 *
 * Resources in (Pods, LiveMigrations, VMIMs, FelixConfigurations), GARP
 * reports and clock advances in; decisions out, in the order they were made:
 *   role changes -> FSM transitions -> route changes.
 * Within one call, roles are settled before the FSM runs and the FSM before
 * routes are computed, so a migration target never gets a route before its
 * TARGET role is known (calico-semantics F.2). Both `handoff-watcher replay`
 * (virtual clock) and `handoff-watcher run` (real clock) drive this. */
#ifndef HANDOFF_CORE_ENGINE_H
#define HANDOFF_CORE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/fsm.h"
#include "core/model.h"
#include "core/plan.h"
#include "core/roles.h"

enum decision_kind { DEC_ROLE, DEC_TRANSITION, DEC_ROUTE, DEC_CONFIG };

struct decision {
	enum decision_kind kind;
	uint64_t t_ms;
	char *endpoint; /* owned; role, transition, route */
	char *uid;      /* owned; role, transition ("" when none) */
	enum lm_role role;
	enum lm_state from, to;
	enum lm_input input;
	unsigned actions;
	int family; /* route: 4 or 6 */
	char dst[HANDOFF_ADDRSIZ + 4];
	char ifname[HANDOFF_IFNAMSIZ];
	uint32_t metric; /* route: 0 = the route must not exist */
	char *message;   /* owned; config: a warning about the resolved configuration */
};

struct decisions {
	struct decision *v;
	size_t n, cap;
};

void decisions_clear(struct decisions *d);
void decisions_free(struct decisions *d);

struct engine;

/* `node`: this node's name; Pods whose spec.nodeName differ are not local. */
struct engine *engine_new(const char *node);
void engine_free(struct engine *e);

/* Add or update an object given as a Kubernetes JSON tree. Returns 0 when
 * applied, 1 when the kind is not one the engine follows (nothing changed),
 * or a negative errno with err naming the object and field (nothing changed:
 * the object's previous version stays in force). */
int engine_apply(struct engine *e, const struct json_t *obj, uint64_t now_ms, struct decisions *out,
                 struct herr *err);
/* Delete an object by kind, namespace ("" for cluster-scoped) and name. */
int engine_delete(struct engine *e, const char *kind, const char *ns, const char *name,
                  uint64_t now_ms, struct decisions *out, struct herr *err);

/* Add or update a local endpoint directly (the CNI's record of a wired pod). */
int engine_endpoint_upsert(struct engine *e, const struct endpoint *ep, uint64_t now_ms,
                           struct decisions *out);
void engine_endpoint_delete(struct engine *e, const char *key, uint64_t now_ms,
                            struct decisions *out);

/* A GARP/RARP frame was seen on an endpoint's interface. Give the endpoint
 * key or, when key is NULL, its host interface name. -ENOENT if unknown. */
int engine_garp(struct engine *e, const char *key, const char *ifname, uint64_t now_ms,
                struct decisions *out, struct herr *err);

/* Fire timers due at or before now_ms, each at its own deadline. */
void engine_advance(struct engine *e, uint64_t now_ms, struct decisions *out);
bool engine_next_deadline(const struct engine *e, uint64_t *deadline_ms);

/* ---- restart (calico-semantics B; Calico itself forgets these FSMs) -------
 *
 * A restarted watcher gives back the FSMs it saved once the initial objects
 * are in, so that it can check them against what the objects say:
 *   engine_restore_begin()   objects in (engine_apply, endpoints)...
 *   engine_restore(record)...   engine_restore_settle()
 * From begin to settle no role change reaches any FSM (role decisions are
 * still reported): objects arrive in any order, and a Pod seen before its
 * LiveMigration must neither end a Live state nor start a Target that the
 * saved state contradicts. The settle feeds every endpoint's FSM the role the
 * objects give it now (only a change is an input, B.1, so a restored FSM
 * whose role is unchanged carries on without a transition), and a restored
 * endpoint that no longer exists gets Deleted. Timers act at once. Route
 * decisions are held too (parts pass through states the kernel never sees):
 * the settle reports every route as it then stands. Without
 * engine_restore_begin() the engine never holds roles (replay). */
void engine_restore_begin(struct engine *e);
/* Restore one saved FSM (between begin and settle). 0, or -EBUSY outside
 * that window, -EEXIST when the endpoint already has an FSM (the first
 * record wins), -EINVAL for a bad record, -ENOMEM; err names the endpoint.
 * A known endpoint is re-routed for its restored state. */
int engine_restore(struct engine *e, const struct lm_record *r, uint64_t now_ms,
                   struct decisions *out, struct herr *err);
/* End the restore (nothing when none began). */
void engine_restore_settle(struct engine *e, uint64_t now_ms, struct decisions *out);
/* Endpoints with an FSM (not Base), for saving (lm_monitor_records). */
size_t engine_records(const struct engine *e, struct lm_record *out, size_t cap);

/* The whole desired state, for the dataplane. */
int engine_plan(const struct engine *e, struct plan *out);
const struct route_config *engine_route_config(const struct engine *e);
enum lm_state engine_state(const struct engine *e, const char *key);
/* The FSM states of every endpoint (for checking engine_plan() against
 * plan_compute() from scratch). */
const struct lm_monitor *engine_monitor(const struct engine *e);
/* Endpoints known, sorted by key (borrowed pointers, valid until the next call). */
size_t engine_endpoints(const struct engine *e, const struct endpoint *const **eps);

#endif
