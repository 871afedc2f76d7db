/* routes_kernel.c - the route syncer's netlink messages (routes.c has the
 * overview): decoding route messages, reading the kernel's routes of our
 * protocol (a dump, retried when interrupted), and sending route operations
 * as a pipeline (many per sendmsg, a window of unacknowledged ones, ACKs
 * matched by sequence number). Kept apart from the decisions of what to send
 * (routes_sync.c) so that this file is the only one that speaks to the kernel
 * about routes. */
#define _GNU_SOURCE
#include "dataplane/routes_internal.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int decode_route(struct nlmsghdr *nlh, struct rt_info *ri)
{
	struct nlattr *tb[RTA_MAX + 1];
	struct rtmsg *rtm;

	if (nlmsg_parse(nlh, sizeof(*rtm), tb, RTA_MAX, NULL) < 0)
		return -EINVAL;
	rtm = nlmsg_data(nlh);
	memset(ri, 0, sizeof(*ri));
	ri->family = rtm->rtm_family;
	if (ri->family != AF_INET && ri->family != AF_INET6)
		return -EAFNOSUPPORT;
	ri->plen = rtm->rtm_dst_len;
	ri->protocol = rtm->rtm_protocol;
	ri->type = rtm->rtm_type;
	ri->table = tb[RTA_TABLE] ? nla_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	ri->metric = tb[RTA_PRIORITY] ? nla_get_u32(tb[RTA_PRIORITY]) : 0;
	ri->oif = tb[RTA_OIF] ? (int)nla_get_u32(tb[RTA_OIF]) : 0;
	if (tb[RTA_DST]) {
		if ((size_t)nla_len(tb[RTA_DST]) != addr_len(ri->family))
			return -EINVAL;
		memcpy(ri->addr, nla_data(tb[RTA_DST]), addr_len(ri->family));
	}
	return 0;
}

void rs_rt_info_key(const struct rt_info *ri, struct rkey *k)
{
	memset(k, 0, sizeof(*k));
	k->family = ri->family;
	k->plen = ri->plen;
	memcpy(k->addr, ri->addr, addr_len(ri->family));
	k->metric = ri->metric;
}

/* ---- reading the kernel's routes of our protocol ---------------------------- */

int rs_on_dump_msg(struct nl_msg *msg, void *arg)
{
	struct route_syncer *rs = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct rt_info ri;
	struct rkey k;

	if (nlh->nlmsg_type != RTM_NEWROUTE || decode_route(nlh, &ri) < 0)
		return NL_OK;
	if (ri.protocol != rs->protocol || ri.table != rs->table || ri.type != RTN_UNICAST)
		return NL_OK;
	rs_rt_info_key(&ri, &k);
	if (rs_kset_put(rs->dump_into, &k, ri.oif) < 0)
		return NL_STOP;
	return NL_OK;
}

static int dump_once(struct route_syncer *rs, struct kset *into, struct herr *err)
{
	struct rtmsg rtm = {
	    .rtm_family = AF_UNSPEC,
	    .rtm_protocol = rs->protocol, /* kernel-side filters with strict checking */
	    .rtm_table = rs->table < 256 ? (uint8_t)rs->table : RT_TABLE_UNSPEC,
	};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_DUMP);
	int r;

	if (!msg)
		return herr_set(err, -ENOMEM, "route syncer: dump: out of memory");
	if (nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
	    (rs->table >= 256 && nla_put_u32(msg, RTA_TABLE, rs->table) < 0)) {
		nlmsg_free(msg);
		return herr_set(err, -ENOMEM, "route syncer: dump: out of memory");
	}
	r = nl_send_auto(rs->req, msg);
	nlmsg_free(msg);
	if (r < 0)
		return herr_set(err, -EIO, "route syncer: dump request: %s", nl_geterror(r));
	rs->dump_into = into;
	r = nl_recvmsgs(rs->req, rs->dump_cb);
	rs->dump_into = NULL;
	if (r == -NLE_DUMP_INTR)
		return -EAGAIN;
	if (r < 0)
		return herr_set(err, -EIO, "route syncer: reading the route dump: %s",
		                nl_geterror(r));
	return 0;
}

/* Replace `kern` with the kernel's current routes of our protocol, and the link
 * cache with the current links. */
int rs_reread_kernel(struct route_syncer *rs, struct herr *err)
{
	struct kset fresh = {0};
	int r, tries = 0;

	r = nl_cache_refill(rs->req, rs->links);
	if (r < 0)
		return herr_set(err, -EIO, "route syncer: reading links: %s", nl_geterror(r));
	rs->links_stale = false;
	do {
		rs_kset_clear(&fresh);
		r = dump_once(rs, &fresh, err);
	} while (r == -EAGAIN && ++tries < 5); /* the table changed during the dump */
	if (r < 0) {
		rs_kset_clear(&fresh);
		if (r == -EAGAIN)
			return herr_set(err, -EAGAIN,
			                "route syncer: route dump kept being interrupted");
		return r;
	}
	rs_kset_clear(&rs->kern);
	rs->kern = fresh;
	rs->st.resyncs++;
	return 0;
}

/* ---- pipelined route operations --------------------------------------------- */

static struct op *op_for_seq(struct route_syncer *rs, uint32_t seq)
{
	uint32_t i = seq - rs->seq0;

	if (!rs->ops || i >= rs->nops || rs->ops[i].result != 1)
		return NULL;
	return &rs->ops[i];
}

int rs_on_ack(struct nl_msg *msg, void *arg)
{
	struct route_syncer *rs = arg;
	struct op *o = op_for_seq(rs, nlmsg_hdr(msg)->nlmsg_seq);

	if (o) {
		o->result = 0;
		rs->nacked++;
	}
	return NL_OK;
}

int rs_on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct route_syncer *rs = arg;
	struct op *o = op_for_seq(rs, e->msg.nlmsg_seq);
	struct nlmsghdr *outer = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);

	if (!o)
		return NL_SKIP;
	o->result = e->error;
	rs->nacked++;
	/* With NETLINK_EXT_ACK the kernel explains itself ("Nexthop device is not up"). */
	if (!rs->extack[0] && (outer->nlmsg_flags & NLM_F_ACK_TLVS)) {
		size_t off = sizeof(*e);
		if (!(outer->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - NLMSG_HDRLEN;
		size_t total = outer->nlmsg_len - NLMSG_HDRLEN;
		if (off < total) {
			struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
			if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)e + off),
			              (int)(total - off), NULL) == 0 &&
			    tb[NLMSGERR_ATTR_MSG])
				snprintf(rs->extack, sizeof(rs->extack), "%s",
				         nla_get_string(tb[NLMSGERR_ATTR_MSG]));
		}
	}
	return NL_SKIP;
}

static int build_msg(struct route_syncer *rs, const struct op *o, struct nl_msg **out)
{
	struct rtnl_route *r = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst = nl_addr_build(o->k.family, o->k.addr, addr_len(o->k.family));
	int ret = -NLE_NOMEM;

	if (!r || !nh || !dst) {
		if (nh)
			rtnl_route_nh_free(nh);
		goto out;
	}
	nl_addr_set_prefixlen(dst, o->k.plen);
	rtnl_route_set_family(r, o->k.family);
	rtnl_route_set_dst(r, dst);
	rtnl_route_set_table(r, rs->table);
	rtnl_route_set_protocol(r, rs->protocol);
	rtnl_route_set_priority(r, o->k.metric);
	rtnl_route_set_type(r, RTN_UNICAST);
	/* IPv4 device routes are scope link (as `ip route add ... dev` makes them);
	 * IPv6 routes have no scopes. A delete with the same scope matches. */
	rtnl_route_set_scope(r, o->k.family == AF_INET ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE);
	rtnl_route_nh_set_ifindex(nh, o->oif);
	rtnl_route_add_nexthop(r, nh);
	switch (o->kind) {
	case OP_ADD:
		ret = rtnl_route_build_add_request(r, NLM_F_EXCL, out);
		break;
	case OP_REPLACE: /* our own route at the same key, on another interface */
		ret = rtnl_route_build_add_request(r, NLM_F_REPLACE, out);
		break;
	case OP_DEL:
		ret = rtnl_route_build_del_request(r, 0, out);
		break;
	}
out:
	nl_addr_put(dst);
	rtnl_route_put(r);
	return ret;
}

/* Send every op, many per sendmsg, at most ACK_WINDOW unacknowledged, and
 * collect each result into ops[i].result. Returns 0, or a negative errno when
 * the socket failed (results not received are set to that error). */
int rs_run_ops(struct route_syncer *rs, struct op *ops, size_t n, struct herr *err)
{
	size_t sent = 0;
	int ret = 0;

	if (!n)
		return 0;
	rs->ops = ops;
	rs->nops = n;
	rs->nacked = 0;
	rs->seq0 = rs->next_seq;
	rs->next_seq += (uint32_t)n;
	for (size_t i = 0; i < n; i++)
		ops[i].result = 1;

	while (rs->nacked < n) {
		size_t len = 0;

		/* A route message is under 128 bytes; 512 of room is ample. */
		while (sent < n && sent - rs->nacked < ACK_WINDOW &&
		       len + 512 <= SEND_BATCH_BYTES) {
			struct nl_msg *msg = NULL;
			int r = build_msg(rs, &ops[sent], &msg);
			if (r < 0) {
				ret = herr_set(err, -ENOMEM,
				               "route syncer: building a route message: %s",
				               nl_geterror(r));
				goto fail;
			}
			nl_complete_msg(rs->req, msg); /* port, REQUEST, ACK */
			struct nlmsghdr *nlh = nlmsg_hdr(msg);
			if (nlh->nlmsg_len > 512) {
				ret = herr_set(err, -EMSGSIZE,
				               "route syncer: route message of %u bytes",
				               nlh->nlmsg_len);
				nlmsg_free(msg);
				goto fail;
			}
			nlh->nlmsg_seq = rs->seq0 + (uint32_t)sent;
			memcpy(rs->sendbuf + len, nlh, nlh->nlmsg_len);
			len += NLMSG_ALIGN(nlh->nlmsg_len);
			nlmsg_free(msg);
			sent++;
		}
		if (len) {
			int r = nl_sendto(rs->req, rs->sendbuf, len);
			if (r < 0) {
				ret = herr_set(err, -EIO, "route syncer: sending routes: %s",
				               nl_geterror(r));
				goto fail;
			}
		}
		/* Read ACKs when the window is full or everything is out. */
		if (sent == n || sent - rs->nacked >= ACK_WINDOW) {
			int r = nl_recvmsgs(rs->req, rs->ack_cb);
			if (r < 0) {
				ret = herr_set(err, -EIO,
				               "route syncer: reading acknowledgements: %s",
				               nl_geterror(r));
				goto fail;
			}
		}
	}
	rs->ops = NULL;
	return 0;
fail:
	/* We no longer know what the kernel did with the rest: re-read it next time. */
	for (size_t i = 0; i < n; i++)
		if (ops[i].result == 1)
			ops[i].result = ret;
	rs->ops = NULL;
	rs->need_dump = true;
	return ret;
}
