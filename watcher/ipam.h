/* ipam.h - the node's VM address service (issue 11): handoff-cni asks it,
 * over a unix socket, for the addresses of a KubeVirt virt-launcher pod.
 *
 *   ipam_ops.c     the operations on the API: ADD, CHECK, DEL, promotion at
 *                  Live, garbage collection; every write a resourceVersion CAS
 *   ipam_blocks.c  claims on a node range's VM addresses (ipam_int.h)
 *   ipam_server.c  the socket, the worker threads, the promotion queue
 *
 * State lives only in the Kubernetes API:
 *   VMAddress       (handoff.dev/v1, cluster-scoped) one per VM and network,
 *                   "<network>.vmi.<namespace>.<vm>": its addresses, the
 *                   active and alternate owner pods (src/core/vmaddr.h);
 *   VMAddressBlock  one per node range (podCIDR): which VM addresses of it
 *                   are claimed, by which handle (name and uid).
 * The handle is created before any claim names it, and a claim is reused by
 * the handle it names, so a crash between two writes leaves nothing that a
 * retried ADD or the garbage collector does not take back. */
#ifndef HANDOFF_WATCHER_IPAM_H
#define HANDOFF_WATCHER_IPAM_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#include "core/vmaddr.h"
#include "kube/client.h"
#include "kube/rest.h"

struct ipam_node {
	const char *node;
	pthread_mutex_t alloc_lock; /* one claim at a time from this process; CAS for the rest */
	/* The node's podCIDRs, read once under alloc_lock: Kubernetes does not
	 * let them change once assigned. */
	bool have_ranges;
	char cidrs[2][64];
	struct vm_range ranges[2];
	/* Under alloc_lock: each family's block as this process last stored it
	 * (a stale one costs a 409 and a GET, never a wrong claim). */
	json_t *block_cache[2];
	char block_cache_name[2][128];
};

/* One request of handoff-cni: {"command": "ADD"|"CHECK"|"DEL", "namespace",
 * "pod", "network"} (CHECK reads only). The answer: {"vm": false} (not a VM pod: host-local's
 * business), {"vm": true, "target": bool, "ips": [...]}, or {"code": N,
 * "msg": "..."} with a CNI error code (11: try again later). */
json_t *ipam_handle_request(struct ipam_node *n, struct kube_rest *api, const json_t *req);

/* The migration of the VM in pod ns/pod went Live on this node: make it the
 * active owner. 0, -EAGAIN (retry), or a final -ENOENT/-ESTALE (B.4). */
int ipam_promote(struct ipam_node *n, struct kube_rest *api, const char *ns, const char *pod,
                 struct herr *err);

/* Free claims of this node's blocks whose handle is gone (or that lost to
 * another claim), and release handles of this node whose VMI is gone and
 * whose owner pods are gone. Returns how many claims and handles it freed. */
int ipam_collect(struct ipam_node *n, struct kube_rest *api, struct herr *err);

struct ipam_server_opts {
	const char *socket_path;
	const char *node;
	unsigned workers;       /* concurrent requests */
	unsigned gc_interval_s; /* 0: no periodic collection */
};
struct ipam_server;
struct ipam_server *ipam_server_start(const struct ipam_server_opts *o,
                                      const struct kube_config *cfg, struct herr *err);
/* Queue a promotion (from the event loop; never blocks on the API). */
void ipam_server_promote(struct ipam_server *s, const char *endpoint_key);
void ipam_server_stop(struct ipam_server *s);

#endif
