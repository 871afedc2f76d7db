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
 * sets; routes_kernel.c the netlink messages (decoding, the dump, the
 * pipeline); routes_sync.c the plan -> wants and the reconciliation pass. */
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
		rs_rt_info_key(&ri, &k);
		if (ri.protocol == rs->protocol) {
			/* Ours, and we believe it exists: someone else deleted it. */
			if (rs_kset_get(&rs->kern, &k))
				rs->need_dump = true;
		} else if (ri.plen == addr_len(ri.family) * 8) {
			w = rs_wset_get(&rs->wants, ri.family, ri.addr);
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
		r = rs_reread_kernel(rs, err);
		if (r < 0)
			return r;
		rs->need_dump = false;
	} else if (!rs->need_sync) {
		return 0;
	}
	rs->need_sync = false;
	return rs_sync_routes(rs, err);
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
	if (rs_parse_plan_route(&pr, &k, NULL) < 0)
		return ROUTE_NOT_WANTED;
	w = rs_wset_get(&rs->wants, k.family, k.addr);
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
			rs_rkey_format(&e->k, dst, sizeof(dst));
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
	rs_kset_clear(&rs->kern);
	rs_wset_free(&rs->wants);
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
	nl_cb_set(rs->ack_cb, NL_CB_ACK, NL_CB_CUSTOM, rs_on_ack, rs);
	nl_cb_err(rs->ack_cb, NL_CB_CUSTOM, rs_on_error, rs);
	nl_cb_set(rs->dump_cb, NL_CB_VALID, NL_CB_CUSTOM, rs_on_dump_msg, rs);
	nl_cb_set(rs->ev_cb, NL_CB_VALID, NL_CB_CUSTOM, on_event, rs);

	r = rtnl_link_alloc_cache(rs->req, AF_UNSPEC, &rs->links);
	if (r < 0) {
		herr_set(err, -EIO, "route syncer: reading links: %s", nl_geterror(r));
		goto fail;
	}
	if (rs_reread_kernel(rs, err) < 0)
		goto fail;
	return rs;
fail:
	route_syncer_free(rs);
	return NULL;
}
