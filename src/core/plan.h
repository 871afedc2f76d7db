/* plan.h - what the node must look like: routes, ARP drops, captures.
 *
 * Pure function of the local endpoints, their FSM states and the resolved
 * route configuration (calico-semantics B.5, B.8):
 *   Base -> normal metric; Target -> no route; Live, TimeWait -> elevated.
 * One route per address (/32, /128) via the endpoint's host interface.
 * Every endpoint with IPv4 addresses gets ARP-reply drops for its own IPv4s.
 * Endpoints in Target are captured for GARP/RARP.
 * Every array is sorted (routes by family then dst) so output is deterministic. */
#ifndef HANDOFF_CORE_PLAN_H
#define HANDOFF_CORE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/fsm.h"
#include "core/model.h"

struct plan_route {
	int family;                    /* 4 or 6 */
	char dst[HANDOFF_ADDRSIZ + 4]; /* "10.65.0.10/32", "fd00::a/128" */
	char ifname[HANDOFF_IFNAMSIZ];
	uint32_t metric;          /* 0: the route must not exist (suppressed) */
	const char *endpoint_key; /* in the plan's own `keys` (plan_compute) */
	unsigned char addr[16];   /* dst's address, network order (the sort key) */
};

struct plan_arp {
	char ifname[HANDOFF_IFNAMSIZ];
	char (*addrs)[HANDOFF_ADDRSIZ]; /* the endpoint's IPv4 addresses */
	size_t naddrs;
};

struct plan_capture {
	char ifname[HANDOFF_IFNAMSIZ];
	const char *endpoint_key; /* in the plan's own `keys` (plan_compute) */
};

struct plan {
	struct plan_route *routes;
	size_t nroutes;
	struct plan_arp *arps;
	size_t narps;
	struct plan_capture *captures;
	size_t ncaptures;
	char *keys; /* the endpoint keys the plan names; freed by plan_free */
	size_t keys_len;
	/* When set, every ARP entry's addrs point into this one block (a plan
	 * built from the index): one allocation rather than one per entry. */
	char (*addr_pool)[HANDOFF_ADDRSIZ];
};

/* `states` may be NULL (everything in Base). Returns 0 or -ENOMEM. */
int plan_compute(const struct endpoint *const *eps, size_t n, const struct lm_monitor *states,
                 const struct route_config *cfg, struct plan *out);
void plan_free(struct plan *p);

/* The orders of a plan's lists, for callers that keep them sorted themselves:
 * routes by family, address as a number, interface, endpoint; ARP entries by
 * interface, then first address; captures by interface, then endpoint. */
int plan_route_order(const struct plan_route *a, const struct plan_route *b);
int plan_arp_order(const struct plan_arp *a, const struct plan_arp *b);
int plan_capture_order(const struct plan_capture *a, const struct plan_capture *b);

/* The route plan entry for `dst` in `p`, or NULL. */
const struct plan_route *plan_find_route(const struct plan *p, const char *dst);

#endif
