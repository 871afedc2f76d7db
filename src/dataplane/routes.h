/* routes.h - make the kernel's workload routes match the plan (libnl-route-3).
 *
 * The syncer owns every route of its routing protocol number in its table and
 * nothing else (DESIGN.md "Ownership of workload routes"):
 *   - one route per plan entry with metric > 0: dst /32 or /128, via the
 *     plan's interface, scope link, explicit metric, protocol ours;
 *   - a plan entry with metric 0, or a destination the plan does not name,
 *     must have none of our routes;
 *   - a metric change is make-before-break: the new route is added first and
 *     the old one deleted only once the new one exists;
 *   - a route of another protocol is never replaced or deleted. When the kernel
 *     already holds one with the same destination and metric (BIRD's route to
 *     a migrating VM on the target, bird-notes "Collision on the target"), the
 *     add fails with EEXIST: the route waits, is counted and logged, any older
 *     route of ours for that destination is kept (an elevated route is held),
 *     and the add is retried when the conflicting route goes;
 *   - an interface that does not exist (or is down) yet: the route waits and is
 *     programmed when the link appears.
 *
 * Start-up reads the kernel's routes of our protocol; the first apply keeps
 * the wanted ones untouched (a restart mid-migration keeps an elevated route)
 * and deletes the stale ones. Afterwards the syncer re-reconciles from netlink
 * notifications (links, IPv4 and IPv6 routes): no polling, no sleeping.
 *
 * Single-threaded: the caller puts route_syncer_fd() in its epoll loop and
 * calls route_syncer_handle_events() when it is readable. The syncer's sockets
 * live in the network namespace that was current when it was created. */
#ifndef HANDOFF_DATAPLANE_ROUTES_H
#define HANDOFF_DATAPLANE_ROUTES_H

#include <stdint.h>

#include "core/plan.h"
#include "util/err.h"

/* handoff's routing protocol number. Not 2 (kernel: BIRD ignores those routes),
 * not 12 (bird: BIRD deletes them as its own), not one of the numbers named in
 * iproute2's rt_protos (zebra 11, keepalived 18, babel 42, bgp 186, ...) nor
 * 80 (used by other Calico dataplanes); any such private number is learned by
 * BIRD's kernel protocol (bird-notes "What BIRD learns from the kernel"). */
#define HANDOFF_RTPROT       88
#define HANDOFF_RTTABLE_MAIN 254

struct route_syncer_opts {
	uint8_t protocol; /* 0: HANDOFF_RTPROT */
	uint32_t table;   /* 0: main (254) */
	/* Optional: told of every link that is up after a notification (RTM_NEWLINK
	 * with IFF_UP), so that others waiting for an interface (GARP captures)
	 * share this socket instead of opening their own. */
	void (*on_link_up)(void *arg, const char *ifname);
	void *on_link_up_arg;
	/* Optional: told of every RTM_NEWLINK whatever its flags (a hypervisor's
	 * tap appears down; the watcher adopts it, watcher/taps.c). Same arg. */
	void (*on_link)(void *arg, const char *ifname);
};

struct route_syncer_stats {
	uint64_t added;            /* routes created (or moved to another interface) */
	uint64_t deleted;          /* routes of ours removed */
	uint64_t errors;           /* netlink operations that failed for another reason */
	uint64_t resyncs;          /* full re-reads of the kernel's routes */
	uint32_t waiting_conflict; /* routes held back by another protocol's route, now */
	uint32_t waiting_link;     /* routes whose interface is missing or down, now */
};

struct route_syncer;

/* Opens the netlink sockets (request + notifications subscribed to links and
 * IPv4/IPv6 routes) and reads the kernel's routes of our protocol.
 * `o` may be NULL (defaults). NULL on failure, explained in `err`. */
struct route_syncer *route_syncer_new(const struct route_syncer_opts *o, struct herr *err);
void route_syncer_free(struct route_syncer *rs);

/* Make the kernel match `p` (its routes; the rest of the plan is ignored) and
 * remember it for later re-syncs. The plan is copied; the caller keeps `p`.
 * Cost: O(plan size) to diff (bench_routes: ~0.1 ms with 250 routes, ~2 ms
 * with 10,000) plus one netlink round trip per phase that has work.
 * Returns 0 when every route is either in place or waiting (conflict, link);
 * a negative errno when a plan entry is malformed or netlink failed (the other
 * routes are still applied; `err` names the first failure). */
int route_syncer_apply(struct route_syncer *rs, const struct plan *p, struct herr *err);

/* The notification socket, for epoll (EPOLLIN). Non-blocking. */
int route_syncer_fd(const struct route_syncer *rs);

/* Read every pending notification and re-sync against the last plan when the
 * kernel changed under us: one of our wanted routes vanished, a relevant link
 * appeared/changed/went away, a route a waiting route conflicts with was
 * deleted, or notifications were lost. 0 or negative errno. */
int route_syncer_handle_events(struct route_syncer *rs, struct herr *err);

/* Where the last plan's route to `dst` ("10.65.0.10/32", as in the plan) stands. */
enum route_state {
	ROUTE_NOT_WANTED,       /* not in the last plan, or metric 0 */
	ROUTE_PENDING,          /* not attempted yet */
	ROUTE_IN_PLACE,         /* in the kernel as planned */
	ROUTE_WAITING_LINK,     /* its interface is missing or down */
	ROUTE_WAITING_CONFLICT, /* another protocol's route holds its destination and metric */
	ROUTE_FAILED,           /* the last attempt failed (logged, counted in errors) */
};
enum route_state route_syncer_route_state(const struct route_syncer *rs, int family,
                                          const char *dst);
const char *route_state_name(enum route_state st);

void route_syncer_get_stats(const struct route_syncer *rs, struct route_syncer_stats *out);

/* Every route of our protocol the kernel holds as far as the syncer knows
 * (before the first apply: what start-up read), as family 4/6, "dst/plen" as
 * in the plan, and metric. A restarted watcher learns from it which
 * endpoints it had elevated. */
void route_syncer_foreach_kernel(const struct route_syncer *rs,
                                 void (*fn)(void *arg, int family, const char *dst,
                                            uint32_t metric),
                                 void *arg);

#endif
