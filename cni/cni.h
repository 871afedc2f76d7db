/* cni.h - handoff-cni: the CNI plugin that wires a pod to the host.
 *
 *   config.c  network configuration and CNI_ARGS parsing (pure, unit-tested)
 *   ipam.c    delegation to the IPAM plugin named by ipam.type
 *   wire.c    veth pair, host side (owned by the container), addresses and
 *             routes in the pod namespace, CHECK
 *   tap.c     the VM's tap in the pod, joined to the pod's veth by tc redirect
 *   record.c  the endpoint record the watcher reads, one per container
 *   result.c  the ADD result (prevResult kept when chained)
 *   main.c    CNI_COMMAND dispatch, the lifecycle rules, error JSON
 *
 * Everything is keyed on CNI_CONTAINERID, never on the pod: the kubelet
 * deletes an old sandbox of a pod after (or while) a new one is wired, and
 * runtimes send different CNI_ARGS on DEL than on ADD.
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
	int mtu;             /* 0: leave the kernel's default */
	bool tap;            /* also create a tap device for a VM in the pod (tap.c) */
	bool tap_multiqueue; /* "tapMultiqueue": IFF_MULTI_QUEUE, one fd per vCPU queue */
	long tap_owner;      /* "tapOwner": uid allowed to attach, -1: root only */
	long tap_group;      /* "tapGroup": gid allowed to attach, -1: root only */
	char ipam_type[64];
	json_t *ipam;        /* the "ipam" object, for the IPAM plugin's own use */
	json_t *prev_result; /* "prevResult" (chained ADD, CHECK, DEL) or NULL */
	/* On a parse error: context for the error's "details" (the offending
	 * field's value as JSON, cut to fit), "" when there is none. */
	char err_details[256];
};

/* Parse and validate a configuration. On error returns a negative errno, sets
 * *code to a CNI error code, and err names the field and the rule. */
int cni_conf_parse(const char *text, size_t len, struct cni_conf *out, int *code, struct herr *err);
void cni_conf_free(struct cni_conf *c);
/* True for the versions this plugin speaks. */
bool cni_version_supported(const char *v);

/* CNI_CONTAINERID: what everything this plugin makes is keyed on (record file
 * name, the host interface's owner). The spec's character set (an
 * alphanumeric, then alphanumerics, '_', '.', '-'), at most 200 characters so
 * that "<id>.json" and the temporary names fit a file name. */
#define CNI_CONTAINER_ID_MAX 200
int cni_container_id_check(const char *id, struct herr *err);

/* CNI_ARGS: "K=V;K=V". Unknown keys are ignored (runtimes add their own). */
struct cni_args {
	char pod_ns[254];
	char pod_name[254];
	bool tap; /* HANDOFF_TAP=1 */
};
int cni_args_parse(const char *args, struct cni_args *out, struct herr *err);

/* The pod identity the endpoint is recorded under (and its host interface
 * named after), from what the runtime gave: the kubelet sends both
 * K8S_POD_NAMESPACE and K8S_POD_NAME; podman sends only K8S_POD_NAME (the
 * container's name), which goes to namespace "default" as a Pod without a
 * namespace does; a plain CNI caller sends neither: default/<container id>. */
void cni_identity(const struct cni_args *a, const char *container_id, char ns[254], char name[254]);

/* One address from the IPAM result. */
struct cni_ip {
	int family;       /* 4 or 6 */
	char addr[64];    /* without prefix length */
	int prefix;       /* as IPAM gave it (we configure /32 and /128) */
	char gateway[64]; /* "" when absent */
};

/* One route from the IPAM result ("routes"); installed via our gateway. */
struct cni_route {
	int family;
	char dst[80]; /* CIDR */
};

#define CNI_MAX_IPS    8
#define CNI_MAX_ROUTES 32
struct cni_ipam_result {
	struct cni_ip ips[CNI_MAX_IPS];
	int nips;
	struct cni_route routes[CNI_MAX_ROUTES];
	int nroutes;
	json_t *dns; /* owned, or NULL */
};

/* A default route (prefix length 0): the plugin installs those itself. */
bool cni_route_is_default(const struct cni_route *rt);

/* The VM's tap device in the pod (QEMU: -netdev tap,ifname=tap0,script=no). */
#define CNI_TAP_NAME "tap0"

/* Parse an IPAM plugin's result (spec 0.3.0 to 1.0.0 "ips", "routes"). Pure. */
int cni_ipam_result_parse(const char *text, size_t len, struct cni_ipam_result *out,
                          struct herr *err);
void cni_ipam_result_free(struct cni_ipam_result *r);

/* Run the IPAM plugin `type` found in CNI_PATH with CNI_COMMAND=`command` and
 * `stdin_conf` on its stdin; the rest of the environment is ours. On success
 * *out (may be NULL) receives its stdout (malloc'd). A failing plugin's msg
 * ends up in err, its CNI error code in *code (CNI_ERR_IO when it gave none)
 * and its "details" in details (may be NULL). */
int cni_ipam_exec(const char *type, const char *command, const char *stdin_conf, char **out,
                  int *code, char *details, size_t details_len, struct herr *err);

/* What wire.c learnt about the interfaces it set up. */
struct cni_wired {
	char host_if[16];
	char host_mac[18];
	char ctr_mac[18];
	bool tap;
	char tap_name[16];
	char tap_mac[18];
};

/* ADD: veth host_if <-> ifname (in netns_path), the host side prepared and
 * marked as owned by container_id (its interface alias), the pod side
 * addressed and routed (the IPAM routes too), and the tap when asked. On
 * failure removes what it made. */
int cni_wire_add(const struct cni_conf *c, const char *host_if, const char *container_id,
                 const char *netns_path, const char *ifname, const struct cni_ipam_result *ipam,
                 bool tap, struct cni_wired *out, struct herr *err);
/* The container that owns host interface host_if (as cni_wire_add marked it):
 * 0 and owner filled ("" when unmarked), -ENODEV when there is no such link. */
int cni_wire_owner(const char *host_if, char *owner, size_t len, struct herr *err);
/* DEL: remove the host side (its peer goes with it); absent is fine. */
int cni_wire_del(const char *host_if, struct herr *err);
/* DEL of a pod that had a tap: remove it from its namespace (gone is fine). */
int cni_wire_del_tap(const char *netns_path, const char *tap, struct herr *err);
/* CHECK: host_if exists with host_mac, owned by container_id, proxy ARP on;
 * ifname in netns_path carries each address, the default routes and the
 * IPAM routes of `ips` (via our gateway); the tap (when tap is not "") exists. */
int cni_wire_check(const struct cni_conf *c, const char *host_if, const char *container_id,
                   const char *netns_path, const char *ifname, const struct cni_ipam_result *ips,
                   const char *tap, struct herr *err);

/* tap.c, inside the pod's namespace (the caller has switched to it): a
 * persistent tap `name` for the VM (multiqueue, owner and group as
 * configured), up, joined to the pod's `ifname` by tc redirects both ways. */
int cni_tap_add(const struct cni_conf *c, const char *name, const char *ifname, char *mac,
                size_t maclen, struct herr *err);
/* CHECK, inside the pod's namespace: the tap exists and both redirects are
 * in place. */
int cni_tap_check(const char *name, const char *ifname, struct herr *err);

/* Link-local IPv6 of a MAC by EUI-64 ("fe80::ecee:eeff:feee:eeee" for ee:..:ee). */
int cni_mac_link_local(const char *mac, char *out, size_t len);

/* record.c: the endpoint record, <endpointDir>/<container id>.json. */
struct cni_record {
	char container_id[CNI_CONTAINER_ID_MAX + 1];
	char pod_ns[254], pod_name[254];
	char host_if[16];
	char netns[PATH_MAX];
	char tap[16]; /* "" when the pod has no tap */
};
/* Written to a fresh temporary name (O_EXCL: never through a planted link)
 * and renamed over the final name. */
int cni_record_write(const char *dir, const struct cni_record *rec,
                     const struct cni_ipam_result *ipam, const char *ctr_mac, struct herr *err);
/* -ENOENT when the container has no record. */
int cni_record_read(const char *dir, const char *container_id, struct cni_record *out,
                    struct herr *err);
int cni_record_remove(const char *dir, const char *container_id, struct herr *err);
/* Which container's record holds host interface host_if (the hidden
 * .<host_if>.owner link): 0 and owner filled, -ENOENT when none. */
int cni_record_owner(const char *dir, const char *host_if, char *owner, size_t len);
int cni_record_set_owner(const char *dir, const char *host_if, const char *container_id,
                         struct herr *err);
/* Remove the link when it still names container_id. */
void cni_record_clear_owner(const char *dir, const char *host_if, const char *container_id);

/* result.c: the ADD result in the configuration's cniVersion. When the
 * configuration carries a prevResult (a chained plugin before us), its
 * interfaces, IPs, routes and DNS are kept and ours appended. */
json_t *cni_result_build(const struct cni_conf *c, const char *ifname, const char *netns,
                         const struct cni_ipam_result *ipam, const struct cni_wired *w);

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
