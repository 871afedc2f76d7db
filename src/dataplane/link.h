/* link.h - host-side workload interface setup, shared by the watcher, the CNI
 * and the tests (DESIGN.md "Host-side MAC address").
 *
 * Every function acts in the network namespace current for the calling
 * thread (netlink sockets and /proc/sys/net are resolved when opened). */
#ifndef HANDOFF_DATAPLANE_LINK_H
#define HANDOFF_DATAPLANE_LINK_H

#include <stddef.h>

#include "util/err.h"

/* The same on every node, so that a migrated guest's neighbour entry for its
 * gateway stays valid (no ARP timeout stall after the move). */
#define LINK_HOST_MAC_DEFAULT "ee:ee:ee:ee:ee:ee"

/* Write `value` to /proc/sys/<key> (key like "net/ipv4/conf/veth0/proxy_arp").
 * 0 or negative errno (-ENOENT when the key does not exist). */
int link_sysctl_write(const char *key, const char *value, struct herr *err);
/* Read /proc/sys/<key> into buf (trailing newline removed). */
int link_sysctl_read(const char *key, char *buf, size_t len, struct herr *err);

/* Prepare an existing host-side workload interface:
 *   - MAC address `mac` (NULL: LINK_HOST_MAC_DEFAULT), must be unicast;
 *   - IPv4: proxy_arp=1 (answers for the gateway), neigh proxy_delay=0 (answer
 *     at once rather than after up to 0.8 s), rp_filter=0 (strict reverse-path
 *     filtering drops the old VM's last packets on a migration source),
 *     forwarding=1;
 *   - IPv6 (when enabled on the interface): accept_ra=0, forwarding=1,
 *     proxy_ndp=1;
 *   - administratively up.
 * Logs a warning when net.ipv4.conf.all.rp_filter=1 makes the interface's
 * value moot (the kernel uses the maximum of the two). */
int link_setup_host_iface(const char *ifname, const char *mac, struct herr *err);

/* Create the veth pair host_if <-> peer_if. host_if stays in the current
 * namespace; peer_if is created in the namespace `peer_netns_fd` (an fd of
 * /proc/PID/ns/net or /run/netns/NAME), or here when it is < 0. */
int link_veth_create(const char *host_if, const char *peer_if, int peer_netns_fd, struct herr *err);

/* Open /run/netns/<name> (an `ip netns` namespace) for link_veth_create().
 * Returns an O_CLOEXEC fd the caller closes, or a negative errno. */
int link_netns_open(const char *name, struct herr *err);

/* Delete interface `ifname` (its veth peer goes with it). -ENODEV when absent. */
int link_delete(const char *ifname, struct herr *err);

#endif
