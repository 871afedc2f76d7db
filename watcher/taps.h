/* taps.h - adopt the interfaces a hypervisor makes for its guests.
 *
 * A WorkloadEndpoint's interface (a tap QEMU or libvirt creates, with
 * script=no or managed='no' nobody else touches it) is not wired by
 * handoff-cni: the watcher prepares its host side itself, exactly as the CNI
 * prepares a pod's (link_setup_host_iface: the gateway MAC, proxy ARP
 * without delay, rp_filter off, forwarding, up). The tap may appear before
 * or after its endpoint object, and may be recreated: it is prepared when
 * both are known, and again whenever netlink reports the link anew, since the
 * hypervisor may have reset its MAC or left it down. Routes, ARP suppression
 * and GARP captures then follow the plan as for any endpoint.
 *
 * Preparing is kept off the GARP -> route path: sync.c calls taps_sync()
 * after the plan is applied, and only interfaces that are new or that
 * netlink named since are touched. */
#ifndef HANDOFF_WATCHER_TAPS_H
#define HANDOFF_WATCHER_TAPS_H

#include <stdbool.h>

#include "util/err.h"

struct watcher;
struct taps;

/* `gateway_mac`: the MAC every adopted interface gets (NULL: the default
 * ee:ee:ee:ee:ee:ee), the same on every host so that a migrated guest's
 * cached gateway entry stays right. NULL with err when it is not a unicast
 * MAC address. */
struct taps *taps_new(const char *gateway_mac, struct herr *err);
void taps_free(struct taps *t);

/* netlink reported link `ifname` (route syncer's on_link; arg is the watcher). */
void taps_on_link(void *arg, const char *ifname);

/* Follow the engine's adoptable endpoints (when `endpoints_changed`) and
 * prepare every interface that is new or was reported since. */
void taps_sync(struct watcher *w, bool endpoints_changed);

#endif
