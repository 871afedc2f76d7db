/* link_ll.c - the gateway's IPv6 link-local address (see link_ll.h). */
#include "dataplane/link_ll.h"

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/socket.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "dataplane/link.h"

int link_ll_of_mac(const char *mac, char out[64])
{
	unsigned b[6];
	char tail;

	if (strlen(mac) != 17 || sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2],
	                                &b[3], &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	/* EUI-64: the universal/local bit flipped, ff:fe in the middle. */
	snprintf(out, 64, "fe80::%x:%x:%x:%x", ((b[0] ^ 2) << 8) | b[1], (b[2] << 8) | 0xff,
	         0xfe00 | b[3], (b[4] << 8) | b[5]);
	return 0;
}

int link_ensure_gateway_ll(const char *ifname, const char *mac, struct herr *err)
{
	char ll[64], path[128], key[128], val[8];
	struct nl_addr *local = NULL;
	struct rtnl_addr *a = NULL;
	struct nl_sock *sk = NULL;
	unsigned idx;
	struct stat st;
	int r, ret = 0;

	if (link_ll_of_mac(mac, ll) < 0)
		return herr_set(err, -EINVAL,
		                "interface %s: field mac: \"%s\" is not a MAC address", ifname,
		                mac);
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s", ifname);
	snprintf(key, sizeof(key), "net/ipv6/conf/%s/disable_ipv6", ifname);
	if (stat(path, &st) < 0 ||
	    (link_sysctl_read(key, val, sizeof(val), NULL) == 0 && !strcmp(val, "1")))
		return 0; /* no IPv6 here: no IPv6 gateway to present */
	if (!(idx = if_nametoindex(ifname)))
		return herr_set(err, -ENODEV, "interface %s: not found", ifname);
	strncat(ll, "/64", sizeof(ll) - strlen(ll) - 1);
	if ((r = nl_addr_parse(ll, AF_INET6, &local)) < 0)
		return herr_set(err, -EINVAL, "interface %s: address %s: %s", ifname, ll,
		                nl_geterror(r));
	if (!(sk = nl_socket_alloc()) || !(a = rtnl_addr_alloc())) {
		ret = herr_set(err, -ENOMEM, "interface %s: out of memory", ifname);
		goto out;
	}
	if ((r = nl_connect(sk, NETLINK_ROUTE)) < 0) {
		ret = herr_set(err, -EIO, "interface %s: netlink: %s", ifname, nl_geterror(r));
		goto out;
	}
	rtnl_addr_set_ifindex(a, (int)idx);
	rtnl_addr_set_family(a, AF_INET6);
	rtnl_addr_set_local(a, local);
	rtnl_addr_set_scope(a, RT_SCOPE_LINK);
	rtnl_addr_set_flags(a, IFA_F_NODAD);
	r = rtnl_addr_add(sk, a, NLM_F_EXCL);
	if (r < 0 && r != -NLE_EXIST)
		ret =
		    herr_set(err, -EIO, "interface %s: adding %s: %s", ifname, ll, nl_geterror(r));
out:
	if (a)
		rtnl_addr_put(a);
	nl_addr_put(local);
	if (sk)
		nl_socket_free(sk);
	return ret;
}
