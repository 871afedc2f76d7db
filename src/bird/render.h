/* bird/render.h - BIRD 1.x bird.cfg / bird6.cfg from BGP resources. Pure: text
 * in memory, no I/O, same input -> same bytes.
 *
 * Two steps:
 *   bird_input_build()  resolves the resources for one node: its addresses
 *                       and AS, the node-to-node mesh, the BGPPeers that
 *                       apply to it (node / nodeSelector / peerSelector),
 *                       its aggregation blocks, the normal priorities;
 *   bird_render()       turns a struct bird_input into one self-contained
 *                       configuration file for one address family.
 * Tests and benchmarks may fill a struct bird_input by hand. */
#ifndef HANDOFF_BIRD_RENDER_H
#define HANDOFF_BIRD_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bird/model.h"
#include "util/err.h"

/* Routing protocol number the route syncer gives workload routes
 * (dataplane/routes.h HANDOFF_RTPROT; a test keeps them equal); the kernel
 * protocol learns only routes carrying it (krt_source). */
#define BIRD_WORKLOAD_RT_PROTO 88

enum bird_peer_kind { BIRD_PEER_MESH = 0, BIRD_PEER_GLOBAL, BIRD_PEER_NODE };

/* One BGP session of the node. */
struct bird_peer {
	enum bird_peer_kind kind;
	char ip[46];       /* plain address; its family decides bird.cfg or bird6.cfg */
	uint16_t port;     /* 0: BIRD's default */
	uint32_t as;       /* the peer's AS */
	uint32_t local_as; /* 0: the node's AS (the template's `local as`) */
	bool passive;
	uint32_t keepalive_s;    /* 0: BIRD's default */
	uint32_t restart_time_s; /* 0: BIRD's default graceful restart time */
	bool no_source_address;  /* don't pin the TCP source to the node address */
	enum bgp_next_hop next_hop;
	bool keep_original_next_hop; /* honoured for eBGP only */
	uint32_t allow_local_as;     /* 0: none */
	uint32_t ttl_security;       /* hops, 0: off */
	const char *const *filters;  /* BGPFilter names in order (borrowed) */
	size_t nfilters;
	char rr_cluster_id[16]; /* non-empty: the peer is this reflector's client */
	const char *password;   /* TCP MD5 password (borrowed), NULL: none */
	char reachable_by[46];  /* non-empty: a host route to the peer via this gateway */
};

/* One aggregation block affine to the node. */
struct bird_block {
	const char *cidr;  /* borrowed */
	const char *state; /* "" = implicitly confirmed, "confirmed", other */
};

struct bird_input {
	const char *node;           /* borrowed */
	char router_id[16];         /* dotted quad, also used by bird6 */
	const char *addr[2];        /* the node's own address per family, NULL = family off */
	uint32_t as;                /* the node's AS */
	uint32_t normal[2];         /* normal route priority per family (1..2^31-2) */
	uint16_t listen_port;       /* 0: default */
	bool bind_node_ip;          /* listen on addr[family] only (bindMode: NodeIP) */
	bool route_reflector;       /* the node has a routeReflectorClusterID */
	uint32_t workload_rt_proto; /* BIRD_WORKLOAD_RT_PROTO normally */
	struct bird_peer *peers;    /* any order: rendered sorted by protocol name */
	size_t npeers;
	const struct bgp_filter *filters; /* all BGPFilters, any order (borrowed) */
	size_t nfilters;
	struct bird_block *blocks; /* any order: rendered sorted by cidr */
	size_t nblocks;
	/* The first password Secret a session refers to that is not (yet) known,
	 * or whose value BIRD cannot take (a '"' or a newline: BIRD 1.6 strings
	 * have no escapes) (borrowed; NULL: none). Such a session is rendered
	 * without a password, as the reference does for a missing one; its peer
	 * refuses it until the Secret is right. */
	const char *missing_secret;
};

/* Resolve `set` for node `node` (input.c says how, following the reference).
 * The input borrows strings and filters from `set` (keep it alive and
 * unchanged while `out` is used); bird_input_free releases only what was
 * allocated here. Returns -ENOENT when the node is not in the set, -EINVAL
 * when it has no address at all. */
int bird_input_build(const struct bgp_resources *set, const char *node, struct bird_input *out,
                     struct herr *err);
void bird_input_free(struct bird_input *in);

/* Render the configuration for `family`. *text is malloc'ed, NUL-terminated. */
int bird_render(const struct bird_input *in, enum bgp_family family, char **text, struct herr *err);

/* Both steps for both families: text[BGP_V4] is bird.cfg, text[BGP_V6]
 * bird6.cfg (malloc'ed; both NULL on error). Errors as bird_input_build. */
int bird_render_node(const struct bgp_resources *set, const char *node, char *text[2],
                     struct herr *err);

/* ---- building blocks, exposed for tests and the snippet -------------------- */

/* The quoted-symbol body of a BGPFilter function name without quotes, e.g.
 * "bgp_kubevirt-lm_importFilterV4". Filter names above 45 characters are cut
 * to 28 + "_" + 16 upper-case hex digits of SHA-256(name). out >= 65 bytes. */
void bird_filter_function_name(const char *filter, enum bgp_dir dir, enum bgp_family family,
                               char out[65]);

/* Whether the rule list of that direction/family uses peerType (the function
 * then takes `bool is_same_as`). */
bool bird_filter_uses_peer_type(const struct bgp_filter *f, enum bgp_dir dir,
                                enum bgp_family family);

/* The `# -------------- BGP Filters` section body for `family` (every filter
 * sorted by name, or the "No v4 BGPFilters configured" line). malloc'ed. */
int bird_render_filters(const struct bgp_filter *filters, size_t n, enum bgp_family family,
                        char **text, struct herr *err);

/* The protocol name for a peer: Mesh_/Global_/Node_ + address with '.' and
 * ':' as '_', + "_port_<n>" when an explicit peer has a port (a mesh peer's
 * name never carries the port, as in the reference). out >= 80 bytes. */
void bird_peer_name(const struct bird_peer *p, char out[80]);

#endif
