/* arp_suppress.h - drop the host's ARP replies that claim a workload's own IP.
 *
 * Proxy ARP on a workload interface is route-based: while another node holds
 * the route to a migrating VM's address, the host would answer the guest's
 * ARP for its own address with the host MAC (calico-semantics B.8). handoff
 * owns one nftables table of family arp:
 *
 *   table arp handoff-arp {
 *     map dispatch { type ifname : verdict; elements = { "<if>" : goto wl-<if>, ... } }
 *     chain output { type filter hook output priority 0; oifname vmap @dispatch }
 *     chain wl-<if> { arp operation reply arp saddr ip <ip> counter drop  (one per IPv4) }
 *   }
 *
 * Requests and replies for other addresses pass. Every sync rebuilds the whole
 * table from the plan in one nftables transaction (create-if-missing, delete,
 * re-create, fill): packets see either the old table or the new one, never a
 * half-built one, and no state from a previous run survives (the rule
 * counters restart at zero on every sync). IPv4 only, by design (B.8). */
#ifndef HANDOFF_DATAPLANE_ARP_SUPPRESS_H
#define HANDOFF_DATAPLANE_ARP_SUPPRESS_H

#include "util/err.h"

struct plan;

#define ARP_SUPPRESS_TABLE        "handoff-arp"
#define ARP_SUPPRESS_MAP          "dispatch"
#define ARP_SUPPRESS_BASE_CHAIN   "output"
#define ARP_SUPPRESS_CHAIN_PREFIX "wl-"

/* Make the kernel's table (in the caller's network namespace) exactly what
 * p->arps asks for; p may be NULL (no workloads: empty map). The plan is
 * checked first (interface names, IPv4 addresses, duplicate interfaces) and
 * nothing is changed if it is invalid. Returns 0 or a negative errno with a
 * message naming the interface and the field. */
int arp_suppress_sync(const struct plan *p, struct herr *err);

/* Remove the table altogether (uninstall). 0 when it is gone or was absent. */
int arp_suppress_remove(struct herr *err);

#endif
