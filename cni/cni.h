/* cni.h - handoff-cni: the CNI plugin that wires a pod to the host.
 *
 *   config.c  network configuration and CNI_ARGS parsing (pure, unit-tested)
 *   ipam.c    delegation to the IPAM plugin named by ipam.type
 *   wire.c    veth pair, host side, addresses and routes in the pod namespace
 *   record.c  the endpoint record the watcher reads (DESIGN.md)
 *   main.c    CNI_COMMAND dispatch, result and error JSON
 *
 * The CNI never adds the pod's host route: the watcher owns workload routes
 * (DESIGN.md "Ownership of workload routes"). */
#ifndef HANDOFF_CNI_H
#define HANDOFF_CNI_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>

#include "util/err.h"

/* CNI error codes (spec "Error" section). */
enum cni_code {
	CNI_ERR_VERSION = 1,     /* incompatible CNI version */
	CNI_ERR_UNSUPPORTED = 2, /* unsupported field in the network configuration */
	CNI_ERR_UNKNOWN_CTR = 3, /* container unknown or does not exist */
	CNI_ERR_ENV = 4,         /* invalid necessary environment variables */
	CNI_ERR_IO = 5,          /* I/O failure */
	CNI_ERR_DECODE = 6,      /* failed to decode content */
	CNI_ERR_CONFIG = 7,      /* invalid network configuration */
	CNI_ERR_TRY_LATER = 11,
};

#define CNI_VERSION_LATEST       "1.0.0"
#define CNI_ENDPOINT_DIR_DEFAULT "/run/handoff/endpoints"

/* One parsed plugin configuration. Owns `ipam` and `prev_result` (json refs). */
struct cni_conf {
	char cni_version[16];
	char name[256];
	char host_mac[18];
	char endpoint_dir[PATH_MAX];
	int mtu;  /* 0: leave the kernel's default */
	bool tap; /* also create a tap device for a VM in the pod */
	char ipam_type[64];
	json_t *ipam;        /* the "ipam" object, for the IPAM plugin's own use */
	json_t *prev_result; /* "prevResult" (CHECK, DEL) or NULL */
};

/* Parse and validate a configuration. On error returns a negative errno, sets
 * *code to a CNI error code, and err names the field and the rule. */
int cni_conf_parse(const char *text, size_t len, struct cni_conf *out, int *code, struct herr *err);
void cni_conf_free(struct cni_conf *c);
/* True for the versions this plugin speaks. */
bool cni_version_supported(const char *v);

/* CNI_ARGS: "K=V;K=V". Unknown keys are ignored (runtimes add their own). */
struct cni_args {
	char pod_ns[254];
	char pod_name[254];
	bool tap; /* HANDOFF_TAP=1 */
};
int cni_args_parse(const char *args, struct cni_args *out, struct herr *err);

/* One address from the IPAM result. */
struct cni_ip {
	int family;       /* 4 or 6 */
	char addr[64];    /* without prefix length */
	int prefix;       /* as IPAM gave it (we configure /32 and /128) */
	char gateway[64]; /* "" when absent */
};

#define CNI_MAX_IPS 8
struct cni_ipam_result {
	struct cni_ip ips[CNI_MAX_IPS];
	int nips;
	json_t *dns; /* owned, or NULL */
};

/* Parse an IPAM plugin's result (spec 0.3.0 to 1.0.0 "ips"). Pure. */
int cni_ipam_result_parse(const char *text, size_t len, struct cni_ipam_result *out,
                          struct herr *err);
void cni_ipam_result_free(struct cni_ipam_result *r);

/* Run the IPAM plugin `type` found in CNI_PATH with CNI_COMMAND=`command` and
 * `stdin_conf` on its stdin; the rest of the environment is ours. On success
 * *out (may be NULL) receives its stdout (malloc'd). A failing plugin's msg
 * ends up in err. */
int cni_ipam_exec(const char *type, const char *command, const char *stdin_conf, char **out,
                  struct herr *err);

/* What wire.c learnt about the interfaces it set up. */
struct cni_wired {
	char host_if[16];
	char host_mac[18];
	char ctr_mac[18];
	bool tap;
};

/* ADD: veth host_if <-> ifname (in netns_path), host side prepared, pod side
 * addressed and routed. On failure removes what it made. */
int cni_wire_add(const struct cni_conf *c, const char *host_if, const char *netns_path,
                 const char *ifname, const struct cni_ipam_result *ipam, bool tap,
                 struct cni_wired *out, struct herr *err);
/* DEL: remove the host side (its peer goes with it); absent is fine. */
int cni_wire_del(const char *host_if, struct herr *err);
/* DEL of a pod that had a tap: remove tap0 from its namespace (gone is fine). */
int cni_wire_del_tap(const char *netns_path, struct herr *err);
/* CHECK: host_if exists with host_mac; ifname in netns_path carries each address. */
int cni_wire_check(const char *host_if, const char *host_mac, const char *netns_path,
                   const char *ifname, const struct cni_ipam_result *ips, struct herr *err);

/* Link-local IPv6 of a MAC by EUI-64 ("fe80::ecee:eeff:feee:eeee" for ee:..:ee). */
int cni_mac_link_local(const char *mac, char *out, size_t len);

/* endpointDir/<ns>_<pod>.json, written through a temporary file and rename. */
int cni_record_write(const char *dir, const char *pod_ns, const char *pod_name, const char *host_if,
                     const struct cni_ipam_result *ipam, const char *ctr_mac,
                     const char *container_id, const char *netns, struct herr *err);
int cni_record_remove(const char *dir, const char *pod_ns, const char *pod_name, struct herr *err);

/* vmaddr.c: a KubeVirt VM pod's addresses from the node's watcher (when
 * ipam.vmAddressSocket is set). ADD: 1 with *out filled (a VM pod: the IPAM
 * plugin is not used), 0 (not a VM pod), or a negative errno with *code.
 * DEL: 1 (the pod owned VM addresses), 0, or a negative errno with *code. */
int cni_vm_add(const struct cni_conf *c, const struct cni_args *a, struct cni_ipam_result *out,
               int *code, struct herr *err);
int cni_vm_del(const struct cni_conf *c, const struct cni_args *a, int *code, struct herr *err);
/* CHECK: 1 when a VM pod's prevResult addresses are the VM's (the IPAM
 * plugin has no lease of them to check), 0 (not a VM pod), or an error. */
int cni_vm_check(const struct cni_conf *c, const struct cni_args *a,
                 const struct cni_ipam_result *prev, int *code, struct herr *err);
/* With ipam.vmAddressSocket, host-local's ranges end below the VM half
 * (vm_ipam_split): *rewritten gets the configuration to give the IPAM
 * plugin (malloc'd), else NULL. Runs after any substitution of the ranges. */
int cni_vm_split_conf(const char *conf, char **rewritten, struct herr *err);

#endif
