/* noderange.h - this node's pod ranges in the IPAM configuration.
 *
 * A conflist whose ipam.ranges says "subnet": "usePodCidr" (or
 * "usePodCidrIPv6") gets the node's spec.podCIDRs, from the file the watcher
 * writes (src/core/noderanges.h), substituted before the IPAM plugin runs:
 * host-local then allocates from this node's range, never one fixed range on
 * every node. ipam.nodeRangesFile names the file (default below); it is
 * removed from what the IPAM plugin sees. */
#ifndef HANDOFF_CNI_NODERANGE_H
#define HANDOFF_CNI_NODERANGE_H

#include "util/err.h"

#define CNI_NODE_RANGES_DEFAULT "/run/handoff/ipam/node-ranges.json"

/* For CNI_COMMAND `command` and the network configuration `conf`: when its
 * ipam uses a placeholder, *rewritten receives the configuration with the
 * node's ranges in (malloc'd), else NULL. Returns 0, or -EAGAIN when the
 * ranges are not known yet (no file: the watcher has not started on this node;
 * or the node has no CIDR of the family asked for: node IPAM has not assigned
 * one): the runtime should try again later (CNI error 11). DEL never fails for
 * want of the file: host-local releases by container ID and only parses the
 * ranges, so documentation ranges stand in. */
int cni_noderange_apply(const char *command, const char *conf, char **rewritten, struct herr *err);

#endif
