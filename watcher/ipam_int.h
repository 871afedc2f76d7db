/* ipam_int.h - what ipam_ops.c (handles) and ipam_blocks.c (claims on a
 * node range) share; inside the watcher's VM address service only. */
#ifndef HANDOFF_WATCHER_IPAM_INT_H
#define HANDOFF_WATCHER_IPAM_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "ipam.h"

#define HANDLES      "/apis/handoff.dev/v1/vmaddresses"
#define BLOCKS       "/apis/handoff.dev/v1/vmaddressblocks"
#define CAS_ATTEMPTS 16

/* The CNI error codes of the answers (the CNI spec's "Error" section). */
enum {
	CNI_ERR_UNKNOWN_CTR = 3,
	CNI_ERR_IO = 5,
	CNI_ERR_DECODE = 6,
	CNI_ERR_CONFIG = 7,
	CNI_ERR_TRY_LATER = 11,
};

/* A CNI answer {"code", "msg"}. */
json_t *ipam_answer_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A failed API call as a CNI answer: no answer or a server error is
 * transient (11); anything else is the request's fault (5). */
json_t *ipam_answer_api(int st, const json_t *body, const char *what, const struct herr *err);
/* metadata.<key> of an object, "" when absent. */
const char *ipam_meta_str(const json_t *obj, const char *key);

/* The first podCIDR of each family of this node ("" when none). Under
 * alloc_lock. 0, or a CNI answer in *fail. */
int ipam_node_ranges(struct ipam_node *n, struct kube_rest *api, char cidrs[2][64],
                     struct vm_range ranges[2], json_t **fail);
/* Claim an address of range r (from cidr) for the handle (name, uid): the
 * one it already claims there, else the lowest free one. 0 with addr, or a
 * CNI answer in *fail. */
int ipam_claim(struct ipam_node *n, struct kube_rest *api, const char *cidr,
               const struct vm_range *r, const char *handle, const char *uid, char *addr,
               size_t len, json_t **fail);
/* Remove claims: those naming (handle, uid) in every block, or with
 * only_stale those of `node`'s blocks whose handle is gone or lost; adds the
 * count to *freed. */
int ipam_unclaim(struct kube_rest *api, const char *handle, const char *uid, bool only_stale,
                 const char *node, int *freed, struct herr *err);

#endif
