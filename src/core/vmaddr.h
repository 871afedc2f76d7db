/* vmaddr.h - a KubeVirt VM's addresses for its whole life (issue 11).
 *
 * Pure logic, no I/O: which pods are VM pods, the handle that holds a VM's
 * addresses and its owners, and the choice of a new address from a node's
 * range. The watcher's IPAM service (watcher/ipam_*.c) stores handles as
 * VMAddress objects in the Kubernetes API and changes them with
 * resourceVersion compare-and-swap; everything it decides is decided here. */
#ifndef HANDOFF_CORE_VMADDR_H
#define HANDOFF_CORE_VMADDR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define VMADDR_NAME_MAX 253 /* a DNS subdomain: what an object name may be */

/* What KubeVirt's labels on a virt-launcher pod say (calico-semantics.md A.3). */
struct vm_pod {
	bool is_vm;              /* kubevirt.io=virt-launcher and a VM name label */
	bool target;             /* carries kubevirt.io/migrationJobUID */
	char vm[254];            /* vmi.kubevirt.io/id, else vm.kubevirt.io/name */
	char migration_uid[128]; /* kubevirt.io/migrationJobUID */
	char vmi[254];           /* the controller VirtualMachineInstance's name, else `vm` */
};

/* From a Pod object. A pod without the labels is not a VM pod (not an
 * error); a VM label that is empty or too long is (err names the label). */
int vm_pod_classify(const json_t *pod, struct vm_pod *out, struct herr *err);

/* "<network>.vmi.<namespace>.<vm>" as an object name: the network name is
 * lowercased and characters a name cannot hold become '-'; a name longer
 * than 253 keeps its first 236 characters and a hash of the whole. */
int vm_handle_name(const char *network, const char *ns, const char *vm, char *out, size_t len);

/* One VM's addresses and the pods that hold them. An owner is a pod name in
 * the VM's namespace; "" when none. */
struct vm_handle {
	char name[VMADDR_NAME_MAX + 1];
	char rv[32]; /* metadata.resourceVersion: the CAS precondition */
	char ns[64];
	char vm[254];
	char vmi[254];  /* the VMI's name (the pod's controller), for its lifetime */
	char node[254]; /* whose range the addresses came from */
	char v4[46], v6[46];
	char active[254];    /* the pod running the VM */
	char alternate[254]; /* a migration target not yet Live */
};

/* VMAddress object <-> handle. Decoding names the object and the field. A
 * handle without addresses is one whose allocation is under way (it is made
 * first, so that address claims can name it). */
int vm_handle_decode(const json_t *obj, struct vm_handle *out, struct herr *err);
json_t *vm_handle_encode(const struct vm_handle *h);

/* ADD of `pod`: a migration target becomes the alternate owner, any other
 * pod the active one, replacing what was there (a previous pod may be stuck
 * terminating, a failed migration may have left an alternate). Returns true
 * when the handle changed (it must be written back). */
bool vm_handle_add_owner(struct vm_handle *h, const char *pod, bool target);
/* DEL of `pod`: it stops owning (active or alternate). True when changed. */
bool vm_handle_drop_owner(struct vm_handle *h, const char *pod);
/* The migration went Live: `pod`, the alternate owner, becomes the active
 * one. 0 and *changed; 0 and !*changed when it already is active;
 * -ENOENT when there is no alternate (the target pod is gone), -ESTALE when
 * the alternate is another pod: both final (B.4). */
int vm_handle_promote(struct vm_handle *h, const char *pod, bool *changed);
/* The addresses go back only when the VMI is gone and no pod holds them. */
bool vm_handle_releasable(const struct vm_handle *h, bool vmi_gone);

/* A node's range split between host-local (ordinary pods: the lower half)
 * and VM addresses (the upper half, given out here). A VM address is never
 * given to an ordinary pod, and one VM address never to two VMs: the
 * allocator excludes every address any handle holds. */
struct vm_range {
	int family;                 /* 4 or 6 */
	unsigned char first[16];    /* first VM address */
	unsigned char last[16];     /* last VM address (v4: before the broadcast) */
	unsigned char pod_last[16]; /* host-local's rangeEnd: end of the lower half */
	unsigned char network[16];
	int prefix;
};

/* Parse "10.244.1.0/24" or "fd00:10:244:1::/64". err names `what` (e.g.
 * "Node node-a spec.podCIDRs[0]"). Prefixes that leave no VM address
 * (v4 /31, /32; v6 /128) are refused. */
int vm_range_parse(const char *cidr, const char *what, struct vm_range *out, struct herr *err);
/* Is the address (text) inside the range's VM half? */
bool vm_range_contains(const struct vm_range *r, const char *addr);
/* The lowest VM address of `r` not in used[0..nused) (texts, any family).
 * -ENOSPC when every one is taken. */
int vm_range_pick(const struct vm_range *r, const char *const *used, size_t nused, char *out,
                  size_t len);
/* host-local's rangeStart/rangeEnd for ordinary pods (texts). */
void vm_range_pod_bounds(const struct vm_range *r, char *start, char *end, size_t len);

/* Keep host-local out of the VM half: in a host-local "ipam" object, every
 * range (ipam.ranges[i][j], or ipam itself in the legacy single-range form)
 * whose subnet is a CIDR gets rangeEnd at the end of the lower half. An
 * operator's rangeEnd inside the VM half is an error naming the field; a
 * lower one stays. Subnets that are not CIDRs yet (placeholders such as
 * "usePodCidr", substituted before this) are left alone. */
int vm_ipam_split(json_t *ipam, struct herr *err);

#endif
