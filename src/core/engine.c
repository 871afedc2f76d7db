/* engine.c - resources -> roles -> FSM -> routes, for one node. No I/O. */
#include "core/engine.h"
#include "core/plan_index.h"

#include <errno.h>
#include <stdio.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* A local endpoint and its part of the plan as last decided (plan_compute of
 * this endpoint alone): the routes decisions are diffed against, and what
 * engine_plan() assembles, through the index, without recomputing endpoints
 * that did not change. */
struct ep_entry {
	struct endpoint ep;
	struct plan part;
	bool dirty;
};

struct engine {
	char *node;
	struct ep_entry **eps; /* sorted by key */
	size_t neps;
	struct felix_config *fcs; /* every FelixConfiguration, any order */
	size_t nfcs;
	struct route_config cfg;
	struct roles *roles;
	struct lm_monitor *mon;
	struct role_events rev;       /* scratch */
	struct lm_transitions trs;    /* scratch */
	const struct endpoint **view; /* engine_endpoints() */
	struct plan_index *index;     /* every part, in plan order */
	/* Between engine_restore_begin and the settle: roles are held, and the
	 * keys restored so far (sorted) are checked at the settle. */
	bool restoring;
	char **restored;
	size_t nrestored;
};

/* ---- decisions ----------------------------------------------------------- */

static struct decision *decision_push(struct decisions *d, enum decision_kind kind, uint64_t t)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct decision *v = realloc(d->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		d->v = v;
		d->cap = cap;
	}
	struct decision *x = &d->v[d->n++];
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	x->t_ms = t;
	return x;
}

void decisions_clear(struct decisions *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].endpoint);
		free(d->v[i].uid);
		free(d->v[i].message);
	}
	d->n = 0;
}

void decisions_free(struct decisions *d)
{
	decisions_clear(d);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

/* ---- endpoints ------------------------------------------------------------ */

static size_t ep_find(const struct engine *e, const char *key, bool *found)
{
	size_t lo = 0, hi = e->neps;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(e->eps[mid]->ep.key, key);
		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct ep_entry *ep_get(const struct engine *e, const char *key)
{
	bool found;
	size_t i = ep_find(e, key, &found);
	return found ? e->eps[i] : NULL;
}

static void ep_entry_free(struct ep_entry *x)
{
	endpoint_free(&x->ep);
	plan_free(&x->part);
	free(x);
}

/* ---- the pipeline --------------------------------------------------------- */

static void emit_transitions(struct engine *e, struct decisions *out)
{
	for (size_t i = 0; i < e->trs.n; i++) {
		const struct lm_transition *t = &e->trs.v[i];
		struct decision *d = decision_push(out, DEC_TRANSITION, t->t_ms);
		struct ep_entry *x = ep_get(e, t->endpoint_key);
		if (!d)
			break;
		d->endpoint = strdup(t->endpoint_key);
		d->uid = strdup(t->uid ? t->uid : "");
		d->from = t->from;
		d->to = t->to;
		d->input = t->input;
		d->actions = t->actions;
		if (x)
			x->dirty = true;
	}
	lm_transitions_clear(&e->trs);
}

static size_t restored_find(const struct engine *e, const char *key, bool *found)
{
	size_t lo = 0, hi = e->nrestored;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(e->restored[mid], key);
		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Role events -> decisions and FSM inputs (each role event, then what it caused). */
static void feed_roles(struct engine *e, uint64_t now, struct decisions *out)
{
	for (size_t i = 0; i < e->rev.n; i++) {
		const struct role_event *r = &e->rev.v[i];
		struct decision *d = decision_push(out, DEC_ROLE, now);
		if (d) {
			d->endpoint = strdup(r->endpoint_key);
			d->uid = strdup(r->uid ? r->uid : "");
			d->role = r->role;
		}
		if (e->restoring)
			continue; /* the FSM gets the settled role at engine_restore_settle */
		lm_monitor_role(e->mon, r->endpoint_key, r->role, r->uid, now, &e->trs);
		emit_transitions(e, out);
	}
	role_events_clear(&e->rev);
}

static int route_cmp_dst(const struct plan_route *a, const struct plan_route *b)
{
	return strcmp(a->dst, b->dst);
}

/* Recompute the routes of one endpoint and emit what changed. */
static void reroute(struct engine *e, struct ep_entry *x, bool gone, uint64_t now,
                    struct decisions *out)
{
	struct plan p = {0};
	const struct endpoint *one = &x->ep;

	if (!gone && plan_compute(&one, 1, e->mon, &e->cfg, &p) < 0)
		return;
	/* While restoring, parts move through states the kernel never sees;
	 * the settle reports the routes as they then are (emit_settled). */
	if (e->restoring)
		goto replace;
	/* New or changed routes. */
	for (size_t i = 0; i < p.nroutes; i++) {
		const struct plan_route *n = &p.routes[i], *o = NULL;
		for (size_t j = 0; j < x->part.nroutes; j++)
			if (!route_cmp_dst(&x->part.routes[j], n))
				o = &x->part.routes[j];
		uint32_t old = o ? o->metric : 0;
		if (old == n->metric && (!o || !strcmp(o->ifname, n->ifname)))
			continue;
		struct decision *d = decision_push(out, DEC_ROUTE, now);
		if (!d)
			break;
		d->endpoint = strdup(x->ep.key);
		d->family = n->family;
		memcpy(d->dst, n->dst, sizeof(d->dst));
		memcpy(d->ifname, n->ifname, sizeof(d->ifname));
		d->metric = n->metric;
	}
	/* Routes that no longer exist at all. */
	for (size_t j = 0; j < x->part.nroutes; j++) {
		const struct plan_route *o = &x->part.routes[j];
		bool kept = false;
		for (size_t i = 0; i < p.nroutes; i++)
			kept |= !route_cmp_dst(&p.routes[i], o);
		if (kept || !o->metric)
			continue;
		struct decision *d = decision_push(out, DEC_ROUTE, now);
		if (!d)
			break;
		d->endpoint = strdup(x->ep.key);
		d->family = o->family;
		memcpy(d->dst, o->dst, sizeof(d->dst));
		memcpy(d->ifname, o->ifname, sizeof(d->ifname));
		d->metric = 0;
	}
replace:
	/* On ENOMEM engine_plan computes from scratch. */
	plan_index_replace(e->index, &x->part, &p);
	x->dirty = false;
}

/* Every route of the settled plan, as if each endpoint had just come. */
static void emit_settled(struct engine *e, uint64_t now, struct decisions *out)
{
	for (size_t i = 0; i < e->neps; i++) {
		const struct ep_entry *x = e->eps[i];
		for (size_t j = 0; j < x->part.nroutes; j++) {
			const struct plan_route *r = &x->part.routes[j];
			struct decision *d;
			if (!r->metric)
				continue;
			if (!(d = decision_push(out, DEC_ROUTE, now)))
				return;
			d->endpoint = strdup(x->ep.key);
			d->family = r->family;
			memcpy(d->dst, r->dst, sizeof(d->dst));
			memcpy(d->ifname, r->ifname, sizeof(d->ifname));
			d->metric = r->metric;
		}
	}
}

static void reroute_dirty(struct engine *e, uint64_t now, struct decisions *out)
{
	for (size_t i = 0; i < e->neps; i++)
		if (e->eps[i]->dirty)
			reroute(e, e->eps[i], false, now, out);
}

void engine_advance(struct engine *e, uint64_t now, struct decisions *out)
{
	uint64_t due;

	/* Each timer fires at its own deadline, in deadline order. */
	while (lm_monitor_next_deadline(e->mon, &due) && due <= now) {
		lm_monitor_advance(e->mon, due, &e->trs);
		emit_transitions(e, out);
		reroute_dirty(e, due, out);
	}
}

bool engine_next_deadline(const struct engine *e, uint64_t *deadline)
{
	return lm_monitor_next_deadline(e->mon, deadline);
}

/* ---- configuration -------------------------------------------------------- */

static void reconfigure(struct engine *e, uint64_t now, struct decisions *out)
{
	/* Only `default` and `node.<node>` ever count (names are unique): pass
	 * those, however many other FelixConfigurations there are. */
	const struct felix_config *objs[2];
	char node_name[300];
	size_t n = 0;
	struct route_config cfg;
	struct herr warn = {{0}};

	snprintf(node_name, sizeof(node_name), "node.%s", e->node ? e->node : "");
	for (size_t i = 0; i < e->nfcs && n < 2; i++)
		if (!strcmp(e->fcs[i].name, "default") || !strcmp(e->fcs[i].name, node_name))
			objs[n++] = &e->fcs[i];
	route_config_resolve(objs, n, e->node, &cfg, &warn);
	if (warn.msg[0]) {
		struct decision *d = decision_push(out, DEC_CONFIG, now);
		if (d)
			d->message = strdup(warn.msg);
	}
	if (!memcmp(&cfg, &e->cfg, sizeof(cfg)))
		return;
	e->cfg = cfg;
	lm_monitor_set_convergence(e->mon, cfg.convergence_ms);
	for (size_t i = 0; i < e->neps; i++)
		e->eps[i]->dirty = true;
	reroute_dirty(e, now, out);
}

static int felix_upsert(struct engine *e, const json_t *obj, uint64_t now, struct decisions *out,
                        struct herr *err)
{
	struct felix_config fc = {0};
	int r = felix_config_decode(obj, &fc, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < e->nfcs; i++)
		if (!strcmp(e->fcs[i].name, fc.name)) {
			felix_config_free(&e->fcs[i]);
			e->fcs[i] = fc;
			reconfigure(e, now, out);
			return 0;
		}
	struct felix_config *v = realloc(e->fcs, (e->nfcs + 1) * sizeof(*v));
	if (!v) {
		felix_config_free(&fc);
		return -ENOMEM;
	}
	e->fcs = v;
	e->fcs[e->nfcs++] = fc;
	reconfigure(e, now, out);
	return 0;
}

static void felix_delete(struct engine *e, const char *name, uint64_t now, struct decisions *out)
{
	for (size_t i = 0; i < e->nfcs; i++)
		if (!strcmp(e->fcs[i].name, name)) {
			felix_config_free(&e->fcs[i]);
			e->fcs[i] = e->fcs[--e->nfcs];
			reconfigure(e, now, out);
			return;
		}
}

/* ---- endpoints in and out ------------------------------------------------- */

int engine_endpoint_upsert(struct engine *e, const struct endpoint *ep, uint64_t now,
                           struct decisions *out)
{
	bool found;
	size_t i;
	struct ep_entry *x;
	int r;

	engine_advance(e, now, out);
	i = ep_find(e, ep->key, &found);
	if (found) {
		struct endpoint copy;
		x = e->eps[i];
		if ((r = endpoint_copy(&copy, ep)) < 0)
			return r;
		endpoint_free(&x->ep);
		x->ep = copy;
	} else {
		struct ep_entry **v = realloc(e->eps, (e->neps + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		e->eps = v;
		x = calloc(1, sizeof(*x));
		if (!x || endpoint_copy(&x->ep, ep) < 0) {
			free(x);
			return -ENOMEM;
		}
		memmove(&e->eps[i + 1], &e->eps[i], (e->neps - i) * sizeof(*v));
		e->eps[i] = x;
		e->neps++;
	}
	x->dirty = true;
	/* Role first, so a target never gets a route before its role is known. */
	r = roles_ep_upsert(e->roles, x->ep.key, &x->ep.id, &x->ep.labels, &e->rev);
	feed_roles(e, now, out);
	reroute_dirty(e, now, out);
	return r < 0 ? r : 0;
}

void engine_endpoint_delete(struct engine *e, const char *key, uint64_t now, struct decisions *out)
{
	bool found;
	size_t i;

	engine_advance(e, now, out);
	i = ep_find(e, key, &found);
	if (!found)
		return;
	struct ep_entry *x = e->eps[i];
	roles_ep_delete(e->roles, key);
	lm_monitor_remove(e->mon, key, now, &e->trs);
	emit_transitions(e, out);
	reroute(e, x, true, now, out);
	memmove(&e->eps[i], &e->eps[i + 1], (e->neps - i - 1) * sizeof(*e->eps));
	e->neps--;
	ep_entry_free(x);
}

static int pod_upsert(struct engine *e, const json_t *obj, uint64_t now, struct decisions *out,
                      struct herr *err)
{
	struct endpoint ep = {0};
	int r = endpoint_decode_pod(obj, &ep, err);

	if (r < 0)
		return r;
	if (strcmp(ep.node, e->node) || ep.host_network) {
		/* Not (or no longer) ours, or not a workload (hostNetwork). */
		engine_endpoint_delete(e, ep.key, now, out);
		endpoint_free(&ep);
		return 0;
	}
	r = engine_endpoint_upsert(e, &ep, now, out);
	endpoint_free(&ep);
	return r;
}

/* A hypervisor's port (wep.c): local when spec.node is this node, as a Pod. */
static int wep_upsert(struct engine *e, const json_t *obj, uint64_t now, struct decisions *out,
                      struct herr *err)
{
	struct endpoint ep = {0};
	int r = endpoint_decode_wep(obj, &ep, err);

	if (r < 0)
		return r;
	if (strcmp(ep.node, e->node)) {
		engine_endpoint_delete(e, ep.key, now, out);
		endpoint_free(&ep);
		return 0;
	}
	r = engine_endpoint_upsert(e, &ep, now, out);
	endpoint_free(&ep);
	return r;
}

/* ---- LiveMigrations ------------------------------------------------------- */

static int lm_upsert(struct engine *e, struct live_migration *lm, uint64_t now,
                     struct decisions *out, struct herr *err)
{
	int r = roles_lm_upsert(e->roles, lm, &e->rev, err);
	feed_roles(e, now, out);
	reroute_dirty(e, now, out);
	return r;
}

static void lm_delete(struct engine *e, const char *ns, const char *name, uint64_t now,
                      struct decisions *out)
{
	roles_lm_delete(e->roles, ns, name, &e->rev);
	feed_roles(e, now, out);
	reroute_dirty(e, now, out);
}

static const char *meta_str(const json_t *obj, const char *field)
{
	const char *s = json_string_value(json_object_get(json_object_get(obj, "metadata"), field));
	return s ? s : "";
}

int engine_apply(struct engine *e, const json_t *obj, uint64_t now, struct decisions *out,
                 struct herr *err)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	struct live_migration lm = {0};
	int r;

	if (!json_is_object(obj))
		return herr_set(err, -EINVAL, "object: not a JSON object");
	if (!kind)
		return herr_set(err, -EINVAL, "object %s: kind: missing", meta_str(obj, "name"));
	engine_advance(e, now, out);
	if (!strcmp(kind, "Pod"))
		return pod_upsert(e, obj, now, out, err);
	if (!strcmp(kind, "WorkloadEndpoint"))
		return wep_upsert(e, obj, now, out, err);
	if (!strcmp(kind, "FelixConfiguration"))
		return felix_upsert(e, obj, now, out, err);
	if (!strcmp(kind, "LiveMigration")) {
		if ((r = live_migration_decode(obj, &lm, err)) < 0)
			return r;
		r = lm_upsert(e, &lm, now, out, err);
		live_migration_free(&lm);
		return r;
	}
	if (!strcmp(kind, "VirtualMachineInstanceMigration")) {
		r = vmim_to_live_migration(obj, &lm, err);
		if (r < 0)
			return r;
		if (r == 0) {
			/* A phase that yields no LiveMigration reads as its deletion (A.3). */
			lm_delete(e, meta_str(obj, "namespace"), meta_str(obj, "name"), now, out);
			return 0;
		}
		r = lm_upsert(e, &lm, now, out, err);
		live_migration_free(&lm);
		return r;
	}
	return 1;
}

int engine_delete(struct engine *e, const char *kind, const char *ns, const char *name,
                  uint64_t now, struct decisions *out, struct herr *err)
{
	char key[512];

	engine_advance(e, now, out);
	if (!strcmp(kind, "Pod") || !strcmp(kind, "WorkloadEndpoint")) {
		/* As the decoders place an object without a namespace. */
		snprintf(key, sizeof(key), "%s/%s", *ns ? ns : "default", name);
		engine_endpoint_delete(e, key, now, out);
	} else if (!strcmp(kind, "LiveMigration") ||
	           !strcmp(kind, "VirtualMachineInstanceMigration")) {
		lm_delete(e, ns, name, now, out);
	} else if (!strcmp(kind, "FelixConfiguration")) {
		felix_delete(e, name, now, out);
	} else {
		return 1;
	}
	return 0;
}

int engine_garp(struct engine *e, const char *key, const char *ifname, uint64_t now,
                struct decisions *out, struct herr *err)
{
	struct ep_entry *x = NULL;

	engine_advance(e, now, out);
	if (key)
		x = ep_get(e, key);
	else
		for (size_t i = 0; i < e->neps && !x; i++)
			if (!strcmp(e->eps[i]->ep.ifname, ifname))
				x = e->eps[i];
	if (!x)
		return herr_set(err, -ENOENT, "GARP on %s %s: no such local endpoint",
		                key ? "endpoint" : "interface", key ? key : ifname);
	lm_monitor_garp(e->mon, x->ep.key, now, &e->trs);
	emit_transitions(e, out);
	reroute_dirty(e, now, out);
	return 0;
}

/* ---- restart ---------------------------------------------------------------- */

void engine_restore_begin(struct engine *e)
{
	e->restoring = true;
}

int engine_restore(struct engine *e, const struct lm_record *r, uint64_t now, struct decisions *out,
                   struct herr *err)
{
	const char *key = r->key ? r->key : "";
	bool found;
	size_t i;
	int rc;

	if (!e->restoring)
		return herr_set(err, -EBUSY, "restore of %s: not restoring", key);
	engine_advance(e, now, out);
	i = restored_find(e, key, &found);
	if (found || lm_monitor_state(e->mon, key) != LM_BASE)
		return herr_set(err, -EEXIST, "restore of %s: the endpoint already has a state",
		                key);
	/* Both allocations before the monitor changes. */
	char **v = realloc(e->restored, (e->nrestored + 1) * sizeof(*v));
	if (!v)
		return herr_set(err, -ENOMEM, "restore of %s: out of memory", key);
	e->restored = v;
	char *k = strdup(key);
	if (!k)
		return herr_set(err, -ENOMEM, "restore of %s: out of memory", key);
	if ((rc = lm_monitor_restore(e->mon, r)) < 0) {
		free(k);
		return herr_set(err, rc, "restore of %s: %s", key,
		                rc == -EINVAL ? "not a state, role or key that can be restored"
		                              : "out of memory");
	}
	memmove(&e->restored[i + 1], &e->restored[i], (e->nrestored - i) * sizeof(*v));
	e->restored[i] = k;
	e->nrestored++;
	struct ep_entry *x = ep_get(e, key);
	if (x) {
		x->dirty = true;
		reroute_dirty(e, now, out);
	}
	return 0;
}

void engine_restore_settle(struct engine *e, uint64_t now, struct decisions *out)
{
	if (!e->restoring)
		return;
	engine_advance(e, now, out);
	/* Restored endpoints gone while we were away: Deleted, as if seen live. */
	for (size_t i = 0; i < e->nrestored; i++) {
		if (!ep_get(e, e->restored[i])) {
			lm_monitor_remove(e->mon, e->restored[i], now, &e->trs);
			emit_transitions(e, out);
		}
		free(e->restored[i]);
	}
	free(e->restored);
	e->restored = NULL;
	e->nrestored = 0;
	/* Every endpoint's FSM gets the role it has now. */
	for (size_t i = 0; i < e->neps; i++) {
		const char *uid = NULL;
		enum lm_role role = roles_get(e->roles, e->eps[i]->ep.key, &uid);
		lm_monitor_role(e->mon, e->eps[i]->ep.key, role, uid, now, &e->trs);
		emit_transitions(e, out);
	}
	reroute_dirty(e, now, out);
	e->restoring = false;
	emit_settled(e, now, out);
}

size_t engine_records(const struct engine *e, struct lm_record *out, size_t cap)
{
	return lm_monitor_records(e->mon, out, cap);
}

/* ---- lifecycle and views -------------------------------------------------- */

struct engine *engine_new(const char *node)
{
	struct engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	route_config_defaults(&e->cfg);
	e->node = strdup(node ? node : "");
	e->roles = roles_new();
	e->mon = lm_monitor_new(e->cfg.convergence_ms);
	e->index = plan_index_new();
	if (!e->node || !e->roles || !e->mon || !e->index) {
		engine_free(e);
		return NULL;
	}
	return e;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->neps; i++)
		ep_entry_free(e->eps[i]);
	free(e->eps);
	for (size_t i = 0; i < e->nfcs; i++)
		felix_config_free(&e->fcs[i]);
	free(e->fcs);
	roles_free(e->roles);
	lm_monitor_free(e->mon);
	for (size_t i = 0; i < e->nrestored; i++)
		free(e->restored[i]);
	free(e->restored);
	role_events_free(&e->rev);
	lm_transitions_free(&e->trs);
	free(e->view);
	free(e->node);
	plan_index_free(e->index);
	free(e);
}

int engine_plan(const struct engine *e, struct plan *out)
{
	const struct endpoint **v;
	int r;

	/* Every operation reroutes what it marked dirty before returning, so
	 * each endpoint's part is current, and the index holds them in order. */
	if ((r = plan_index_build(e->index, out)) != -ENOMEM)
		return r;
	/* The index ran out of memory once: from scratch, as it would give. */
	if (!(v = malloc((e->neps ? e->neps : 1) * sizeof(*v))))
		return -ENOMEM;
	for (size_t i = 0; i < e->neps; i++)
		v[i] = &e->eps[i]->ep;
	r = plan_compute(v, e->neps, e->mon, &e->cfg, out);
	free(v);
	return r;
}

const struct route_config *engine_route_config(const struct engine *e)
{
	return &e->cfg;
}

const struct lm_monitor *engine_monitor(const struct engine *e)
{
	return e->mon;
}

enum lm_state engine_state(const struct engine *e, const char *key)
{
	return lm_monitor_state(e->mon, key);
}

size_t engine_endpoints(const struct engine *e, const struct endpoint *const **eps)
{
	struct engine *m = (struct engine *)e; /* the view is a cache */
	const struct endpoint **v = realloc(m->view, (e->neps ? e->neps : 1) * sizeof(*v));

	if (!v) {
		*eps = NULL;
		return 0;
	}
	m->view = v;
	for (size_t i = 0; i < e->neps; i++)
		v[i] = &e->eps[i]->ep;
	*eps = (const struct endpoint *const *)v;
	return e->neps;
}
