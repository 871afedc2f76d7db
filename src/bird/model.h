/* bird/model.h - the BGP resources BIRD's configuration is rendered from:
 * BGPConfiguration, BGPPeer, BGPFilter (projectcalico.org/v3), Nodes
 * (projectcalico.org/v3 or core/v1) and block affinities, and their decoders.
 *
 * Decoders take jansson trees (API server JSON, or YAML through
 * util/yaml_json) and validate as calico-semantics D.1-D.3 say. A failing
 * decoder returns a negative errno, leaves its output zeroed and writes one
 * sentence naming the object, the field and the rule, e.g.
 *   BGPFilter f: spec.exportV4[2].communities.values[0]: "65536:0" is not a
 *   community (aa:nn, each 0..65535)
 *
 * Ownership: every pointer inside these structs belongs to the struct and is
 * released by its *_free() function. */
#ifndef HANDOFF_BIRD_MODEL_H
#define HANDOFF_BIRD_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "util/err.h"

struct json_t;

/* Address family index used throughout src/bird. */
enum bgp_family { BGP_V4 = 0, BGP_V6 = 1 };
/* Direction of a BGPFilter rule list. */
enum bgp_dir { BGP_IMPORT = 0, BGP_EXPORT = 1 };

#define BGP_DEFAULT_AS       64512u
#define BGP_DEFAULT_PRIORITY 1024u       /* normal route priority (kernel metric) */
#define BGP_PRIORITY_MAX     2147483646u /* priorities are 1..2^31-2 */
#define BGP_LOCAL_PREF_BASE  2147483647u /* LOCAL_PREF = 2^31-1 - priority */
/* A BGP UPDATE is at most 4096 bytes (RFC 4271), so an AS_PATH holds fewer
 * than 1024 4-byte ASNs: a longer asPathPrefix could never match. (BIRD
 * 1.6.8's parser gives up, "memory exhausted", between 4,000 and 10,000.) */
#define BGP_AS_PATH_PREFIX_MAX 1024u

/* ---- BGPFilter ------------------------------------------------------------ */

enum bgp_match_op {
	BGP_MATCH_NONE = 0,
	BGP_MATCH_EQUAL,
	BGP_MATCH_NOT_EQUAL,
	BGP_MATCH_IN,
	BGP_MATCH_NOT_IN
};
enum bgp_peer_type { BGP_PEER_ANY = 0, BGP_PEER_EBGP, BGP_PEER_IBGP };
enum bgp_action { BGP_ACCEPT = 1, BGP_REJECT };

/* A standard (aa:nn, nparts 2) or large (aa:nn:mm, nparts 3) community. */
struct bgp_community {
	int nparts;
	uint32_t v[3];
};

enum bgp_operation_kind { BGP_OP_ADD_COMMUNITY = 1, BGP_OP_PREPEND_AS_PATH, BGP_OP_SET_PRIORITY };

struct bgp_operation {
	enum bgp_operation_kind kind;
	struct bgp_community community; /* addCommunity */
	uint32_t *prefix;               /* prependASPath, in listed order */
	size_t nprefix;
	uint32_t priority; /* setPriority */
};

struct bgp_filter_rule {
	enum bgp_action action;
	enum bgp_match_op op; /* BGP_MATCH_NONE iff cidr is NULL */
	char *cidr;           /* verbatim as written */
	bool has_min_len, has_max_len;
	int min_len, max_len; /* spec.prefixLength (raw; clamped when rendered) */
	bool source_remote_peers;
	char *iface; /* NULL when absent */
	enum bgp_peer_type peer_type;
	bool has_community;
	struct bgp_community community;
	uint32_t *as_path_prefix;
	size_t nas_path_prefix;
	uint32_t priority; /* 0 when absent */
	struct bgp_operation *ops;
	size_t nops;
};

struct bgp_rule_list {
	struct bgp_filter_rule *v;
	size_t n;
};

struct bgp_filter {
	char *name;
	/* rules[family][direction]: exportV4 is rules[BGP_V4][BGP_EXPORT]. */
	struct bgp_rule_list rules[2][2];
};

int bgp_filter_decode(const struct json_t *obj, struct bgp_filter *out, struct herr *err);

/* The names each decoder accepts (NULL-terminated), by the object they sit
 * in; `*_unsupported` are Calico's fields that handoff rejects by name. The
 * CRDs in crd/ must declare exactly these (test/unit/test_crd_schema.c). */
extern const char *const bgp_filter_spec_fields[];          /* spec */
extern const char *const bgp_filter_rule_fields[];          /* spec.exportV4[] ... */
extern const char *const bgp_filter_prefix_length_fields[]; /* rule.prefixLength */
extern const char *const bgp_filter_communities_fields[];   /* rule.communities */
extern const char *const bgp_filter_operation_fields[];     /* rule.operations[] */
extern const char *const bgp_filter_value_fields[];         /* addCommunity, setPriority */
extern const char *const bgp_filter_prefix_fields[];        /* prependASPath */
extern const char *const bgp_config_fields[], *const bgp_config_unsupported[];
extern const char *const bgp_peer_fields[], *const bgp_peer_unsupported[];
void bgp_filter_free(struct bgp_filter *f);

/* Parse a BGPCommunityValue ("aa:nn" each 0..65535, or "aa:nn:mm" each
 * 0..4294967295; no leading zeros, spaces or empty parts). On error returns
 * -EINVAL and err says why, without the object prefix. */
int bgp_community_parse(const char *s, struct bgp_community *out, struct herr *err);

/* ---- BGPConfiguration ------------------------------------------------------- */

/* spec.password.secretKeyRef / spec.nodeMeshPassword.secretKeyRef: a key of a
 * Secret in the watcher's own namespace (Calico: the node pod's namespace).
 * Both NULL when absent. */
struct bgp_secret_ref {
	char *name;
	char *key;
};

struct bgp_config {
	char *name; /* "default", or "node.<nodename>" for a node override */
	bool has_as;
	uint32_t as_number;
	bool mesh_enabled;                   /* nodeToNodeMeshEnabled, default true */
	uint32_t normal[2];                  /* ipv4/ipv6NormalRoutePriority, default 1024 */
	uint16_t listen_port;                /* 0 when unset (BIRD's 179) */
	struct bgp_secret_ref mesh_password; /* nodeMeshPassword */
	uint32_t mesh_restart_time_s;        /* nodeMeshMaxRestartTime, 0 when absent */
	bool bind_node_ip;                   /* bindMode: NodeIP (listen on the node address) */
};

int bgp_config_decode(const struct json_t *obj, struct bgp_config *out, struct herr *err);
void bgp_config_free(struct bgp_config *c);

/* ---- BGPPeer ---------------------------------------------------------------- */

enum bgp_next_hop { BGP_NEXT_HOP_AUTO = 0, BGP_NEXT_HOP_SELF, BGP_NEXT_HOP_KEEP };

struct bgp_peer {
	char *name;
	char *node;          /* spec.node, NULL when absent */
	char *node_selector; /* spec.nodeSelector, NULL when absent (syntax checked) */
	char *peer_ip;       /* spec.peerIP without the port, NULL with peerSelector */
	uint16_t port;       /* from "ip:port" / "[v6]:port", 0 when absent */
	char *peer_selector; /* NULL when absent (syntax checked) */
	bool has_as;
	uint32_t as_number;
	bool has_local_as;
	uint32_t local_as;
	char **filters; /* BGPFilter names, in order */
	size_t nfilters;
	uint32_t keepalive_s;           /* spec.keepaliveTime in seconds, 0 when absent */
	uint32_t restart_time_s;        /* spec.maxRestartTime in seconds, 0 when absent */
	bool no_source_address;         /* spec.sourceAddress: None */
	enum bgp_next_hop next_hop;     /* spec.nextHopMode */
	bool keep_original_next_hop;    /* spec.keepOriginalNextHop (eBGP only) */
	uint32_t allow_local_as;        /* spec.numAllowedLocalASNumbers, 0 when absent */
	uint32_t ttl_security;          /* spec.ttlSecurity hops, 0 = off */
	struct bgp_secret_ref password; /* spec.password.secretKeyRef */
	char *reachable_by;  /* spec.reachableBy: gateway to the peer, NULL when absent */
	bool reverse_manual; /* spec.reversePeering: Manual */
};

int bgp_peer_decode(const struct json_t *obj, struct bgp_peer *out, struct herr *err);
void bgp_peer_free(struct bgp_peer *p);

/* ---- Node --------------------------------------------------------------------- */

/* A node as BGP sees it: from a projectcalico.org/v3 Node (spec.bgp) or a
 * core/v1 Node (projectcalico.org/IPv4Address annotations, else the first
 * InternalIP of each family; spec.podCIDRs as aggregation blocks). */
struct bgp_node {
	char *name;
	struct labels labels;
	char *addr[2]; /* plain address per family, NULL when none */
	int prefix[2]; /* prefix length given with the address, -1 when none */
	bool has_as;
	uint32_t as_number;
	char **pod_cidrs; /* core/v1 spec.podCIDRs (or podCIDR) */
	size_t npod_cidrs;
	bool calico_v3;      /* came from (or was merged with) a projectcalico.org/v3 Node */
	char *rr_cluster_id; /* spec.bgp.routeReflectorClusterID, NULL when not a reflector */
};

int bgp_node_decode(const struct json_t *obj, struct bgp_node *out, struct herr *err);
void bgp_node_free(struct bgp_node *n);

/* ---- BlockAffinity (crd.projectcalico.org/v1 or projectcalico.org/v3) ------------ */

struct bgp_block_affinity {
	char *name;
	char *node;
	char *cidr;
	char *state; /* "" (implicitly confirmed), "confirmed", "pending", ... */
	bool deleted;
};

int bgp_block_affinity_decode(const struct json_t *obj, struct bgp_block_affinity *out,
                              struct herr *err);
void bgp_block_affinity_free(struct bgp_block_affinity *b);

/* ---- Secret (core/v1), only for BGP passwords ------------------------------------ */

/* data (base64-decoded) and stringData merged, stringData winning as the API
 * server does. Values are wiped when freed. */
struct bgp_secret {
	char *name;
	char *namespace; /* "" when the object has none */
	char **keys, **values;
	size_t n;
};

int bgp_secret_decode(const struct json_t *obj, struct bgp_secret *out, struct herr *err);
void bgp_secret_free(struct bgp_secret *s);

/* ---- a set of resources --------------------------------------------------------- */

/* Everything read from the datastore or from files. Within each array names
 * are unique; a later object with the same name replaces the earlier one. */
struct bgp_resources {
	struct bgp_config *configs;
	size_t nconfigs;
	struct bgp_peer *peers;
	size_t npeers;
	struct bgp_filter *filters;
	size_t nfilters;
	struct bgp_node *nodes;
	size_t nnodes;
	struct bgp_block_affinity *affinities;
	size_t naffinities;
	struct bgp_secret *secrets; /* unique by (namespace, name) */
	size_t nsecrets;
	/* Only Secrets of this namespace hold BGP passwords; NULL: any (a
	 * folder of YAML for one cluster). Borrowed. */
	const char *secret_namespace;
};

/* Decode `obj` by its kind and add it. Returns 1 when added, 0 when the kind
 * is not one of the above (ignored), or a negative errno when the object is
 * invalid (err names it; the set is unchanged). A core/v1 and a v3 Node of
 * the same name are merged (v3 addresses win, v1 pod CIDRs are kept). */
int bgp_resources_add(struct bgp_resources *set, const struct json_t *obj, struct herr *err);
/* Remove the object of `kind` named `name`; returns 1 when something went.
 * A Secret is named "<namespace>/<name>" here. */
int bgp_resources_remove(struct bgp_resources *set, const char *kind, const char *name);
void bgp_resources_free(struct bgp_resources *set);

const struct bgp_node *bgp_resources_node(const struct bgp_resources *set, const char *name);
const struct bgp_filter *bgp_resources_filter(const struct bgp_resources *set, const char *name);
/* The value of ref (NULL when the ref is empty, or the Secret or its key is
 * missing; *missing then says whether a reference went unresolved). */
const char *bgp_resources_secret(const struct bgp_resources *set, const struct bgp_secret_ref *ref,
                                 bool *missing);

/* Whether BGPPeer `name` has the same neighbour (canonical peerIP and port)
 * and the same scope (global, the same spec.node, or the same nodeSelector)
 * as another BGPPeer: BIRD can run one session per neighbour, so the renderer
 * keeps the peer whose name sorts first. Returns 1 with `why` naming both
 * and the one rendered, 0 when there is no clash (or no such peer). */
int bgp_resources_peer_clash(const struct bgp_resources *set, const char *name, struct herr *why);
/* Likewise for Nodes: whether Node `name` has an address another Node has
 * too (every other node's mesh then has one session for both: the Node
 * whose name sorts first). 1 with `why` naming both, else 0. */
int bgp_resources_node_clash(const struct bgp_resources *set, const char *name, struct herr *why);

#endif
