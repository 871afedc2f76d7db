/* model.h - typed resources the core reasons about, and their decoders.
 *
 * Ownership: every pointer inside these structs is owned by the struct and
 * released by its *_free() function (which leaves the struct zeroed). Decoders
 * fill a zeroed struct; on failure they leave it zeroed and explain in `err`,
 * naming the object (kind namespace/name) and the field.
 *
 * Decoders take a jansson tree: the API server's JSON and YAML files (through
 * util/yaml_json) take the same path. Parsing a tree is not I/O. */
#ifndef HANDOFF_CORE_MODEL_H
#define HANDOFF_CORE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct json_t;

/* ---- labels ------------------------------------------------------------ */

struct label {
	char *key;
	char *value;
};

/* Kept sorted by key, keys unique. */
struct labels {
	struct label *v;
	size_t n;
};

const char *labels_get(const struct labels *l, const char *key);      /* NULL when absent */
int labels_set(struct labels *l, const char *key, const char *value); /* insert or replace */
int labels_copy(struct labels *dst, const struct labels *src);
bool labels_equal(const struct labels *a, const struct labels *b);
void labels_free(struct labels *l);

/* ---- identity of a workload or endpoint (calico-semantics A.1) ---------- */

/* All four strings are non-NULL after decoding ("" when unset). hostname is
 * forced to "" when orchestrator is "k8s". endpoint "" means workload level. */
struct wep_ident {
	char *hostname;
	char *orchestrator;
	char *workload; /* "<namespace>/<name>" */
	char *endpoint; /* "eth0" */
};

int wep_ident_set(struct wep_ident *id, const char *hostname, const char *orchestrator,
                  const char *workload, const char *endpoint);
bool wep_ident_equal(const struct wep_ident *a, const struct wep_ident *b);
void wep_ident_free(struct wep_ident *id);

/* ---- LiveMigration (projectcalico.org/v3) -------------------------------- */

struct selector;

struct live_migration {
	char *ns, *name; /* metadata.namespace, metadata.name */
	char *uid;       /* metadata.uid ("" if absent) */
	bool has_source; /* source.workload preferred over source.workloadEndpoint */
	struct wep_ident source;
	char *target_selector; /* spec.target.selector, NULL when absent */
	/* target_selector as the decoder parsed it to check it (owned, may be
	 * NULL): roles take it instead of parsing the text a second time. */
	struct selector *target_parsed;
	bool has_target; /* spec.target.workloadEndpoint */
	struct wep_ident target;
};

int live_migration_decode(const struct json_t *obj, struct live_migration *out, struct herr *err);

/* The names the LiveMigration decoder accepts (NULL-terminated), by the
 * object they sit in, and the longest value of each identifier field and of
 * the selector. The CRD in crd/ must declare exactly these names with these
 * limits (test/unit/test_crd_schema.c). */
extern const char *const live_migration_spec_fields[];   /* spec */
extern const char *const live_migration_source_fields[]; /* spec.source */
extern const char *const live_migration_target_fields[]; /* spec.target */
extern const char *const workload_ident_fields[];        /* source.workload */
extern const char *const wep_ident_fields[];             /* *.workloadEndpoint */
extern const unsigned wep_ident_max_len[4];              /* in wep_ident_fields order */
#define LM_SELECTOR_MAX_LEN 1024u
void live_migration_free(struct live_migration *lm);

/* KubeVirt VirtualMachineInstanceMigration -> LiveMigration (calico-semantics A.3).
 * Returns 1 and fills `out` when the VMIM yields a LiveMigration, 0 when its
 * phase (or a missing vmiName/uid) yields none, negative on malformed input. */
int vmim_to_live_migration(const struct json_t *vmim, struct live_migration *out, struct herr *err);

/* ---- FelixConfiguration --------------------------------------------------- */

enum felix_field {
	FC_IPV4_NORMAL = 1 << 0,
	FC_IPV4_ELEVATED = 1 << 1,
	FC_IPV6_NORMAL = 1 << 2,
	FC_IPV6_ELEVATED = 1 << 3,
	FC_CONVERGENCE = 1 << 4,
};

/* One FelixConfiguration object; `set` says which fields it carries. */
struct felix_config {
	char *name; /* "default" or "node.<nodename>" */
	unsigned set;
	uint32_t ipv4_normal, ipv4_elevated, ipv6_normal, ipv6_elevated;
	uint64_t convergence_ms;
};

int felix_config_decode(const struct json_t *obj, struct felix_config *out, struct herr *err);
/* The spec fields handoff reads (every other Felix field is ignored). */
extern const char *const felix_config_fields[];
void felix_config_free(struct felix_config *fc);

/* ---- workload endpoint, as seen from a core/v1 Pod ------------------------ */

#define HANDOFF_IFNAMSIZ 16
#define HANDOFF_ADDRSIZ  46

struct endpoint {
	char *key; /* "<namespace>/<name>": the id roles, FSM, plan and replay use */
	char *ns, *name;
	char *node;          /* spec.nodeName ("" when unscheduled) */
	struct wep_ident id; /* k8s: {"", "k8s", "ns/name", "eth0"} */
	struct labels labels;
	char (*addrs)[HANDOFF_ADDRSIZ]; /* plain addresses (no prefix), IPv4 and IPv6 */
	size_t naddrs;
	char ifname[HANDOFF_IFNAMSIZ]; /* host-side interface, endpoint_ifname() */
	char mac[18];                  /* workload MAC "aa:bb:..", "" when unknown */
	bool host_network;             /* spec.hostNetwork: the node's own, not a workload */
	/* The watcher prepares the host interface itself (a hypervisor's tap:
	 * no CNI wires it); false for Pods, whose interface handoff-cni makes. */
	bool adopt_iface;
};

/* Decode a core/v1 Pod: metadata, labels, spec.nodeName, status.podIPs (or podIP). */
int endpoint_decode_pod(const struct json_t *pod, struct endpoint *out, struct herr *err);
/* Remove in place every field of a Pod tree that endpoint_decode_pod() does
 * not read (container specs, status conditions, managedFields, other
 * annotations, resourceVersion...): a cache of Pods then costs a fraction of
 * the memory, and an update that changes only such fields leaves the trimmed
 * tree equal to the cached one. The trimmed tree decodes to the same endpoint. */
void endpoint_pod_trim(struct json_t *pod);
/* Decode a projectcalico.org/v3 WorkloadEndpoint (a hypervisor's port, wep.c):
 * key "<namespace>/<name>", node spec.node, identity {spec.node,
 * spec.orchestrator, "<namespace>/<spec.workload>", spec.endpoint} (the node
 * takes part in matching unless the orchestrator is k8s, calico-semantics
 * A.4-A.5), addresses spec.ipNetworks (host prefixes only), interface
 * spec.interfaceName, MAC spec.mac; adopt_iface is set. */
int endpoint_decode_wep(const struct json_t *wep, struct endpoint *out, struct herr *err);
int endpoint_copy(struct endpoint *dst, const struct endpoint *src);
void endpoint_free(struct endpoint *ep);

/* The host-side interface name for a pod, deterministic, at most 15 characters:
 * "ho" + 12 hex digits of a hash of "<namespace>.<name>". The CNI uses the same. */
void endpoint_ifname(const char *ns, const char *name, char out[HANDOFF_IFNAMSIZ]);

/* Address family of a plain address: 4, 6, or 0 when it is neither. */
int addr_family(const char *addr);

#endif
