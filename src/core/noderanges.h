/* noderanges.h - a node's pod address ranges, as handoff-watcher publishes
 * them for handoff-cni on the same node (DESIGN.md "Per-node addresses").
 *
 * Kubernetes' node IPAM gives each Node its spec.podCIDRs. host-local, the
 * IPAM plugin the CNI delegates to, cannot read a Node; the watcher already
 * follows its own Node, so it writes the ranges to a node-local file and the
 * CNI substitutes them for the placeholders in its IPAM configuration
 * ("subnet": "usePodCidr" / "usePodCidrIPv6", as Calico's host-local mode
 * spells them) before delegating.
 *
 * The file is a small versioned JSON document:
 *
 *   {"apiVersion": "handoff.dev/v1", "kind": "NodeRanges", "node": "node-a",
 *    "podCIDRs": ["10.65.1.0/24", "fd00:65:1::/64"]}
 *
 * The ranges are the node's, not the plugin's: an IPAM served by the watcher
 * itself (VM address persistence across migrations, issue 11) allocates from
 * the same struct node_ranges, and the CNI's hook (cni/noderange.c) is where
 * such an IPAM type is dispatched. Pure: no I/O. */
#ifndef HANDOFF_CORE_NODERANGES_H
#define HANDOFF_CORE_NODERANGES_H

#include <stddef.h>

#include "util/err.h"

struct json_t;

#define NODE_RANGES_API  "handoff.dev/v1"
#define NODE_RANGES_KIND "NodeRanges"
#define NODE_RANGES_MAX  8 /* Kubernetes allows 2 (one per family); room to spare */

/* The placeholders a conflist's ipam.ranges may use instead of a subnet. */
#define NODE_RANGES_PLACEHOLDER_V4 "usePodCidr"
#define NODE_RANGES_PLACEHOLDER_V6 "usePodCidrIPv6"

struct node_range {
	int family;    /* 4 or 6 */
	char cidr[64]; /* as the Node gives it, validated */
};

struct node_ranges {
	char node[254];
	struct node_range v[NODE_RANGES_MAX];
	size_t n;
};

/* Build from a Node's spec.podCIDRs. Each must be a CIDR; err names the
 * node and the index of a bad one. */
int node_ranges_set(struct node_ranges *out, const char *node, char *const *cidrs, size_t n,
                    struct herr *err);

/* The file's text (one line, ends in '\n'; malloc'd), or NULL without memory. */
char *node_ranges_encode(const struct node_ranges *r);

/* Parse the file's text. err names the field that is wrong. */
int node_ranges_decode(const char *text, size_t len, struct node_ranges *out, struct herr *err);

/* True when an "ipam" object uses a placeholder anywhere in ipam.ranges. */
int node_ranges_wanted(const struct json_t *ipam);

/* Replace, in `ipam` (modified in place), every range whose subnet is a
 * placeholder by one range per node CIDR of that family (the range's other
 * keys kept). A range set asking for a family the node has no range of is
 * left out, so one conflist serves IPv4-only, IPv6-only and dual-stack
 * clusters. Returns 0; -ENOENT when no range set is left (err says which
 * family is missing: node IPAM may not have assigned the node's ranges yet);
 * -EINVAL for a malformed ipam.ranges. On failure `ipam` is unchanged. */
int node_ranges_substitute(struct json_t *ipam, const struct node_ranges *r, struct herr *err);

#endif
