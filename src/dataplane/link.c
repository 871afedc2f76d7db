/* link.c - host-side workload interface setup (see link.h). */
#define _GNU_SOURCE
#include "dataplane/link.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/socket.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

int link_sysctl_write(const char *key, const char *value, struct herr *err)
{
	char path[256];
	size_t n = strlen(value);
	ssize_t w;
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/%s", key);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return herr_set(err, -errno, "sysctl %s: open: %s", key, strerror(errno));
	w = write(fd, value, n);
	if (w != (ssize_t)n) {
		int e = w < 0 ? errno : EIO;
		close(fd);
		return herr_set(err, -e, "sysctl %s: writing \"%s\": %s", key, value, strerror(e));
	}
	close(fd);
	return 0;
}

int link_sysctl_read(const char *key, char *buf, size_t len, struct herr *err)
{
	char path[256];
	ssize_t n;
	int fd;

	if (len == 0)
		return herr_set(err, -EINVAL, "sysctl %s: empty buffer", key);
	snprintf(path, sizeof(path), "/proc/sys/%s", key);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return herr_set(err, -errno, "sysctl %s: open: %s", key, strerror(errno));
	n = read(fd, buf, len - 1);
	if (n < 0) {
		int e = errno;
		close(fd);
		return herr_set(err, -e, "sysctl %s: read: %s", key, strerror(e));
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

/* libnl's error codes to errno for callers that branch on them. */
static int nl_to_errno(int nlerr)
{
	switch (-nlerr) {
	case NLE_EXIST:
		return -EEXIST;
	case NLE_OBJ_NOTFOUND:
	case NLE_NODEV:
		return -ENODEV;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_INVAL:
		return -EINVAL;
	default:
		return -EIO;
	}
}

static struct nl_sock *route_sock(struct herr *err, const char *ifname)
{
	struct nl_sock *sk = nl_socket_alloc();
	int r;

	if (!sk) {
		herr_set(err, -ENOMEM, "interface %s: out of memory", ifname);
		return NULL;
	}
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		herr_set(err, -EIO, "interface %s: netlink: %s", ifname, nl_geterror(r));
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

static int parse_unicast_mac(const char *ifname, const char *mac, struct nl_addr **out,
                             struct herr *err)
{
	unsigned int b[6];
	unsigned char bytes[6];
	char tail;

	if (sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
	           &tail) != 6 ||
	    strlen(mac) != 17)
		return herr_set(err, -EINVAL,
		                "interface %s: field mac: \"%s\" is not a MAC address "
		                "(xx:xx:xx:xx:xx:xx)",
		                ifname, mac);
	if (b[0] & 1)
		return herr_set(err, -EINVAL,
		                "interface %s: field mac: %s is a multicast address; a host "
		                "interface needs a unicast one",
		                ifname, mac);
	for (int i = 0; i < 6; i++)
		bytes[i] = (unsigned char)b[i];
	*out = nl_addr_build(AF_LLC, bytes, 6);
	return *out ? 0 : herr_set(err, -ENOMEM, "interface %s: out of memory", ifname);
}

/* Set the MAC (when different) and bring the link up. */
static int set_mac_and_up(struct nl_sock *sk, const char *ifname, struct nl_addr *mac,
                          struct herr *err)
{
	struct rtnl_link *cur = NULL, *chg = NULL;
	int r, ret = 0;

	r = rtnl_link_get_kernel(sk, 0, ifname, &cur);
	if (r < 0)
		return herr_set(err, nl_to_errno(r) == -ENODEV ? -ENODEV : nl_to_errno(r),
		                "interface %s: not found: %s", ifname, nl_geterror(r));
	chg = rtnl_link_alloc();
	if (!chg) {
		ret = herr_set(err, -ENOMEM, "interface %s: out of memory", ifname);
		goto out;
	}
	if (!rtnl_link_get_addr(cur) || nl_addr_cmp(rtnl_link_get_addr(cur), mac) != 0) {
		rtnl_link_set_addr(chg, mac);
		r = rtnl_link_change(sk, cur, chg, 0);
		if (r < 0) {
			ret = herr_set(err, nl_to_errno(r), "interface %s: setting MAC: %s", ifname,
			               nl_geterror(r));
			goto out;
		}
		rtnl_link_put(chg);
		chg = rtnl_link_alloc();
		if (!chg) {
			ret = herr_set(err, -ENOMEM, "interface %s: out of memory", ifname);
			goto out;
		}
	}
	if (!(rtnl_link_get_flags(cur) & IFF_UP)) {
		rtnl_link_set_flags(chg, IFF_UP);
		r = rtnl_link_change(sk, cur, chg, 0);
		if (r < 0)
			ret = herr_set(err, nl_to_errno(r), "interface %s: setting up: %s", ifname,
			               nl_geterror(r));
	}
out:
	if (chg)
		rtnl_link_put(chg);
	rtnl_link_put(cur);
	return ret;
}

struct sysctl_setting {
	const char *fmt; /* with %s for the interface */
	const char *value;
};

static int write_all(const char *ifname, const struct sysctl_setting *s, size_t n, struct herr *err)
{
	char key[128];

	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), s[i].fmt, ifname);
		int r = link_sysctl_write(key, s[i].value, err);
		if (r < 0) {
			herr_prefix(err, "interface %s: ", ifname);
			return r;
		}
	}
	return 0;
}

int link_setup_host_iface(const char *ifname, const char *mac, struct herr *err)
{
	static const struct sysctl_setting v4[] = {
	    {"net/ipv4/conf/%s/proxy_arp", "1"},
	    {"net/ipv4/neigh/%s/proxy_delay", "0"},
	    {"net/ipv4/conf/%s/rp_filter", "0"},
	    {"net/ipv4/conf/%s/forwarding", "1"},
	};
	/* Written before the link comes up: the gateway's link-local address
	 * (EUI-64 of the fixed MAC, one per link, so it cannot clash) is then
	 * usable at once rather than tentative through DAD for a second or more,
	 * during which the host ignores the pod's neighbour solicitations for it
	 * and the pod has no IPv6. */
	static const struct sysctl_setting v6[] = {
	    {"net/ipv6/conf/%s/accept_dad", "0"},
	    {"net/ipv6/conf/%s/accept_ra", "0"},
	    {"net/ipv6/conf/%s/forwarding", "1"},
	    {"net/ipv6/conf/%s/proxy_ndp", "1"},
	};
	struct nl_addr *hw = NULL;
	struct nl_sock *sk;
	char path[128], all[16];
	struct stat st;
	int r;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
		return herr_set(err, -EINVAL,
		                "interface \"%s\": field ifname: must be 1 to %d characters",
		                ifname ? ifname : "", IFNAMSIZ - 1);
	if (strchr(ifname, '/') || !strcmp(ifname, ".") || !strcmp(ifname, ".."))
		return herr_set(err, -EINVAL, "interface \"%s\": field ifname: not a valid name",
		                ifname);
	r = parse_unicast_mac(ifname, mac ? mac : LINK_HOST_MAC_DEFAULT, &hw, err);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s", ifname);
	if (stat(path, &st) == 0) { /* IPv6 may be disabled on this kernel */
		r = write_all(ifname, v6, sizeof(v6) / sizeof(v6[0]), err);
		if (r < 0) {
			nl_addr_put(hw);
			return r;
		}
	}
	sk = route_sock(err, ifname);
	if (!sk) {
		nl_addr_put(hw);
		return -EIO;
	}
	r = set_mac_and_up(sk, ifname, hw, err);
	nl_socket_free(sk);
	nl_addr_put(hw);
	if (r < 0)
		return r;

	r = write_all(ifname, v4, sizeof(v4) / sizeof(v4[0]), err);
	if (r < 0)
		return r;
	if (link_sysctl_read("net/ipv4/conf/all/rp_filter", all, sizeof(all), NULL) == 0 &&
	    !strcmp(all, "1"))
		hlog(HLOG_WARN,
		     "Strict rp_filter for all interfaces overrides the workload interface's",
		     "ifname=%s sysctl=net.ipv4.conf.all.rp_filter value=1 hint=\"set it to 0 or "
		     "2\"",
		     ifname);
	return 0;
}

int link_veth_create(const char *host_if, const char *peer_if, int peer_netns_fd, struct herr *err)
{
	struct rtnl_link *veth, *peer;
	struct nl_sock *sk;
	int r;

	if (!host_if || !*host_if || strlen(host_if) >= IFNAMSIZ)
		return herr_set(err, -EINVAL, "veth: field host_if: must be 1 to %d characters",
		                IFNAMSIZ - 1);
	if (!peer_if || !*peer_if || strlen(peer_if) >= IFNAMSIZ)
		return herr_set(err, -EINVAL, "veth %s: field peer_if: must be 1 to %d characters",
		                host_if, IFNAMSIZ - 1);
	sk = route_sock(err, host_if);
	if (!sk)
		return -EIO;
	veth = rtnl_link_veth_alloc();
	if (!veth) {
		nl_socket_free(sk);
		return herr_set(err, -ENOMEM, "veth %s: out of memory", host_if);
	}
	peer = rtnl_link_veth_get_peer(veth);
	rtnl_link_set_name(veth, host_if);
	rtnl_link_set_name(peer, peer_if);
	if (peer_netns_fd >= 0)
		rtnl_link_set_ns_fd(peer, peer_netns_fd);
	r = rtnl_link_add(sk, veth, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(peer);
	rtnl_link_veth_release(veth);
	nl_socket_free(sk);
	if (r < 0)
		return herr_set(err, nl_to_errno(r), "veth %s/%s: create: %s", host_if, peer_if,
		                nl_geterror(r));
	return 0;
}

int link_netns_open(const char *name, struct herr *err)
{
	char path[256];
	int fd;

	if (!name || !*name || strchr(name, '/'))
		return herr_set(err, -EINVAL, "netns \"%s\": field name: not a namespace name",
		                name ? name : "");
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return herr_set(err, -errno, "netns %s: open %s: %s", name, path, strerror(errno));
	return fd;
}

int link_delete(const char *ifname, struct herr *err)
{
	struct rtnl_link *l;
	struct nl_sock *sk = route_sock(err, ifname);
	int r;

	if (!sk)
		return -EIO;
	l = rtnl_link_alloc();
	if (!l) {
		nl_socket_free(sk);
		return herr_set(err, -ENOMEM, "interface %s: out of memory", ifname);
	}
	rtnl_link_set_name(l, ifname);
	r = rtnl_link_delete(sk, l);
	rtnl_link_put(l);
	nl_socket_free(sk);
	if (r < 0)
		return herr_set(err, nl_to_errno(r), "interface %s: delete: %s", ifname,
		                nl_geterror(r));
	return 0;
}
