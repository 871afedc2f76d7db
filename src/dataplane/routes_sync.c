/* routes_sync.c - what the route syncer makes of a plan (routes.c has the
 * overview): the plan's routes become the wanted set (keeping each route's
 * waiting state across plans, so a wait is logged when it starts and when it
 * ends), and one reconciliation pass computes the operations from the wanted
 * set and the kernel's routes: adds/replaces first, then the deletes, so that
 * a metric change is make-before-break. The ownership rules of routes.h are
 * decided here; routes_kernel.c carries the operations out. */
#define _GNU_SOURCE
#include "dataplane/routes_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

/* ---- one reconciliation pass -------------------------------------------------- */

static const char *state_reason(enum want_state st)
{
	return st == W_CONFLICT ? "conflicting-route" : st == W_LINK ? "interface" : "error";
}

static void set_state(struct want *w, enum want_state st)
{
	char dst[64];

	if (w->st == st)
		return;
	rs_rkey_format(&w->k, dst, sizeof(dst));
	if (st == W_CONFLICT)
		hlog(HLOG_WARN,
		     "Route waits: the kernel holds another protocol's route to the same "
		     "destination and metric",
		     "dst=%s metric=%u ifname=%s", dst, w->k.metric, w->ifname);
	else if (st == W_LINK)
		hlog(HLOG_INFO, "Route waits for its interface to exist and be up",
		     "dst=%s metric=%u ifname=%s", dst, w->k.metric, w->ifname);
	else if (st == W_OK && w->st != W_NEW)
		hlog(HLOG_INFO, "Route programmed after waiting",
		     "dst=%s metric=%u ifname=%s waited_for=%s", dst, w->k.metric, w->ifname,
		     state_reason(w->st));
	w->st = st;
}

/* Interface lookup in the link cache, memoised on the last name: a plan names
 * each endpoint's interface for all its addresses. */
struct link_memo {
	char name[IFNAMSIZ];
	int ifindex;
	bool up;
};

static void resolve_link(struct route_syncer *rs, const char *name, struct link_memo *m)
{
	struct rtnl_link *l;

	if (m->name[0] && !strcmp(m->name, name))
		return;
	snprintf(m->name, sizeof(m->name), "%s", name);
	l = rtnl_link_get_by_name(rs->links, name);
	m->ifindex = l ? rtnl_link_get_ifindex(l) : 0;
	m->up = l && (rtnl_link_get_flags(l) & IFF_UP);
	if (l)
		rtnl_link_put(l);
}

static const char *op_name(enum op_kind k)
{
	return k == OP_ADD ? "add" : k == OP_REPLACE ? "replace" : "delete";
}

static int op_failed(struct route_syncer *rs, const struct op *o, int ret, struct herr *err)
{
	char dst[64];

	rs_rkey_format(&o->k, dst, sizeof(dst));
	rs->st.errors++;
	hlog(HLOG_WARN, "Route operation failed",
	     "op=%s dst=%s metric=%u oif=%d error=%s kernel=%s", op_name(o->kind), dst, o->k.metric,
	     o->oif, hlog_q(strerror(-o->result)), hlog_q(rs->extack));
	if (ret < 0)
		return ret;
	return herr_set(err, o->result, "route %s metric %u (oif %d): %s failed: %s%s%s", dst,
	                o->k.metric, o->oif, op_name(o->kind), strerror(-o->result),
	                rs->extack[0] ? ": " : "", rs->extack);
}

static void debug_op(const struct op *o)
{
	char dst[64];

	if (!hlog_enabled(HLOG_DEBUG))
		return;
	rs_rkey_format(&o->k, dst, sizeof(dst));
	hlog(HLOG_DEBUG, "Route programmed", "op=%s dst=%s metric=%u oif=%d", op_name(o->kind), dst,
	     o->k.metric, o->oif);
}

int rs_sync_routes(struct route_syncer *rs, struct herr *err)
{
	size_t cap = rs->wants.n > rs->kern.n ? rs->wants.n : rs->kern.n;
	struct op *ops = malloc((cap ? cap : 1) * sizeof(*ops));
	struct link_memo memo = {0};
	size_t nops = 0;
	int ret = 0, r;

	if (!ops)
		return herr_set(err, -ENOMEM, "route syncer: out of memory");
	rs->extack[0] = '\0';

	/* Make: every wanted route that the kernel lacks. */
	for (size_t i = 0; i < rs->wants.n; i++) {
		struct want *w = &rs->wants.v[i];
		struct kroute *e;

		resolve_link(rs, w->ifname, &memo);
		w->ifindex = memo.ifindex;
		if (!memo.ifindex || !memo.up) {
			set_state(w, W_LINK);
			continue;
		}
		e = rs_kset_get(&rs->kern, &w->k);
		if (e && e->oif == memo.ifindex) {
			set_state(w, W_OK);
			continue;
		}
		ops[nops++] = (struct op){
		    .kind = e ? OP_REPLACE : OP_ADD, .k = w->k, .oif = memo.ifindex, .w = w};
	}
	r = rs_run_ops(rs, ops, nops, err);
	if (r < 0)
		ret = r;
	for (size_t i = 0; i < nops; i++) {
		struct op *o = &ops[i];

		if (o->result == 0) {
			if (rs_kset_put(&rs->kern, &o->k, o->oif) < 0)
				rs->need_dump = true;
			rs->st.added++;
			set_state(o->w, W_OK);
			debug_op(o);
		} else if (o->result == -EEXIST) {
			set_state(o->w, W_CONFLICT);
		} else if (o->result == -ENODEV || o->result == -ENETDOWN) {
			set_state(o->w, W_LINK);
		} else {
			o->w->st = W_ERROR;
			ret = op_failed(rs, o, ret, err);
		}
	}

	/* Break: our routes nobody wants. A wanted destination whose route is not
	 * in place yet keeps the route it has (make-before-break, and an elevated
	 * route is held while the normal one collides with BIRD's). */
	nops = 0;
	for (size_t b = 0; b < rs->kern.nb; b++) {
		for (struct kroute *e = rs->kern.b[b]; e; e = e->next) {
			struct want *w = NULL;

			if (e->k.plen == addr_len(e->k.family) * 8)
				w = rs_wset_get(&rs->wants, e->k.family, e->k.addr);
			if (w && (e->k.metric == w->k.metric || w->st != W_OK))
				continue;
			ops[nops++] = (struct op){.kind = OP_DEL, .k = e->k, .oif = e->oif};
		}
	}
	r = rs_run_ops(rs, ops, nops, err);
	if (r < 0 && ret == 0)
		ret = r;
	for (size_t i = 0; i < nops; i++) {
		struct op *o = &ops[i];

		if (o->result == 0 || o->result == -ESRCH) { /* ESRCH: already gone */
			rs_kset_del(&rs->kern, &o->k);
			if (o->result == 0) {
				rs->st.deleted++;
				debug_op(o);
			}
		} else {
			ret = op_failed(rs, o, ret, err);
		}
	}
	free(ops);

	rs->st.waiting_conflict = rs->st.waiting_link = 0;
	for (size_t i = 0; i < rs->wants.n; i++) {
		rs->st.waiting_conflict += rs->wants.v[i].st == W_CONFLICT;
		rs->st.waiting_link += rs->wants.v[i].st == W_LINK;
	}
	return ret;
}

/* ---- the plan -> wants -------------------------------------------------------- */

int rs_parse_plan_route(const struct plan_route *pr, struct rkey *k, struct herr *err)
{
	char addr[HANDOFF_ADDRSIZ + 4];
	const char *slash = strchr(pr->dst, '/');
	size_t alen = slash ? (size_t)(slash - pr->dst) : strlen(pr->dst);
	uint8_t family;

	memset(k, 0, sizeof(*k));
	k->metric = pr->metric;
	if (pr->family != 4 && pr->family != 6)
		return herr_set(err, -EINVAL, "plan route %s: field family: must be 4 or 6, not %d",
		                pr->dst, pr->family);
	family = pr->family == 4 ? AF_INET : AF_INET6;
	if (alen >= sizeof(addr) ||
	    (memcpy(addr, pr->dst, alen), addr[alen] = '\0', inet_pton(family, addr, k->addr) != 1))
		return herr_set(err, -EINVAL, "plan route %s: field dst: not an IPv%d address",
		                pr->dst, pr->family);
	k->family = family;
	k->plen = (uint8_t)(addr_len(family) * 8);
	if (slash && atoi(slash + 1) != k->plen)
		return herr_set(err, -EINVAL,
		                "plan route %s: field dst: must be a single address (/%u)", pr->dst,
		                k->plen);
	if (!pr->ifname[0] || strnlen(pr->ifname, sizeof(pr->ifname)) >= IFNAMSIZ)
		return herr_set(err, -EINVAL,
		                "plan route %s: field ifname: must be an interface name of 1 to %d "
		                "characters",
		                pr->dst, IFNAMSIZ - 1);
	return 0;
}

static int wants_from_plan(struct route_syncer *rs, const struct plan *p, struct wset *out,
                           struct herr *err)
{
	int ret = 0;

	memset(out, 0, sizeof(*out));
	out->nslot = 16;
	while (out->nslot < 2 * p->nroutes)
		out->nslot *= 2;
	out->v = calloc(p->nroutes ? p->nroutes : 1, sizeof(*out->v));
	out->slot = calloc(out->nslot, sizeof(*out->slot));
	if (!out->v || !out->slot) {
		rs_wset_free(out);
		return herr_set(err, -ENOMEM, "route syncer: out of memory");
	}
	for (size_t i = 0; i < p->nroutes; i++) {
		const struct plan_route *pr = &p->routes[i];
		struct want *w = &out->v[out->n], *old;
		struct herr e;
		size_t s;

		if (pr->metric == 0) /* suppressed: none of our routes may exist */
			continue;
		if (rs_parse_plan_route(pr, &w->k, &e) < 0) {
			hlog(HLOG_WARN, "Plan route rejected", "error=%s", hlog_q(e.msg));
			if (ret == 0)
				ret = herr_set(err, -EINVAL, "%s", e.msg);
			continue;
		}
		if (rs_wset_get(out, w->k.family, w->k.addr)) {
			hlog(HLOG_WARN, "Plan names a destination twice; keeping the first",
			     "dst=%s ifname=%s", pr->dst, pr->ifname);
			continue;
		}
		snprintf(w->ifname, sizeof(w->ifname), "%s", pr->ifname);
		/* Keep the state of the same route in the previous plan: waits are logged
		 * once, when they start, and once when they end. */
		old = rs_wset_get(&rs->wants, w->k.family, w->k.addr);
		w->st = old && old->k.metric == w->k.metric && !strcmp(old->ifname, w->ifname)
		            ? old->st
		            : W_NEW;
		for (s = rs_dst_hash(w->k.family, w->k.addr) & (out->nslot - 1); out->slot[s];
		     s = (s + 1) & (out->nslot - 1))
			;
		out->slot[s] = (uint32_t)++out->n;
	}
	return ret;
}

int route_syncer_apply(struct route_syncer *rs, const struct plan *p, struct herr *err)
{
	struct wset fresh;
	int ret, r;

	ret = wants_from_plan(rs, p, &fresh, err);
	if (ret == -ENOMEM)
		return ret;
	rs_wset_free(&rs->wants);
	rs->wants = fresh;
	rs->have_plan = true;
	if (rs->need_dump) {
		r = rs_reread_kernel(rs, ret ? NULL : err);
		if (r < 0)
			return ret ? ret : r;
		rs->need_dump = false;
	} else if (rs->links_stale) {
		r = nl_cache_refill(rs->req, rs->links);
		if (r < 0)
			return ret ? ret
			           : herr_set(err, -EIO, "route syncer: reading links: %s",
			                      nl_geterror(r));
		rs->links_stale = false;
	}
	r = rs_sync_routes(rs, ret ? NULL : err);
	return ret ? ret : r;
}
