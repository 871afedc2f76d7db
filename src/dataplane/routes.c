/* routes.c - the route syncer (see routes.h for the contract).
 *
 * State:
 *   - `kern`: the routes of our protocol in our table that the kernel holds,
 *     keyed by (family, dst, prefix length, metric). Filled by a dump at start
 *     (and whenever the kernel may have changed without telling us: link
 *     down flushes IPv4 routes silently, lost notifications), then kept by
 *     the ACKs of our own operations. Notifications are used as triggers
 *     only: they lag behind our ACKs, so applying them would undo newer state.
 *   - `wants`: the last plan's routes with metric > 0, keyed by (family, dst),
 *     each with the state of its last attempt (in place, waiting for a link,
 *     waiting for a conflicting route, failed).
 *
 * A sync computes the operations (adds/replaces, then deletes) from the two
 * and sends each phase as a pipeline: many route messages per sendmsg, up to
 * a window of unacknowledged ones, ACKs matched by sequence number. That is
 * what keeps 10,000 routes near the kernel's own pace (bench_routes).
 *
 * Files (routes_internal.h holds what they share): routes.c the sockets, the
 * notifications and the life cycle; routes_sets.c the keys and the two hash
 * sets; routes_kernel.c the netlink messages (decoding, the dump, the pipeline). */
#define _GNU_SOURCE
#include "dataplane/routes_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/log.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* ---- sockets --------------------------------------------------------------- */

static void set_sockopt_int(struct nl_sock *sk, int level, int opt, int val)
{
	/* Best effort: older kernels lack some of these; behaviour stays correct. */
	(void)setsockopt(nl_socket_get_fd(sk), level, opt, &val, sizeof(val));
}

static int big_rcvbuf(struct nl_sock *sk)
{
	int v = RCVBUF_BYTES;

	/* FORCE needs CAP_NET_ADMIN (which the watcher has); else net.core.rmem_max caps. */
	if (setsockopt(nl_socket_get_fd(sk), SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) == 0)
		return 0;
	return nl_socket_set_buffer_size(sk, RCVBUF_BYTES, 0);
}

static struct nl_sock *open_sock(struct herr *err, const char *what)
{
	struct nl_sock *sk = nl_socket_alloc();
	int r;

	if (!sk) {
		herr_set(err, -ENOMEM, "route syncer: %s socket: out of memory", what);
		return NULL;
	}
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		herr_set(err, -EIO, "route syncer: %s socket: connect: %s", what, nl_geterror(r));
		nl_socket_free(sk);
		return NULL;
	}
	nl_socket_disable_seq_check(sk);
	nl_socket_disable_msg_peek(sk);
	nl_socket_set_msg_buf_size(sk, MSGBUF_BYTES);
	big_rcvbuf(sk);
	return sk;
}

/* A callback set derived from the socket's (so that its disabled sequence
 * check applies) with one valid-message handler. */
static struct nl_cb *make_cb(struct nl_sock *sk)
{
	struct nl_cb *base = nl_socket_get_cb(sk);
	struct nl_cb *cb = base ? nl_cb_clone(base) : NULL;

	if (base)
		nl_cb_put(base);
	return cb;
}

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
	rkey_format(&w->k, dst, sizeof(dst));
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

	rkey_format(&o->k, dst, sizeof(dst));
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
	rkey_format(&o->k, dst, sizeof(dst));
	hlog(HLOG_DEBUG, "Route programmed", "op=%s dst=%s metric=%u oif=%d", op_name(o->kind), dst,
	     o->k.metric, o->oif);
}

static int sync_routes(struct route_syncer *rs, struct herr *err)
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
		e = kset_get(&rs->kern, &w->k);
		if (e && e->oif == memo.ifindex) {
			set_state(w, W_OK);
			continue;
		}
		ops[nops++] = (struct op){
		    .kind = e ? OP_REPLACE : OP_ADD, .k = w->k, .oif = memo.ifindex, .w = w};
	}
	r = run_ops(rs, ops, nops, err);
	if (r < 0)
		ret = r;
	for (size_t i = 0; i < nops; i++) {
		struct op *o = &ops[i];

		if (o->result == 0) {
			if (kset_put(&rs->kern, &o->k, o->oif) < 0)
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
				w = wset_get(&rs->wants, e->k.family, e->k.addr);
			if (w && (e->k.metric == w->k.metric || w->st != W_OK))
				continue;
			ops[nops++] = (struct op){.kind = OP_DEL, .k = e->k, .oif = e->oif};
		}
	}
	r = run_ops(rs, ops, nops, err);
	if (r < 0 && ret == 0)
		ret = r;
	for (size_t i = 0; i < nops; i++) {
		struct op *o = &ops[i];

		if (o->result == 0 || o->result == -ESRCH) { /* ESRCH: already gone */
			kset_del(&rs->kern, &o->k);
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

static int parse_plan_route(const struct plan_route *pr, struct rkey *k, struct herr *err)
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
		wset_free(out);
		return herr_set(err, -ENOMEM, "route syncer: out of memory");
	}
	for (size_t i = 0; i < p->nroutes; i++) {
		const struct plan_route *pr = &p->routes[i];
		struct want *w = &out->v[out->n], *old;
		struct herr e;
		size_t s;

		if (pr->metric == 0) /* suppressed: none of our routes may exist */
			continue;
		if (parse_plan_route(pr, &w->k, &e) < 0) {
			hlog(HLOG_WARN, "Plan route rejected", "error=%s", hlog_q(e.msg));
			if (ret == 0)
				ret = herr_set(err, -EINVAL, "%s", e.msg);
			continue;
		}
		if (wset_get(out, w->k.family, w->k.addr)) {
			hlog(HLOG_WARN, "Plan names a destination twice; keeping the first",
			     "dst=%s ifname=%s", pr->dst, pr->ifname);
			continue;
		}
		snprintf(w->ifname, sizeof(w->ifname), "%s", pr->ifname);
		/* Keep the state of the same route in the previous plan: waits are logged
		 * once, when they start, and once when they end. */
		old = wset_get(&rs->wants, w->k.family, w->k.addr);
		w->st = old && old->k.metric == w->k.metric && !strcmp(old->ifname, w->ifname)
		            ? old->st
		            : W_NEW;
		for (s = dst_hash(w->k.family, w->k.addr) & (out->nslot - 1); out->slot[s];
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
	wset_free(&rs->wants);
	rs->wants = fresh;
	rs->have_plan = true;
	if (rs->need_dump) {
		r = reread_kernel(rs, ret ? NULL : err);
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
	r = sync_routes(rs, ret ? NULL : err);
	return ret ? ret : r;
}

/* ---- notifications ------------------------------------------------------------- */

static bool link_wanted(struct route_syncer *rs, int ifindex, const char *name)
{
	for (size_t i = 0; i < rs->wants.n; i++) {
		const struct want *w = &rs->wants.v[i];
		if ((ifindex && w->ifindex == ifindex) || (name && !strcmp(w->ifname, name)))
			return true;
	}
	return false;
}

static int on_event(struct nl_msg *msg, void *arg)
{
	struct route_syncer *rs = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK: {
		struct nlattr *tb[IFLA_MAX + 1];
		struct ifinfomsg *ifi = nlmsg_data(nlh);
		/* Appeared, went down (IPv4 routes flushed without a notification),
		 * came up (routes to re-add), went away: re-read everything. */
		if (nlmsg_parse(nlh, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
			break;
		rs->links_stale = true;
		if (link_wanted(rs, ifi->ifi_index,
		                tb[IFLA_IFNAME] ? nla_get_string(tb[IFLA_IFNAME]) : NULL))
			rs->need_dump = true;
		if (rs->on_link_up && nlh->nlmsg_type == RTM_NEWLINK && (ifi->ifi_flags & IFF_UP) &&
		    tb[IFLA_IFNAME])
			rs->on_link_up(rs->on_link_up_arg, nla_get_string(tb[IFLA_IFNAME]));
		if (rs->on_link && nlh->nlmsg_type == RTM_NEWLINK && tb[IFLA_IFNAME])
			rs->on_link(rs->on_link_up_arg, nla_get_string(tb[IFLA_IFNAME]));
		break;
	}
	case RTM_DELROUTE: {
		struct rt_info ri;
		struct rkey k;
		struct want *w;

		if (decode_route(nlh, &ri) < 0 || ri.table != rs->table || ri.type != RTN_UNICAST)
			break;
		rt_info_key(&ri, &k);
		if (ri.protocol == rs->protocol) {
			/* Ours, and we believe it exists: someone else deleted it. */
			if (kset_get(&rs->kern, &k))
				rs->need_dump = true;
		} else if (ri.plen == addr_len(ri.family) * 8) {
			w = wset_get(&rs->wants, ri.family, ri.addr);
			if (w && w->st == W_CONFLICT)
				rs->need_sync = true;
		}
		break;
	}
	}
	return NL_OK;
}

int route_syncer_handle_events(struct route_syncer *rs, struct herr *err)
{
	int r;

	for (;;) {
		r = nl_recvmsgs(rs->ev, rs->ev_cb); /* one datagram's worth; 0 on success */
		if (r == -NLE_AGAIN)
			break;
		if (r == -NLE_NOMEM) { /* ENOBUFS: notifications were lost */
			hlog(HLOG_INFO, "Route notifications overflowed; re-reading the kernel",
			     NULL);
			rs->need_dump = true;
			continue;
		}
		if (r < 0)
			return herr_set(err, -EIO, "route syncer: reading notifications: %s",
			                nl_geterror(r));
	}
	if (!rs->have_plan) /* the first apply re-reads the kernel if need be */
		return 0;
	if (rs->need_dump) {
		r = reread_kernel(rs, err);
		if (r < 0)
			return r;
		rs->need_dump = false;
	} else if (!rs->need_sync) {
		return 0;
	}
	rs->need_sync = false;
	return sync_routes(rs, err);
}

/* ---- life cycle ------------------------------------------------------------------ */

int route_syncer_fd(const struct route_syncer *rs)
{
	return nl_socket_get_fd(rs->ev);
}

enum route_state route_syncer_route_state(const struct route_syncer *rs, int family,
                                          const char *dst)
{
	struct plan_route pr = {.family = family, .ifname = "x", .metric = 1};
	struct rkey k;
	const struct want *w;

	snprintf(pr.dst, sizeof(pr.dst), "%s", dst);
	if (parse_plan_route(&pr, &k, NULL) < 0)
		return ROUTE_NOT_WANTED;
	w = wset_get(&rs->wants, k.family, k.addr);
	if (!w)
		return ROUTE_NOT_WANTED;
	switch (w->st) {
	case W_NEW:
		return ROUTE_PENDING;
	case W_OK:
		return ROUTE_IN_PLACE;
	case W_LINK:
		return ROUTE_WAITING_LINK;
	case W_CONFLICT:
		return ROUTE_WAITING_CONFLICT;
	case W_ERROR:
		break;
	}
	return ROUTE_FAILED;
}

const char *route_state_name(enum route_state st)
{
	static const char *names[] = {"not-wanted",   "pending",          "in-place",
	                              "waiting-link", "waiting-conflict", "failed"};
	return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "unknown";
}

void route_syncer_foreach_kernel(const struct route_syncer *rs,
                                 void (*fn)(void *arg, int family, const char *dst,
                                            uint32_t metric),
                                 void *arg)
{
	char dst[INET6_ADDRSTRLEN + 4];

	for (size_t i = 0; i < rs->kern.nb; i++)
		for (const struct kroute *e = rs->kern.b[i]; e; e = e->next) {
			rkey_format(&e->k, dst, sizeof(dst));
			fn(arg, e->k.family == AF_INET ? 4 : 6, dst, e->k.metric);
		}
}

void route_syncer_get_stats(const struct route_syncer *rs, struct route_syncer_stats *out)
{
	*out = rs->st;
}

void route_syncer_free(struct route_syncer *rs)
{
	if (!rs)
		return;
	if (rs->ack_cb)
		nl_cb_put(rs->ack_cb);
	if (rs->dump_cb)
		nl_cb_put(rs->dump_cb);
	if (rs->ev_cb)
		nl_cb_put(rs->ev_cb);
	if (rs->links)
		nl_cache_free(rs->links);
	if (rs->req)
		nl_socket_free(rs->req);
	if (rs->ev)
		nl_socket_free(rs->ev);
	kset_clear(&rs->kern);
	wset_free(&rs->wants);
	free(rs->sendbuf);
	free(rs);
}

struct route_syncer *route_syncer_new(const struct route_syncer_opts *o, struct herr *err)
{
	struct route_syncer *rs = calloc(1, sizeof(*rs));
	int r;

	if (!rs) {
		herr_set(err, -ENOMEM, "route syncer: out of memory");
		return NULL;
	}
	rs->protocol = o && o->protocol ? o->protocol : HANDOFF_RTPROT;
	rs->table = o && o->table ? o->table : HANDOFF_RTTABLE_MAIN;
	rs->on_link_up = o ? o->on_link_up : NULL;
	rs->on_link_up_arg = o ? o->on_link_up_arg : NULL;
	rs->on_link = o ? o->on_link : NULL;
	rs->next_seq = 1;
	/* 1-4 belong to the kernel, boot-time and static routes (the admin's); 12
	 * is BIRD's own, which BIRD deletes. Owning any of them would be wrong. */
	if (rs->protocol <= RTPROT_STATIC || rs->protocol == RTPROT_BIRD) {
		herr_set(
		    err, -EINVAL,
		    "route syncer: field protocol: %u is reserved (kernel, boot, static or bird); "
		    "use a private number such as %d",
		    rs->protocol, HANDOFF_RTPROT);
		free(rs);
		return NULL;
	}
	if (rs->table == RT_TABLE_LOCAL || rs->table == RT_TABLE_UNSPEC) {
		herr_set(err, -EINVAL,
		         "route syncer: field table: %u is not a table for workload routes",
		         rs->table);
		free(rs);
		return NULL;
	}

	/* Subscribe before the first dump so that no change falls in between. */
	rs->ev = open_sock(err, "notification");
	if (!rs->ev)
		goto fail;
	r = nl_socket_add_memberships(rs->ev, RTNLGRP_LINK, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE,
	                              0);
	if (r == 0)
		r = nl_socket_set_nonblocking(rs->ev);
	if (r < 0) {
		herr_set(err, -EIO, "route syncer: subscribing to route and link notifications: %s",
		         nl_geterror(r));
		goto fail;
	}
	rs->req = open_sock(err, "request");
	if (!rs->req)
		goto fail;
	set_sockopt_int(rs->req, SOL_NETLINK, NETLINK_EXT_ACK, 1);
	set_sockopt_int(rs->req, SOL_NETLINK, NETLINK_CAP_ACK, 1);
	set_sockopt_int(rs->req, SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1);

	rs->ack_cb = make_cb(rs->req);
	rs->dump_cb = make_cb(rs->req);
	rs->ev_cb = make_cb(rs->ev);
	rs->sendbuf = malloc(SEND_BATCH_BYTES);
	if (!rs->ack_cb || !rs->dump_cb || !rs->ev_cb || !rs->sendbuf) {
		herr_set(err, -ENOMEM, "route syncer: out of memory");
		goto fail;
	}
	nl_cb_set(rs->ack_cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, rs);
	nl_cb_err(rs->ack_cb, NL_CB_CUSTOM, on_error, rs);
	nl_cb_set(rs->dump_cb, NL_CB_VALID, NL_CB_CUSTOM, on_dump_msg, rs);
	nl_cb_set(rs->ev_cb, NL_CB_VALID, NL_CB_CUSTOM, on_event, rs);

	r = rtnl_link_alloc_cache(rs->req, AF_UNSPEC, &rs->links);
	if (r < 0) {
		herr_set(err, -EIO, "route syncer: reading links: %s", nl_geterror(r));
		goto fail;
	}
	if (reread_kernel(rs, err) < 0)
		goto fail;
	return rs;
fail:
	route_syncer_free(rs);
	return NULL;
}
