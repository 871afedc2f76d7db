/* arp_suppress.c - the handoff-arp nftables table, built with libnftnl and
 * sent over libmnl as one transaction (calico-semantics B.8). */
#include "dataplane/arp_suppress.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter_arp.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/plan.h"

/* nft's datatype number for ifname: `nft list` prints the map as
 * "type ifname : verdict" only with it (src/datatype.h, TYPE_IFNAME). */
#define NFT_TYPE_IFNAME 41
/* nft's byte order tag for string keys (BYTEORDER_HOST_ENDIAN): without it
 * `nft list` prints the interface names as "". Only for display. */
#define NFT_BYTEORDER_HOST 1
#define DISPATCH_SET_ID    1
#define ELEMS_PER_MSG      256
#define ARPOP_REPLY_BE                                                                             \
	{                                                                                          \
		0x00, 0x02                                                                         \
	}
/* Offsets in the ARP header (network header of family arp) for IPv4 over
 * Ethernet: opcode at 6, sender protocol address at 14. */
#define ARP_OFF_OP  6
#define ARP_OFF_SPA 14

/* Descriptions of the batch's messages, indexed by sequence number, so that
 * a kernel error names the object it was about. */
struct batch {
	struct nftnl_batch *b;
	uint32_t seq0, seq;
	char (*what)[96];
	size_t cap;
};

static int batch_note(struct batch *bt, const char *fmt, const char *arg)
{
	size_t i = bt->seq - bt->seq0;

	if (i >= bt->cap) {
		size_t ncap = bt->cap ? bt->cap * 2 : 64;
		void *nv = realloc(bt->what, ncap * sizeof(*bt->what));
		if (!nv)
			return -ENOMEM;
		bt->what = nv;
		bt->cap = ncap;
	}
	snprintf(bt->what[i], sizeof(bt->what[i]), fmt, arg);
	return 0;
}

/* Start a message of `type` in the batch; the caller adds the payload and
 * calls nftnl_batch_update(). */
static struct nlmsghdr *batch_msg(struct batch *bt, uint16_t type, uint16_t flags, const char *fmt,
                                  const char *arg)
{
	if (batch_note(bt, fmt, arg) < 0)
		return NULL;
	return nftnl_nlmsg_build_hdr(nftnl_batch_buffer(bt->b), type, NFPROTO_ARP, flags,
	                             bt->seq++);
}

static int batch_next(struct batch *bt)
{
	return nftnl_batch_update(bt->b) < 0 ? -ENOMEM : 0;
}

static struct nftnl_table *new_table(void)
{
	struct nftnl_table *t = nftnl_table_alloc();
	if (!t)
		return NULL;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_ARP);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, ARP_SUPPRESS_TABLE);
	return t;
}

static int add_table_msg(struct batch *bt, uint16_t type, uint16_t flags)
{
	struct nftnl_table *t = new_table();
	struct nlmsghdr *nlh;

	if (!t)
		return -ENOMEM;
	nlh = batch_msg(bt, type, flags, "table arp %s", ARP_SUPPRESS_TABLE);
	if (!nlh) {
		nftnl_table_free(t);
		return -ENOMEM;
	}
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	return batch_next(bt);
}

/* A chain; the base chain when `hooked`. */
static int add_chain_msg(struct batch *bt, const char *name, int hooked)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c)
		return -ENOMEM;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_ARP);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, ARP_SUPPRESS_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	if (hooked) {
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_ARP_OUT);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	nlh = batch_msg(bt, NFT_MSG_NEWCHAIN, NLM_F_CREATE, "chain %s", name);
	if (!nlh) {
		nftnl_chain_free(c);
		return -ENOMEM;
	}
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	return batch_next(bt);
}

static struct nftnl_set *new_dispatch_set(void)
{
	struct nftnl_set *s = nftnl_set_alloc();
	if (!s)
		return NULL;
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_ARP);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, ARP_SUPPRESS_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, ARP_SUPPRESS_MAP);
	nftnl_set_set_u32(s, NFTNL_SET_ID, DISPATCH_SET_ID);
	return s;
}

static int add_set_msg(struct batch *bt)
{
	struct nftnl_set *s = new_dispatch_set();
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(64);
	struct nlmsghdr *nlh;

	if (!s || !ud ||
	    !nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER, NFT_BYTEORDER_HOST)) {
		if (s)
			nftnl_set_free(s);
		if (ud)
			nftnl_udata_buf_free(ud);
		return -ENOMEM;
	}
	nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud),
	                   nftnl_udata_buf_len(ud));
	nftnl_udata_buf_free(ud);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, NFT_TYPE_IFNAME);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, IFNAMSIZ);
	/* A verdict map: the kernel sizes the data itself (no DATA_LEN). */
	nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
	nlh = batch_msg(bt, NFT_MSG_NEWSET, NLM_F_CREATE, "map %s", ARP_SUPPRESS_MAP);
	if (!nlh) {
		nftnl_set_free(s);
		return -ENOMEM;
	}
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	return batch_next(bt);
}

static int expr_add(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (!e)
		return -ENOMEM;
	nftnl_rule_add_expr(r, e);
	return 0;
}

static struct nftnl_expr *payload_load(uint32_t offset, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");
	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	return e;
}

static struct nftnl_expr *cmp_eq(const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");
	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	return e;
}

static int add_rule_msg(struct batch *bt, struct nftnl_rule *r, const char *what)
{
	struct nlmsghdr *nlh;

	nlh = batch_msg(bt, NFT_MSG_NEWRULE, NLM_F_APPEND | NLM_F_CREATE, "rule %s", what);
	if (!nlh)
		return -ENOMEM;
	nftnl_rule_nlmsg_build_payload(nlh, r);
	return batch_next(bt);
}

static struct nftnl_rule *new_rule(const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	if (!r)
		return NULL;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_ARP);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, ARP_SUPPRESS_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	return r;
}

/* output: oifname vmap @dispatch */
static int add_dispatch_rule(struct batch *bt)
{
	struct nftnl_rule *r = new_rule(ARP_SUPPRESS_BASE_CHAIN);
	struct nftnl_expr *meta, *lookup;
	int ret;

	if (!r)
		return -ENOMEM;
	meta = nftnl_expr_alloc("meta");
	if (meta) {
		nftnl_expr_set_u32(meta, NFTNL_EXPR_META_KEY, NFT_META_OIFNAME);
		nftnl_expr_set_u32(meta, NFTNL_EXPR_META_DREG, NFT_REG_1);
	}
	lookup = nftnl_expr_alloc("lookup");
	if (lookup) {
		nftnl_expr_set_u32(lookup, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(lookup, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_str(lookup, NFTNL_EXPR_LOOKUP_SET, ARP_SUPPRESS_MAP);
		nftnl_expr_set_u32(lookup, NFTNL_EXPR_LOOKUP_SET_ID, DISPATCH_SET_ID);
	}
	ret = expr_add(r, meta);
	if (!ret)
		ret = expr_add(r, lookup);
	else if (lookup)
		nftnl_expr_free(lookup);
	if (!ret)
		ret = add_rule_msg(bt, r, "oifname vmap @" ARP_SUPPRESS_MAP);
	nftnl_rule_free(r);
	return ret;
}

/* wl-<if>: arp operation reply arp saddr ip <ip> counter drop */
static int add_drop_rule(struct batch *bt, const char *chain, const struct in_addr *ip,
                         const char *what)
{
	static const uint8_t reply[2] = ARPOP_REPLY_BE;
	struct nftnl_rule *r = new_rule(chain);
	struct nftnl_expr *verdict;
	int ret;

	if (!r)
		return -ENOMEM;
	ret = expr_add(r, payload_load(ARP_OFF_OP, 2));
	if (!ret)
		ret = expr_add(r, cmp_eq(reply, sizeof(reply)));
	if (!ret)
		ret = expr_add(r, payload_load(ARP_OFF_SPA, 4));
	if (!ret)
		ret = expr_add(r, cmp_eq(ip, 4));
	if (!ret)
		ret = expr_add(r, nftnl_expr_alloc("counter"));
	if (!ret) {
		verdict = nftnl_expr_alloc("immediate");
		if (verdict) {
			nftnl_expr_set_u32(verdict, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
			nftnl_expr_set_u32(verdict, NFTNL_EXPR_IMM_VERDICT, NF_DROP);
		}
		ret = expr_add(r, verdict);
	}
	if (!ret)
		ret = add_rule_msg(bt, r, what);
	nftnl_rule_free(r);
	return ret;
}

/* NEWSETELEM messages, "<if>" : goto wl-<if> for workloads [from, to). */
static int add_elements_msg(struct batch *bt, const struct plan *p, size_t from, size_t to)
{
	struct nftnl_set *s = new_dispatch_set();
	struct nlmsghdr *nlh;

	if (!s)
		return -ENOMEM;
	for (size_t i = from; i < to; i++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();
		char key[IFNAMSIZ] = {0}, chain[IFNAMSIZ + sizeof(ARP_SUPPRESS_CHAIN_PREFIX)];
		if (!e) {
			nftnl_set_free(s);
			return -ENOMEM;
		}
		/* oifname loads IFNAMSIZ bytes, zero padded: the key is the same. */
		memcpy(key, p->arps[i].ifname, strlen(p->arps[i].ifname));
		snprintf(chain, sizeof(chain), ARP_SUPPRESS_CHAIN_PREFIX "%s", p->arps[i].ifname);
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, sizeof(key));
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, NFT_GOTO);
		nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, chain);
		nftnl_set_elem_add(s, e);
	}
	nlh =
	    batch_msg(bt, NFT_MSG_NEWSETELEM, NLM_F_CREATE, "elements of map %s", ARP_SUPPRESS_MAP);
	if (!nlh) {
		nftnl_set_free(s);
		return -ENOMEM;
	}
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	return batch_next(bt);
}

/* Reject a plan the kernel would half-accept, before anything is sent. */
static int check_plan(const struct plan *p, struct herr *err)
{
	struct in_addr a;

	for (size_t i = 0; p && i < p->narps; i++) {
		const struct plan_arp *pa = &p->arps[i];
		size_t len = strnlen(pa->ifname, sizeof(pa->ifname));
		if (len == 0 || len >= IFNAMSIZ)
			return herr_set(
			    err, -EINVAL,
			    "ARP suppression entry %zu: interface name \"%.*s\" must be "
			    "1 to %d characters",
			    i, (int)len, pa->ifname, IFNAMSIZ - 1);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(p->arps[j].ifname, pa->ifname))
				return herr_set(
				    err, -EINVAL,
				    "ARP suppression: interface %s appears twice in the "
				    "plan (entries %zu and %zu)",
				    pa->ifname, j, i);
		for (size_t k = 0; k < pa->naddrs; k++)
			if (inet_pton(AF_INET, pa->addrs[k], &a) != 1)
				return herr_set(
				    err, -EINVAL,
				    "ARP suppression for interface %s: address \"%s\" is "
				    "not a plain IPv4 address (ARP suppression is IPv4 "
				    "only)",
				    pa->ifname, pa->addrs[k]);
	}
	return 0;
}

static int build_batch(struct batch *bt, const struct plan *p, int rebuild)
{
	int ret;

	if (batch_note(bt, "%s", "the batch begin") < 0)
		return -ENOMEM;
	nftnl_batch_begin(nftnl_batch_buffer(bt->b), bt->seq++);
	if ((ret = batch_next(bt)))
		return ret;
	/* Create-if-missing then delete: the delete cannot fail with ENOENT, so
	 * the transaction never depends on what the kernel held before. */
	if ((ret = add_table_msg(bt, NFT_MSG_NEWTABLE, NLM_F_CREATE)) ||
	    (ret = add_table_msg(bt, NFT_MSG_DELTABLE, 0)))
		return ret;
	if (rebuild) {
		if ((ret = add_table_msg(bt, NFT_MSG_NEWTABLE, NLM_F_CREATE)) ||
		    (ret = add_set_msg(bt)) ||
		    (ret = add_chain_msg(bt, ARP_SUPPRESS_BASE_CHAIN, 1)))
			return ret;
		for (size_t i = 0; p && i < p->narps; i++) {
			const struct plan_arp *pa = &p->arps[i];
			char chain[IFNAMSIZ + sizeof(ARP_SUPPRESS_CHAIN_PREFIX)];
			snprintf(chain, sizeof(chain), ARP_SUPPRESS_CHAIN_PREFIX "%s", pa->ifname);
			if ((ret = add_chain_msg(bt, chain, 0)))
				return ret;
			for (size_t k = 0; k < pa->naddrs; k++) {
				struct in_addr a;
				char what[96];
				inet_pton(AF_INET, pa->addrs[k], &a);
				snprintf(what, sizeof(what), "%s drop reply from %s", chain,
				         pa->addrs[k]);
				if ((ret = add_drop_rule(bt, chain, &a, what)))
					return ret;
			}
		}
		/* A message must fit the batch's page overrun (64 KiB); an element
		 * takes under 100 bytes. */
		for (size_t i = 0; p && i < p->narps; i += ELEMS_PER_MSG) {
			size_t end = i + ELEMS_PER_MSG < p->narps ? i + ELEMS_PER_MSG : p->narps;
			if ((ret = add_elements_msg(bt, p, i, end)))
				return ret;
		}
		/* The dispatch rule last: the map it looks up is complete by then
		 * (all of it is applied at commit anyway). */
		if ((ret = add_dispatch_rule(bt)))
			return ret;
	}
	if (batch_note(bt, "%s", "the batch end") < 0)
		return -ENOMEM;
	nftnl_batch_end(nftnl_batch_buffer(bt->b), bt->seq++);
	return batch_next(bt);
}

/* Send the whole batch in one sendmsg (one transaction) and collect errors.
 * nfnetlink processes a batch synchronously inside sendmsg(), so every error
 * is queued by the time it returns; no ACK is requested, so an empty queue
 * means success. */
static int send_batch(struct batch *bt, struct herr *err)
{
	struct mnl_socket *nl;
	int iovlen = nftnl_batch_iovec_len(bt->b), ret = 0;
	struct iovec *iov;
	struct sockaddr_nl snl = {.nl_family = AF_NETLINK};
	struct msghdr msg = {0};
	size_t total = 0;
	char buf[MNL_SOCKET_BUFFER_SIZE];

	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl)
		return herr_set(err, -errno,
		                "table arp %s: opening the nftables netlink socket: %s",
		                ARP_SUPPRESS_TABLE, strerror(errno));
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = herr_set(err, -errno, "table arp %s: binding the netlink socket: %s",
		               ARP_SUPPRESS_TABLE, strerror(errno));
		goto out;
	}
	iov = calloc((size_t)iovlen, sizeof(*iov));
	if (!iov) {
		ret = herr_set(err, -ENOMEM, "table arp %s: out of memory", ARP_SUPPRESS_TABLE);
		goto out;
	}
	nftnl_batch_iovec(bt->b, iov, (uint32_t)iovlen);
	for (int i = 0; i < iovlen; i++)
		total += iov[i].iov_len;
	/* The kernel takes the batch as one skb: the send buffer must hold it. */
	int sz = (int)total + 4096;
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	msg.msg_name = &snl;
	msg.msg_namelen = sizeof(snl);
	msg.msg_iov = iov;
	msg.msg_iovlen = (size_t)iovlen;
	if (sendmsg(mnl_socket_get_fd(nl), &msg, 0) < 0) {
		ret = herr_set(err, -errno,
		               "table arp %s: sending the nftables batch (%zu bytes): %s",
		               ARP_SUPPRESS_TABLE, total, strerror(errno));
		free(iov);
		goto out;
	}
	free(iov);
	for (;;) {
		ssize_t n = recv(mnl_socket_get_fd(nl), buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			/* EAGAIN: nothing more queued. Anything else (ENOBUFS: more
			 * errors than the socket could hold) means replies were
			 * lost, so success cannot be assumed. */
			if (errno != EAGAIN && errno != EWOULDBLOCK && !ret)
				ret = herr_set(err, -errno,
				               "table arp %s: reading the kernel's answer to the "
				               "batch: %s",
				               ARP_SUPPRESS_TABLE, strerror(errno));
			break;
		}
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
		int len = (int)n;
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
			if (e->error == 0 || ret)
				continue;
			uint32_t i = e->msg.nlmsg_seq - bt->seq0;
			ret = herr_set(err, e->error, "table arp %s: the kernel refused %s: %s",
			               ARP_SUPPRESS_TABLE, i < bt->cap ? bt->what[i] : "the batch",
			               strerror(-e->error));
		}
	}
out:
	mnl_socket_close(nl);
	return ret;
}

static int apply(const struct plan *p, int rebuild, struct herr *err)
{
	struct batch bt = {0};
	int ret;

	/* Pages like nft's own (32 pages, overrun for the largest message). */
	bt.b =
	    nftnl_batch_alloc((uint32_t)getpagesize() * 32, UINT16_MAX + (uint32_t)getpagesize());
	if (!bt.b)
		return herr_set(err, -ENOMEM, "table arp %s: out of memory", ARP_SUPPRESS_TABLE);
	bt.seq0 = bt.seq = 1;
	ret = build_batch(&bt, p, rebuild);
	if (ret < 0)
		herr_set(err, ret, "table arp %s: building the nftables batch: %s",
		         ARP_SUPPRESS_TABLE, strerror(-ret));
	else
		ret = send_batch(&bt, err);
	nftnl_batch_free(bt.b);
	free(bt.what);
	return ret;
}

int arp_suppress_sync(const struct plan *p, struct herr *err)
{
	int ret = check_plan(p, err);

	return ret < 0 ? ret : apply(p, 1, err);
}

int arp_suppress_remove(struct herr *err)
{
	return apply(NULL, 0, err);
}
