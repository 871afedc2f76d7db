/* wire.c - the pod's plumbing: a veth pair whose host side carries the fixed
 * MAC and answers ARP for the gateway by proxy (DESIGN.md "Host-side MAC
 * address"), and inside the pod the addresses as /32 and /128 with routes via
 * the link-local gateways 169.254.1.1 and fe80::<EUI-64 of the host MAC>.
 *
 * No route to the pod is added on the host: the watcher owns workload routes.
 * Pod-side work happens after setns() into the pod's namespace (the plugin is
 * single-threaded); every netlink socket is opened after the switch. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cni.h"
#include "dataplane/link.h"

#define GATEWAY4 "169.254.1.1"

static struct nl_sock *nl_open(struct herr *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	int r;

	if (!sk) {
		herr_set(err, -ENOMEM, "netlink: out of memory");
		return NULL;
	}
	if ((r = nl_connect(sk, NETLINK_ROUTE)) < 0) {
		herr_set(err, -EIO, "netlink: %s", nl_geterror(r));
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

/* Bring `ifname` up (and set its MTU when mtu > 0); report its index and MAC. */
static int link_up(struct nl_sock *sk, const char *ifname, int mtu, int *ifindex, char *mac,
                   size_t maclen, struct herr *err)
{
	struct rtnl_link *cur = NULL, *chg;
	int r = rtnl_link_get_kernel(sk, 0, ifname, &cur);

	if (r < 0)
		return herr_set(err, -ENODEV, "interface %s: %s", ifname, nl_geterror(r));
	chg = rtnl_link_alloc();
	if (!chg) {
		rtnl_link_put(cur);
		return herr_set(err, -ENOMEM, "interface %s: out of memory", ifname);
	}
	rtnl_link_set_flags(chg, IFF_UP);
	if (mtu > 0)
		rtnl_link_set_mtu(chg, (unsigned int)mtu);
	r = rtnl_link_change(sk, cur, chg, 0);
	if (ifindex)
		*ifindex = rtnl_link_get_ifindex(cur);
	if (mac && rtnl_link_get_addr(cur))
		nl_addr2str(rtnl_link_get_addr(cur), mac, maclen);
	rtnl_link_put(chg);
	rtnl_link_put(cur);
	if (r < 0)
		return herr_set(err, -EIO, "interface %s: set up%s: %s", ifname,
		                mtu ? " and mtu" : "", nl_geterror(r));
	return 0;
}

static int add_address(struct nl_sock *sk, int ifindex, const char *ifname, const struct cni_ip *ip,
                       struct herr *err)
{
	char cidr[80];
	struct nl_addr *local = NULL;
	struct rtnl_addr *a;
	int r;

	snprintf(cidr, sizeof(cidr), "%s/%d", ip->addr, ip->family == 4 ? 32 : 128);
	if ((r = nl_addr_parse(cidr, ip->family == 4 ? AF_INET : AF_INET6, &local)) < 0)
		return herr_set(err, -EINVAL, "address %s: %s", cidr, nl_geterror(r));
	a = rtnl_addr_alloc();
	if (!a) {
		nl_addr_put(local);
		return herr_set(err, -ENOMEM, "address %s: out of memory", cidr);
	}
	rtnl_addr_set_ifindex(a, ifindex);
	rtnl_addr_set_local(a, local);
	/* Nobody else is on this link: duplicate detection only delays the address. */
	if (ip->family == 6)
		rtnl_addr_set_flags(a, IFA_F_NODAD);
	r = rtnl_addr_add(sk, a, 0);
	rtnl_addr_put(a);
	nl_addr_put(local);
	if (r < 0)
		return herr_set(err, -EIO, "interface %s: add address %s: %s", ifname, cidr,
		                nl_geterror(r));
	return 0;
}

/* dst dev ifindex [via gw], in the main table. */
static int add_route(struct nl_sock *sk, int family, const char *dst, const char *gw, int ifindex,
                     const char *ifname, struct herr *err)
{
	struct nl_addr *d = NULL, *g = NULL;
	struct rtnl_route *rt;
	struct rtnl_nexthop *nh;
	int af = family == 4 ? AF_INET : AF_INET6, r;

	if ((r = nl_addr_parse(dst, af, &d)) < 0 || (gw && (r = nl_addr_parse(gw, af, &g)) < 0)) {
		nl_addr_put(d);
		return herr_set(err, -EINVAL, "route %s via %s: %s", dst, gw ? gw : "-",
		                nl_geterror(r));
	}
	rt = rtnl_route_alloc();
	nh = rtnl_route_nh_alloc();
	if (!rt || !nh) {
		rtnl_route_put(rt);
		rtnl_route_nh_free(nh);
		nl_addr_put(d);
		nl_addr_put(g);
		return herr_set(err, -ENOMEM, "route %s: out of memory", dst);
	}
	rtnl_route_set_family(rt, (uint8_t)af);
	rtnl_route_set_table(rt, RT_TABLE_MAIN);
	rtnl_route_set_dst(rt, d);
	rtnl_route_set_scope(rt, gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
	rtnl_route_set_protocol(rt, RTPROT_BOOT);
	rtnl_route_nh_set_ifindex(nh, ifindex);
	if (g)
		rtnl_route_nh_set_gateway(nh, g);
	rtnl_route_add_nexthop(rt, nh);
	r = rtnl_route_add(sk, rt, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_route_put(rt);
	nl_addr_put(d);
	nl_addr_put(g);
	if (r < 0)
		return herr_set(err, -EIO, "interface %s: add route %s%s%s: %s", ifname, dst,
		                gw ? " via " : "", gw ? gw : "", nl_geterror(r));
	return 0;
}

/* Everything inside the pod namespace (the caller has switched to it). */
static int configure_pod(const struct cni_conf *c, const char *ifname,
                         const struct cni_ipam_result *ipam, bool tap, struct cni_wired *out,
                         struct herr *err)
{
	char gw6[64];
	struct nl_sock *sk = nl_open(err);
	bool v4 = false, v6 = false;
	int ifindex = 0, r;

	if (!sk)
		return -EIO;
	cni_mac_link_local(c->host_mac, gw6, sizeof(gw6));
	r = link_up(sk, ifname, c->mtu, &ifindex, out->ctr_mac, sizeof(out->ctr_mac), err);
	for (int i = 0; r == 0 && i < ipam->nips; i++) {
		r = add_address(sk, ifindex, ifname, &ipam->ips[i], err);
		v4 |= ipam->ips[i].family == 4;
		v6 |= ipam->ips[i].family == 6;
	}
	if (r == 0 && v4)
		r = add_route(sk, 4, GATEWAY4 "/32", NULL, ifindex, ifname, err);
	if (r == 0 && v4)
		r = add_route(sk, 4, "0.0.0.0/0", GATEWAY4, ifindex, ifname, err);
	if (r == 0 && v6)
		r = add_route(sk, 6, "::/0", gw6, ifindex, ifname, err);
	/* IPAM's routes, via our gateway: the host is the pod's only neighbour,
	 * whatever gateway IPAM had in mind. Defaults are ours already. */
	for (int i = 0; r == 0 && i < ipam->nroutes; i++) {
		const struct cni_route *rt = &ipam->routes[i];
		bool v4r = rt->family == 4, seen = false;
		for (int j = 0; j < i; j++) /* IPAM may list a route twice */
			seen |= !strcmp(ipam->routes[j].dst, rt->dst);
		if (seen || cni_route_is_default(rt) || (v4r ? !v4 : !v6))
			continue;
		r = add_route(sk, rt->family, rt->dst, v4r ? GATEWAY4 : gw6, ifindex, ifname, err);
	}
	nl_socket_free(sk);
	if (r == 0 && tap) {
		snprintf(out->tap_name, sizeof(out->tap_name), "%s", CNI_TAP_NAME);
		r = cni_tap_add(c, out->tap_name, ifname, out->tap_mac, sizeof(out->tap_mac), err);
		out->tap = r == 0;
	}
	return r;
}

/* The host side: the owner's mark (IFLA_IFALIAS, read back by
 * cni_wire_owner) and the MTU, in one change. */
static int host_mark(const char *host_if, const char *container_id, int mtu, struct herr *err)
{
	struct nl_sock *sk = nl_open(err);
	struct rtnl_link *cur = NULL, *chg = NULL;
	int r;

	if (!sk)
		return -EIO;
	if ((r = rtnl_link_get_kernel(sk, 0, host_if, &cur)) < 0) {
		nl_socket_free(sk);
		return herr_set(err, -ENODEV, "interface %s: %s", host_if, nl_geterror(r));
	}
	if (!(chg = rtnl_link_alloc()))
		r = -NLE_NOMEM;
	else {
		rtnl_link_set_ifalias(chg, container_id);
		if (mtu > 0)
			rtnl_link_set_mtu(chg, (unsigned int)mtu);
		r = rtnl_link_change(sk, cur, chg, 0);
	}
	rtnl_link_put(chg);
	rtnl_link_put(cur);
	nl_socket_free(sk);
	if (r < 0)
		return herr_set(err, -EIO, "interface %s: set owner%s: %s", host_if,
		                mtu ? " and mtu" : "", nl_geterror(r));
	return 0;
}

int cni_wire_owner(const char *host_if, char *owner, size_t len, struct herr *err)
{
	struct nl_sock *sk = nl_open(err);
	struct rtnl_link *l = NULL;
	int r;

	if (!sk)
		return -EIO;
	r = rtnl_link_get_kernel(sk, 0, host_if, &l);
	nl_socket_free(sk);
	if (r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV)
		return -ENODEV;
	if (r < 0)
		return herr_set(err, -EIO, "interface %s: %s", host_if, nl_geterror(r));
	snprintf(owner, len, "%s", rtnl_link_get_ifalias(l) ? rtnl_link_get_ifalias(l) : "");
	rtnl_link_put(l);
	return 0;
}

int cni_wire_add(const struct cni_conf *c, const char *host_if, const char *container_id,
                 const char *netns_path, const char *ifname, const struct cni_ipam_result *ipam,
                 bool tap, struct cni_wired *out, struct herr *err)
{
	int podns, hostns, r;

	memset(out, 0, sizeof(*out));
	snprintf(out->host_if, sizeof(out->host_if), "%s", host_if);
	snprintf(out->host_mac, sizeof(out->host_mac), "%s", c->host_mac);
	podns = open(netns_path, O_RDONLY | O_CLOEXEC);
	if (podns < 0)
		return herr_set(err, -errno, "CNI_NETNS %s: %s", netns_path, strerror(errno));
	hostns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (hostns < 0) {
		r = -errno;
		close(podns);
		return herr_set(err, r, "own network namespace: %s", strerror(-r));
	}
	r = link_veth_create(host_if, ifname, podns, err);
	if (r == 0)
		r = host_mark(host_if, container_id, c->mtu, err);
	if (r == 0)
		r = link_setup_host_iface(host_if, c->host_mac, err);
	if (r == 0) {
		if (setns(podns, CLONE_NEWNET) < 0)
			r = herr_set(err, -errno, "CNI_NETNS %s: setns: %s", netns_path,
			             strerror(errno));
		else {
			r = configure_pod(c, ifname, ipam, tap, out, err);
			if (setns(hostns, CLONE_NEWNET) < 0 && r == 0)
				r = herr_set(err, -errno, "back to the host namespace: %s",
				             strerror(errno));
		}
	}
	if (r < 0 && r != -EEXIST) {
		/* Undo: the veth's peer (and its addresses, routes) goes with it. */
		struct herr ignored;
		link_delete(host_if, &ignored);
	}
	close(hostns);
	close(podns);
	return r;
}

int cni_wire_del(const char *host_if, struct herr *err)
{
	int r = link_delete(host_if, err);
	return r == -ENODEV ? 0 : r;
}

int cni_wire_del_tap(const char *netns_path, const char *tap, struct herr *err)
{
	int podns, hostns, r = 0;

	if (!netns_path || !*netns_path)
		return 0;
	podns = open(netns_path, O_RDONLY | O_CLOEXEC);
	if (podns < 0) /* the pod's namespace is gone, and its tap with it */
		return 0;
	hostns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (hostns < 0 || setns(podns, CLONE_NEWNET) < 0) {
		r = herr_set(err, -errno, "CNI_NETNS %s: %s", netns_path, strerror(errno));
	} else {
		r = link_delete(tap, err);
		if (r == -ENODEV)
			r = 0;
		if (setns(hostns, CLONE_NEWNET) < 0 && r == 0)
			r = herr_set(err, -errno, "back to the host namespace: %s",
			             strerror(errno));
	}
	if (hostns >= 0)
		close(hostns);
	close(podns);
	return r;
}

static bool has_address(struct nl_cache *addrs, int ifindex, const struct cni_ip *ip)
{
	for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		char buf[80], *slash;
		if (rtnl_addr_get_ifindex(a) != ifindex || !rtnl_addr_get_local(a))
			continue;
		nl_addr2str(rtnl_addr_get_local(a), buf, sizeof(buf));
		if ((slash = strchr(buf, '/')))
			*slash = '\0';
		if (!strcmp(buf, ip->addr))
			return true;
	}
	return false;
}

/* A route to `dst` (a CIDR; "0.0.0.0/0", "::/0": the default) out of
 * ifindex via gw. */
static bool has_route(struct nl_cache *routes, int family, int ifindex, const char *dst,
                      const char *gw)
{
	struct nl_addr *want = NULL;
	bool found = false;

	if (nl_addr_parse(dst, family == 4 ? AF_INET : AF_INET6, &want) < 0)
		return false;
	for (struct nl_object *o = nl_cache_get_first(routes); o && !found;
	     o = nl_cache_get_next(o)) {
		struct rtnl_route *rt = (struct rtnl_route *)o;
		struct nl_addr *d = rtnl_route_get_dst(rt);
		struct rtnl_nexthop *nh;
		char buf[80];
		if (rtnl_route_get_family(rt) != nl_addr_get_family(want) ||
		    rtnl_route_get_table(rt) != RT_TABLE_MAIN || !d ||
		    nl_addr_get_prefixlen(d) != nl_addr_get_prefixlen(want) ||
		    nl_addr_cmp_prefix(d, want) || rtnl_route_get_nnexthops(rt) != 1)
			continue;
		nh = rtnl_route_nexthop_n(rt, 0);
		if (rtnl_route_nh_get_ifindex(nh) != ifindex || !rtnl_route_nh_get_gateway(nh))
			continue;
		nl_addr2str(rtnl_route_nh_get_gateway(nh), buf, sizeof(buf));
		found = !strcmp(buf, gw);
	}
	nl_addr_put(want);
	return found;
}

static int check_pod(const struct cni_conf *c, const char *ifname,
                     const struct cni_ipam_result *ips, const char *tap, struct herr *err)
{
	struct nl_sock *sk = nl_open(err);
	struct rtnl_link *l = NULL;
	struct nl_cache *addrs = NULL, *routes = NULL;
	bool v4 = false, v6 = false;
	char gw6[64];
	int r, ifindex;

	if (!sk)
		return -EIO;
	cni_mac_link_local(c->host_mac, gw6, sizeof(gw6));
	if ((r = rtnl_link_get_kernel(sk, 0, ifname, &l)) < 0) {
		nl_socket_free(sk);
		return herr_set(err, -ENODEV, "interface %s in the pod: %s", ifname,
		                nl_geterror(r));
	}
	ifindex = rtnl_link_get_ifindex(l);
	if (!(rtnl_link_get_flags(l) & IFF_UP))
		r = herr_set(err, -ENETDOWN, "interface %s in the pod: is down", ifname);
	rtnl_link_put(l);
	if (r == 0 && (rtnl_addr_alloc_cache(sk, &addrs) < 0 ||
	               rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &routes) < 0))
		r = herr_set(err, -EIO, "interface %s in the pod: cannot list addresses and routes",
		             ifname);
	for (int i = 0; r == 0 && i < ips->nips; i++) {
		v4 |= ips->ips[i].family == 4;
		v6 |= ips->ips[i].family == 6;
		if (!has_address(addrs, ifindex, &ips->ips[i]))
			r = herr_set(err, -ENOENT, "interface %s in the pod: address %s is missing",
			             ifname, ips->ips[i].addr);
	}
	if (r == 0 && v4 && !has_route(routes, 4, ifindex, "0.0.0.0/0", GATEWAY4))
		r = herr_set(err, -ENOENT, "pod: the default route via %s dev %s is missing",
		             GATEWAY4, ifname);
	if (r == 0 && v6 && !has_route(routes, 6, ifindex, "::/0", gw6))
		r = herr_set(err, -ENOENT, "pod: the IPv6 default route via %s dev %s is missing",
		             gw6, ifname);
	/* IPAM's routes, as ADD installed them: via our gateway. */
	for (int i = 0; r == 0 && i < ips->nroutes; i++) {
		const struct cni_route *rt = &ips->routes[i];
		const char *gw = rt->family == 4 ? GATEWAY4 : gw6;
		if (cni_route_is_default(rt) || (rt->family == 4 ? !v4 : !v6))
			continue;
		if (!has_route(routes, rt->family, ifindex, rt->dst, gw))
			r = herr_set(err, -ENOENT, "pod: the route to %s via %s dev %s is missing",
			             rt->dst, gw, ifname);
	}
	if (r == 0 && tap && *tap)
		r = cni_tap_check(tap, ifname, err);
	nl_cache_free(addrs);
	nl_cache_free(routes);
	nl_socket_free(sk);
	return r;
}

int cni_wire_check(const struct cni_conf *c, const char *host_if, const char *container_id,
                   const char *netns_path, const char *ifname, const struct cni_ipam_result *ips,
                   const char *tap, struct herr *err)
{
	struct nl_sock *sk = nl_open(err);
	struct rtnl_link *l = NULL;
	char mac[32] = "", key[80], val[16];
	const char *owner;
	int podns, hostns, r;

	if (!sk)
		return -EIO;
	r = rtnl_link_get_kernel(sk, 0, host_if, &l);
	nl_socket_free(sk);
	if (r < 0)
		return herr_set(err, -ENODEV, "host interface %s: %s", host_if, nl_geterror(r));
	if (rtnl_link_get_addr(l))
		nl_addr2str(rtnl_link_get_addr(l), mac, sizeof(mac));
	owner = rtnl_link_get_ifalias(l);
	if (!owner || strcmp(owner, container_id))
		r = herr_set(err, -EINVAL, "host interface %s: owned by container %s, not %s",
		             host_if, owner ? owner : "(none)", container_id);
	else if (strcasecmp(mac, c->host_mac))
		r = herr_set(err, -EINVAL, "host interface %s: MAC is %s, hostMAC says %s", host_if,
		             mac, c->host_mac);
	rtnl_link_put(l);
	if (r < 0)
		return r;
	/* Without proxy ARP nobody answers the pod's ARP for 169.254.1.1. */
	snprintf(key, sizeof(key), "net/ipv4/conf/%s/proxy_arp", host_if);
	if ((r = link_sysctl_read(key, val, sizeof(val), err)) < 0)
		return r;
	if (strcmp(val, "1"))
		return herr_set(err, -EINVAL, "host interface %s: proxy_arp is %s, must be 1",
		                host_if, val);
	podns = open(netns_path, O_RDONLY | O_CLOEXEC);
	if (podns < 0)
		return herr_set(err, -errno, "CNI_NETNS %s: %s", netns_path, strerror(errno));
	hostns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (hostns < 0 || setns(podns, CLONE_NEWNET) < 0) {
		r = herr_set(err, -errno, "CNI_NETNS %s: %s", netns_path, strerror(errno));
	} else {
		r = check_pod(c, ifname, ips, tap, err);
		if (setns(hostns, CLONE_NEWNET) < 0 && r == 0)
			r = herr_set(err, -errno, "back to the host namespace: %s",
			             strerror(errno));
	}
	if (hostns >= 0)
		close(hostns);
	close(podns);
	return r;
}
