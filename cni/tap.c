/* tap.c - the VM's tap device inside the pod, and what carries its traffic.
 *
 * A VM in the pod (QEMU -netdev tap,ifname=tap0,script=no) owns the pod's
 * address: every frame that arrives on the pod's veth goes to the tap, every
 * frame the VM writes goes out of the veth, unchanged. Two tc redirects do it
 * (ingress qdisc, a match-everything u32 filter with a mirred egress-redirect
 * action on each device; u32 rather than matchall, which kernels built
 * without cls_matchall lack, as this project's CI kernel), rather than a
 * bridge in the pod:
 *   - no MAC learning, no STP delay, no bridge netfilter hooks: a frame
 *     crosses the pod in one hop, whatever its addresses (the VM's MAC is its
 *     own; the host learns it by ARP, the VM learns the gateway's fixed MAC
 *     from the host's proxy ARP as a pod would);
 *   - the pod keeps its addresses and routes on the veth as in non-tap mode,
 *     so the result and CHECK are the same, and the runtime still reads the
 *     pod's IP from eth0;
 *   - the price: the pod's own network stack no longer receives on eth0 (its
 *     frames all go to the VM). A virt-launcher talks to the node over unix
 *     sockets, not the pod network, so nothing it needs is lost.
 *
 * The tap is persistent (it outlives this process, QEMU attaches by name),
 * optionally multiqueue (one fd per queue: QEMU's queues=N), and owned by a
 * uid/gid so that an unprivileged VM process may attach and nobody else may
 * (the kernel's tun_not_capable rule). Runs inside the pod's namespace. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/pkt_cls.h>
#include <linux/tc_act/tc_mirred.h>
#include <net/if.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/tc.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cni.h"

static int tap_create(const struct cni_conf *c, const char *name, struct herr *err)
{
	struct ifreq ifr = {0};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), r = 0;

	if (fd < 0)
		return herr_set(err, -errno, "tap %s: open /dev/net/tun: %s", name,
		                strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (c->tap_multiqueue ? IFF_MULTI_QUEUE : 0);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		r = herr_set(err, -errno, "tap %s: create: %s", name, strerror(errno));
	else if (c->tap_owner >= 0 && ioctl(fd, TUNSETOWNER, (unsigned long)c->tap_owner) < 0)
		r = herr_set(err, -errno, "tap %s: tapOwner %ld: %s", name, c->tap_owner,
		             strerror(errno));
	else if (c->tap_group >= 0 && ioctl(fd, TUNSETGROUP, (unsigned long)c->tap_group) < 0)
		r = herr_set(err, -errno, "tap %s: tapGroup %ld: %s", name, c->tap_group,
		             strerror(errno));
	else if (ioctl(fd, TUNSETPERSIST, 1) < 0)
		r = herr_set(err, -errno, "tap %s: make persistent: %s", name, strerror(errno));
	close(fd);
	return r;
}

/* Up (and MTU); index and MAC reported. */
static int tap_up(struct nl_sock *sk, const char *name, int mtu, int *ifindex, char *mac,
                  size_t maclen, struct herr *err)
{
	struct rtnl_link *cur = NULL, *chg;
	int r = rtnl_link_get_kernel(sk, 0, name, &cur);

	if (r < 0)
		return herr_set(err, -ENODEV, "interface %s: %s", name, nl_geterror(r));
	if (!(chg = rtnl_link_alloc())) {
		rtnl_link_put(cur);
		return herr_set(err, -ENOMEM, "interface %s: out of memory", name);
	}
	rtnl_link_set_flags(chg, IFF_UP);
	if (mtu > 0)
		rtnl_link_set_mtu(chg, (unsigned int)mtu);
	r = rtnl_link_change(sk, cur, chg, 0);
	*ifindex = rtnl_link_get_ifindex(cur);
	if (mac && rtnl_link_get_addr(cur))
		nl_addr2str(rtnl_link_get_addr(cur), mac, maclen);
	rtnl_link_put(chg);
	rtnl_link_put(cur);
	if (r < 0)
		return herr_set(err, -EIO, "interface %s: set up: %s", name, nl_geterror(r));
	return 0;
}

static int ifindex_of(struct nl_sock *sk, const char *name, struct herr *err)
{
	struct rtnl_link *l = NULL;
	int r = rtnl_link_get_kernel(sk, 0, name, &l);

	if (r < 0)
		return herr_set(err, -ENODEV, "interface %s: %s", name, nl_geterror(r));
	r = rtnl_link_get_ifindex(l);
	rtnl_link_put(l);
	return r;
}

/* tc qdisc add dev <from> ingress; tc filter add dev <from> ingress protocol
 * all u32 match u32 0 0 action mirred egress redirect dev <to>. */
static int redirect(struct nl_sock *sk, int from, int to, const char *name, struct herr *err)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	struct rtnl_cls *cls = rtnl_cls_alloc();
	struct rtnl_act *act = rtnl_act_alloc();
	const char *step = "out of memory";
	int r = -NLE_NOMEM;

	if (!q || !cls || !act)
		goto out;
	rtnl_tc_set_ifindex(TC_CAST(q), from);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_INGRESS);
	rtnl_tc_set_handle(TC_CAST(q), TC_H_MAKE(TC_H_INGRESS, 0));
	step = "ingress qdisc";
	if ((r = rtnl_tc_set_kind(TC_CAST(q), "ingress")) < 0 ||
	    (r = rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_EXCL)) < 0)
		goto out;
	step = "redirect filter";
	rtnl_tc_set_ifindex(TC_CAST(cls), from);
	rtnl_tc_set_parent(TC_CAST(cls), TC_H_MAKE(TC_H_INGRESS, 0));
	rtnl_cls_set_prio(cls, 1);
	rtnl_cls_set_protocol(cls, ETH_P_ALL);
	if ((r = rtnl_tc_set_kind(TC_CAST(cls), "u32")) < 0 ||
	    (r = rtnl_tc_set_kind(TC_CAST(act), "mirred")) < 0)
		goto out;
	rtnl_mirred_set_action(act, TCA_EGRESS_REDIR);
	rtnl_mirred_set_policy(act, TC_ACT_STOLEN);
	rtnl_mirred_set_ifindex(act, (uint32_t)to);
	/* One key that every frame matches: 32 bits at offset 0 under mask 0. */
	if ((r = rtnl_u32_add_key_uint32(cls, 0, 0, 0, 0)) < 0 ||
	    (r = rtnl_u32_set_cls_terminal(cls)) < 0 || (r = rtnl_u32_add_action(cls, act)) < 0)
		goto out;
	r = rtnl_cls_add(sk, cls, NLM_F_CREATE | NLM_F_EXCL);
out:
	rtnl_act_put(act);
	rtnl_cls_put(cls);
	rtnl_qdisc_put(q);
	if (r < 0)
		return herr_set(err, -EIO, "tap: %s on %s: %s", step, name, nl_geterror(r));
	return 0;
}

int cni_tap_add(const struct cni_conf *c, const char *name, const char *ifname, char *mac,
                size_t maclen, struct herr *err)
{
	struct nl_sock *sk;
	int tap_ix = 0, eth_ix, r;

	if ((r = tap_create(c, name, err)) < 0)
		return r;
	if (!(sk = nl_socket_alloc()))
		return herr_set(err, -ENOMEM, "tap %s: out of memory", name);
	if ((r = nl_connect(sk, NETLINK_ROUTE)) < 0) {
		nl_socket_free(sk);
		return herr_set(err, -EIO, "tap %s: netlink: %s", name, nl_geterror(r));
	}
	r = tap_up(sk, name, c->mtu, &tap_ix, mac, maclen, err);
	if (r == 0 && (r = eth_ix = ifindex_of(sk, ifname, err)) > 0)
		r = 0;
	if (r == 0)
		r = redirect(sk, eth_ix, tap_ix, ifname, err);
	if (r == 0)
		r = redirect(sk, tap_ix, eth_ix, name, err);
	nl_socket_free(sk);
	return r;
}

/* The redirect from `from` to `to` is in place: a u32 filter on from's
 * ingress whose first action is a mirred to `to`. */
static bool has_redirect(struct nl_sock *sk, int from, int to)
{
	struct nl_cache *cache = NULL;
	bool found = false;

	if (rtnl_cls_alloc_cache(sk, from, TC_H_MAKE(TC_H_INGRESS, 0), &cache) < 0)
		return false;
	for (struct nl_object *o = nl_cache_get_first(cache); o && !found;
	     o = nl_cache_get_next(o)) {
		struct rtnl_cls *cls = (struct rtnl_cls *)o;
		struct rtnl_act *act;
		const char *kind = rtnl_tc_get_kind(TC_CAST(cls));
		if (!kind || strcmp(kind, "u32") || !(act = rtnl_u32_get_action(cls)))
			continue;
		kind = rtnl_tc_get_kind(TC_CAST(act));
		found = kind && !strcmp(kind, "mirred") &&
		        rtnl_mirred_get_action(act) == TCA_EGRESS_REDIR &&
		        rtnl_mirred_get_ifindex(act) == (uint32_t)to;
	}
	nl_cache_free(cache);
	return found;
}

int cni_tap_check(const char *name, const char *ifname, struct herr *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	int tap_ix, eth_ix, r;

	if (!sk)
		return herr_set(err, -ENOMEM, "tap %s: out of memory", name);
	if ((r = nl_connect(sk, NETLINK_ROUTE)) < 0) {
		nl_socket_free(sk);
		return herr_set(err, -EIO, "tap %s: netlink: %s", name, nl_geterror(r));
	}
	if ((r = tap_ix = ifindex_of(sk, name, err)) > 0 &&
	    (r = eth_ix = ifindex_of(sk, ifname, err)) > 0) {
		r = 0;
		if (!has_redirect(sk, eth_ix, tap_ix))
			r = herr_set(err, -ENOENT,
			             "pod: the redirect from %s to the VM's tap %s is "
			             "missing",
			             ifname, name);
		else if (!has_redirect(sk, tap_ix, eth_ix))
			r = herr_set(err, -ENOENT,
			             "pod: the redirect from the VM's tap %s to %s is "
			             "missing",
			             name, ifname);
	} else if (r == -ENODEV)
		herr_prefix(err, "pod: the VM's tap: ");
	nl_socket_free(sk);
	return r;
}
