/* link_ll.h - the gateway's IPv6 link-local address on a host interface.
 *
 * A guest's IPv6 gateway is the link-local address derived (EUI-64) from the
 * gateway MAC, the same on every host. The kernel derives it itself when the
 * interface comes up with that MAC already set (handoff-cni's veths, QEMU's
 * taps with script=no); an interface the hypervisor brought up with its own
 * MAC (libvirt) keeps the link-local of that MAC after the MAC changes, so
 * the gateway's has to be added. */
#ifndef HANDOFF_DATAPLANE_LINK_LL_H
#define HANDOFF_DATAPLANE_LINK_LL_H

#include "util/err.h"

/* "fe80::ecee:eeff:feee:eeee" for "ee:ee:ee:ee:ee:ee". -EINVAL if not a MAC. */
int link_ll_of_mac(const char *mac, char out[64]);

/* Make sure `ifname` holds the link-local address of `mac` (no DAD: the
 * guest cannot own it). 0 when present or added, also when IPv6 is disabled
 * on the interface (nothing to do); negative errno otherwise. */
int link_ensure_gateway_ll(const char *ifname, const char *mac, struct herr *err);

#endif
