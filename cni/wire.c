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
#include <linux/if_tun.h>
#include <net/if.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
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

/* A persistent tap device for a VM inside the pod (QEMU opens it by name). */
static int make_tap(const char *name, struct herr *err)
{
	struct ifreq ifr = {0};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), r = 0;

	if (fd < 0)
		return herr_set(err, -errno, "tap %s: open /dev/net/tun: %s", name,
		                strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0)
		r = herr_set(err, -errno, "tap %s: %s", name, strerror(errno));
	close(fd);
	return r;
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
	if (r == 0 && tap) {
		r = make_tap("tap0", err);
		if (r == 0)
			r = link_up(sk, "tap0", c->mtu, NULL, NULL, 0, err);
		out->tap = r == 0;
	}
	nl_socket_free(sk);
	return r;
}

int cni_wire_add(const struct cni_conf *c, const char *host_if, const char *netns_path,
                 const char *ifname, const struct cni_ipam_result *ipam, bool tap,
                 struct cni_wired *out, struct herr *err)
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
	if (r == 0 && c->mtu) {
		struct nl_sock *sk = nl_open(err);
		r = sk ? link_up(sk, host_if, c->mtu, NULL, NULL, 0, err) : -EIO;
		nl_socket_free(sk);
	}
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

int cni_wire_del_tap(const char *netns_path, struct herr *err)
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
		r = link_delete("tap0", err);
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

static int check_pod(const char *ifname, const struct cni_ipam_result *ips, struct herr *err)
{
	struct nl_sock *sk = nl_open(err);
	struct rtnl_link *l = NULL;
	struct nl_cache *addrs = NULL;
	int r, ifindex;

	if (!sk)
		return -EIO;
	if ((r = rtnl_link_get_kernel(sk, 0, ifname, &l)) < 0) {
		nl_socket_free(sk);
		return herr_set(err, -ENODEV, "interface %s in the pod: %s", ifname,
		                nl_geterror(r));
	}
	ifindex = rtnl_link_get_ifindex(l);
	if (!(rtnl_link_get_flags(l) & IFF_UP))
		r = herr_set(err, -ENETDOWN, "interface %s in the pod: is down", ifname);
	rtnl_link_put(l);
	if (r == 0 && rtnl_addr_alloc_cache(sk, &addrs) < 0)
		r = herr_set(err, -EIO, "interface %s in the pod: cannot list addresses", ifname);
	for (int i = 0; r == 0 && i < ips->nips; i++)
		if (!has_address(addrs, ifindex, &ips->ips[i]))
			r = herr_set(err, -ENOENT, "interface %s in the pod: address %s is missing",
			             ifname, ips->ips[i].addr);
	nl_cache_free(addrs);
	nl_socket_free(sk);
	return r;
}

int cni_wire_check(const char *host_if, const char *host_mac, const char *netns_path,
                   const char *ifname, const struct cni_ipam_result *ips, struct herr *err)
{
	struct nl_sock *sk = nl_open(err);
	struct rtnl_link *l = NULL;
	char mac[32] = "";
	int podns, hostns, r;

	if (!sk)
		return -EIO;
	r = rtnl_link_get_kernel(sk, 0, host_if, &l);
	nl_socket_free(sk);
	if (r < 0)
		return herr_set(err, -ENODEV, "host interface %s: %s", host_if, nl_geterror(r));
	if (rtnl_link_get_addr(l))
		nl_addr2str(rtnl_link_get_addr(l), mac, sizeof(mac));
	rtnl_link_put(l);
	if (strcasecmp(mac, host_mac))
		return herr_set(err, -EINVAL, "host interface %s: MAC is %s, hostMAC says %s",
		                host_if, mac, host_mac);
	podns = open(netns_path, O_RDONLY | O_CLOEXEC);
	if (podns < 0)
		return herr_set(err, -errno, "CNI_NETNS %s: %s", netns_path, strerror(errno));
	hostns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (hostns < 0 || setns(podns, CLONE_NEWNET) < 0) {
		r = herr_set(err, -errno, "CNI_NETNS %s: %s", netns_path, strerror(errno));
	} else {
		r = check_pod(ifname, ips, err);
		if (setns(hostns, CLONE_NEWNET) < 0 && r == 0)
			r = herr_set(err, -errno, "back to the host namespace: %s",
			             strerror(errno));
	}
	if (hostns >= 0)
		close(hostns);
	close(podns);
	return r;
}
