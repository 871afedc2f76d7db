/* ipam_ops.c - the VM address operations on the Kubernetes API (ipam.h).
 *
 * Every write is a compare-and-swap: POST (409 AlreadyExists when another
 * writer was first), PUT with metadata.resourceVersion (409 Conflict when
 * the object changed since it was read), DELETE with a resourceVersion
 * precondition. A 409 re-reads and decides again; nothing is written from
 * a stale read. The decisions themselves are src/core/vmaddr.c's.
 *
 * ADD of a VM pod:
 *   1. GET the pod: its labels say whether it is a VM pod, which VM, and
 *      whether it is a migration target (calico-semantics.md A.3).
 *   2. GET the VM's handle. With addresses: record the pod as active or
 *      alternate owner (PUT), answer them. Without: a target is refused (it
 *      can never get new addresses); a first pod creates the handle (POST,
 *      no addresses yet), claims one address per family of its node's
 *      podCIDRs in that range's block (PUT on the block, the claim naming
 *      the handle's uid), then writes them into the handle (PUT).
 *   A crash after the POST or a claim leaves a handle or claims that the
 *   retried ADD takes over (a claim naming the handle is reused), or that
 *   the collector frees (a claim whose handle uid no longer exists). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vmaddr.h"
#include "ipam_int.h"
#include "util/log.h"

static json_t *answer_vm(const struct vm_handle *h, bool target)
{
	json_t *ips = json_array();
	if (h->v4[0])
		json_array_append_new(ips, json_string(h->v4));
	if (h->v6[0])
		json_array_append_new(ips, json_string(h->v6));
	return json_pack("{s:b, s:b, s:o, s:s}", "vm", 1, "target", target, "ips", ips, "handle",
	                 h->name);
}

/* PUT the handle; 1 when another writer changed it first (re-read). */
static int put_handle(struct kube_rest *api, const struct vm_handle *h, json_t **fail)
{
	char path[400];
	struct herr err = {{0}};
	json_t *body = vm_handle_encode(h), *ans = NULL;
	int st;

	snprintf(path, sizeof(path), HANDLES "/%s", h->name);
	st = body ? kube_rest_call(api, "PUT", path, body, &ans, &err) : -ENOMEM;
	json_decref(body);
	if (st == 200 || st == 409) {
		json_decref(ans);
		return st == 409;
	}
	*fail = ipam_answer_api(st, ans, path, &err);
	json_decref(ans);
	return -EIO;
}

static json_t *vm_add(struct ipam_node *n, struct kube_rest *api, const char *ns, const char *pod,
                      const struct vm_pod *vp, const char *network)
{
	char name[VMADDR_NAME_MAX + 1], path[400];
	struct herr err = {{0}};

	if (vm_handle_name(network, ns, vp->vm, name, sizeof(name)) < 0)
		return ipam_answer_error(CNI_ERR_CONFIG, "VM %s/%s: handle name too long", ns,
		                         vp->vm);
	snprintf(path, sizeof(path), HANDLES "/%s", name);
	for (int attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
		struct vm_handle h;
		json_t *obj = NULL, *fail = NULL;
		char uid[128];
		int st = kube_rest_call(api, "GET", path, NULL, &obj, &err), r;

		if (st == 404 && vp->target) {
			json_decref(obj);
			return ipam_answer_error(
			    CNI_ERR_IO,
			    "pod %s/%s is a migration target of VM %s, which has no "
			    "addresses (VMAddress %s does not exist): a target can "
			    "only take over the VM's addresses",
			    ns, pod, vp->vm, name);
		}
		if (st == 404) {
			memset(&h, 0, sizeof(h));
			snprintf(h.name, sizeof(h.name), "%s", name);
			snprintf(h.ns, sizeof(h.ns), "%s", ns);
			snprintf(h.vm, sizeof(h.vm), "%s", vp->vm);
			snprintf(h.vmi, sizeof(h.vmi), "%s", vp->vmi);
			snprintf(h.node, sizeof(h.node), "%s", n->node);
			vm_handle_add_owner(&h, pod, false);
			json_t *body = vm_handle_encode(&h);
			json_decref(obj);
			obj = NULL;
			st = kube_rest_call(api, "POST", HANDLES, body, &obj, &err);
			json_decref(body);
			if (st == 409) { /* another ADD for this VM was first */
				json_decref(obj);
				continue;
			}
			st = st == 201 ? 200 : st;
		}
		if (st != 200) {
			fail = ipam_answer_api(st, obj, path, &err);
			json_decref(obj);
			return fail;
		}
		if (vm_handle_decode(obj, &h, &err) < 0) {
			json_decref(obj);
			return ipam_answer_error(CNI_ERR_IO, "%s", err.msg);
		}
		snprintf(uid, sizeof(uid), "%s", ipam_meta_str(obj, "uid"));
		json_decref(obj);

		if (!h.v4[0] && !h.v6[0]) {
			char cidrs[2][64], addr[2][46];
			struct vm_range ranges[2];

			if (vp->target)
				return ipam_answer_error(
				    CNI_ERR_TRY_LATER,
				    "VM %s/%s: its first pod's allocation is under way", ns,
				    vp->vm);
			/* Claims from this process go one at a time: CAS settles only
			 * races with other processes, without retry storms here. */
			pthread_mutex_lock(&n->alloc_lock);
			r = ipam_node_ranges(n, api, cidrs, ranges, &fail);
			for (int k = 0; k < 2 && r == 0; k++)
				if (cidrs[k][0])
					r = ipam_claim(n, api, cidrs[k], &ranges[k], name, uid,
					               addr[k], sizeof(addr[k]), &fail);
			pthread_mutex_unlock(&n->alloc_lock);
			if (r < 0)
				return fail;
			snprintf(h.v4, sizeof(h.v4), "%s", cidrs[0][0] ? addr[0] : "");
			snprintf(h.v6, sizeof(h.v6), "%s", cidrs[1][0] ? addr[1] : "");
			snprintf(h.node, sizeof(h.node), "%s", n->node);
			vm_handle_add_owner(&h, pod, false);
		} else if (!vm_handle_add_owner(&h, pod, vp->target)) {
			return answer_vm(&h, vp->target); /* a retried ADD: nothing to write */
		}
		if ((r = put_handle(api, &h, &fail)) < 0)
			return fail;
		if (r == 0) {
			hlog(HLOG_INFO, "VM addresses given",
			     "pod=%s/%s vm=%s role=%s ipv4=%s ipv6=%s", ns, pod, vp->vm,
			     vp->target ? "alternate" : "active", h.v4[0] ? h.v4 : "-",
			     h.v6[0] ? h.v6 : "-");
			return answer_vm(&h, vp->target);
		}
	}
	return ipam_answer_error(CNI_ERR_TRY_LATER, "VMAddress %s: too many concurrent writers",
	                         name);
}

/* Is the VMI gone: absent, being deleted, or finished (its last pod gone
 * and no migration can follow)? -EIO when the API cannot tell. */
static int vmi_gone(struct kube_rest *api, const struct vm_handle *h, struct herr *err)
{
	char path[600];
	json_t *vmi = NULL;
	int st, gone;

	snprintf(path, sizeof(path),
	         "/apis/kubevirt.io/v1/namespaces/%s/virtualmachineinstances/%s", h->ns,
	         h->vmi[0] ? h->vmi : h->vm);
	st = kube_rest_call(api, "GET", path, NULL, &vmi, err);
	if (st == 404) {
		json_decref(vmi);
		return 1;
	}
	if (st != 200) {
		json_decref(vmi);
		return herr_set(err, -EIO, "GET %s: %d", path, st);
	}
	const char *phase =
	    json_string_value(json_object_get(json_object_get(vmi, "status"), "phase"));
	gone = json_object_get(json_object_get(vmi, "metadata"), "deletionTimestamp") ||
	       (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")));
	json_decref(vmi);
	return gone;
}

static int release(struct kube_rest *api, const struct vm_handle *h, const char *uid,
                   struct herr *err)
{
	char path[400];
	json_t *pre = json_pack("{s:s, s:s, s:{s:s, s:s}}", "kind", "DeleteOptions", "apiVersion",
	                        "v1", "preconditions", "resourceVersion", h->rv, "uid", uid);
	json_t *ans = NULL;
	int st, freed = 0;

	snprintf(path, sizeof(path), HANDLES "/%s", h->name);
	st = kube_rest_call(api, "DELETE", path, pre, &ans, err);
	json_decref(pre);
	json_decref(ans);
	if (st == 409)
		return 0;
	if (st != 200 && st != 404)
		return herr_set(err, -EIO, "DELETE %s: %d", path, st);
	hlog(HLOG_INFO, "VM addresses released", "vm=%s/%s ipv4=%s ipv6=%s", h->ns, h->vm,
	     h->v4[0] ? h->v4 : "-", h->v6[0] ? h->v6 : "-");
	return ipam_unclaim(api, h->name, uid, false, NULL, &freed, err) < 0 ? -EIO : 1;
}

/* --- DEL, promotion: find the handles a pod owns --- */

/* Every handle: a VM pod's DEL and promotion find the handles it owns by
 * owner, so that a pod already deleted (no labels to read) still lets go. */
static json_t *list_handles(struct kube_rest *api, struct herr *err, int *st)
{
	json_t *list = NULL;
	*st = kube_rest_call(api, "GET", HANDLES, NULL, &list, err);
	return list;
}

static json_t *vm_del(struct ipam_node *n, struct kube_rest *api, const char *ns, const char *pod)
{
	struct herr err = {{0}};
	json_t *list, *obj;
	size_t i;
	int st, found = 0;

	list = list_handles(api, &err, &st);
	if (st != 200) {
		json_t *a = ipam_answer_api(st, list, HANDLES, &err);
		json_decref(list);
		return a;
	}
	json_array_foreach(json_object_get(list, "items"), i, obj)
	{
		struct vm_handle h;
		json_t *cur = json_incref(obj), *fail = NULL;
		char uid[128], path[400];

		if (vm_handle_decode(obj, &h, &err) < 0 || strcmp(h.ns, ns) ||
		    (strcmp(h.active, pod) && strcmp(h.alternate, pod))) {
			json_decref(cur);
			continue;
		}
		found++;
		snprintf(path, sizeof(path), HANDLES "/%s", h.name);
		for (int attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
			int r;
			snprintf(uid, sizeof(uid), "%s", ipam_meta_str(cur, "uid"));
			if (vm_handle_decode(cur, &h, &err) < 0)
				break;
			if (vm_handle_drop_owner(&h, pod) &&
			    (r = put_handle(api, &h, &fail)) != 0) {
				if (r < 0) {
					json_decref(cur);
					json_decref(list);
					return fail;
				}
				json_decref(cur);
				cur = NULL;
				if (kube_rest_call(api, "GET", path, NULL, &cur, &err) != 200)
					break;
				continue;
			}
			hlog(HLOG_INFO, "VM pod no longer owns its addresses", "pod=%s/%s vm=%s",
			     ns, pod, h.vm);
			/* The PUT moved the version on: read it back for the release's
			 * precondition. */
			if (!h.active[0] && !h.alternate[0]) {
				json_decref(cur);
				cur = NULL;
				if (kube_rest_call(api, "GET", path, NULL, &cur, &err) == 200 &&
				    vm_handle_decode(cur, &h, &err) == 0 &&
				    vm_handle_releasable(&h, vmi_gone(api, &h, &err) == 1))
					release(api, &h, ipam_meta_str(cur, "uid"), &err);
			}
			break;
		}
		json_decref(cur);
	}
	json_decref(list);
	(void)n;
	return json_pack("{s:b}", "vm", found > 0);
}

int ipam_promote(struct ipam_node *n, struct kube_rest *api, const char *ns, const char *pod,
                 struct herr *err)
{
	json_t *list, *obj;
	size_t i;
	int st, rc = -ENOENT;

	(void)n;
	list = list_handles(api, err, &st);
	if (st != 200) {
		json_decref(list);
		return herr_set(err, -EAGAIN, "GET " HANDLES ": %d", st);
	}
	herr_set(err, -ENOENT, "pod %s/%s holds no VM address as alternate owner", ns, pod);
	json_array_foreach(json_object_get(list, "items"), i, obj)
	{
		struct vm_handle h;
		json_t *fail = NULL;
		bool changed;

		if (vm_handle_decode(obj, &h, err) < 0 || strcmp(h.ns, ns) ||
		    (strcmp(h.alternate, pod) && strcmp(h.active, pod)))
			continue;
		rc = vm_handle_promote(&h, pod, &changed);
		if (rc == 0 && changed) {
			int r = put_handle(api, &h, &fail);
			json_decref(fail);
			rc = r == 0 ? 0 : -EAGAIN; /* 409: the caller retries from a fresh read */
			if (r == 0)
				hlog(HLOG_INFO, "VM address owner promoted at Live",
				     "pod=%s/%s vm=%s ipv4=%s ipv6=%s", ns, pod, h.vm,
				     h.v4[0] ? h.v4 : "-", h.v6[0] ? h.v6 : "-");
			else
				herr_set(err, -EAGAIN, "VMAddress %s changed; retrying", h.name);
		}
		break;
	}
	json_decref(list);
	return rc;
}

int ipam_collect(struct ipam_node *n, struct kube_rest *api, struct herr *err)
{
	json_t *list, *obj;
	size_t i;
	int st, freed = 0;

	/* Handles of this node whose VMI is gone: owner pods that are gone
	 * (deleted without a CNI DEL, e.g. with their node) stop owning. */
	list = list_handles(api, err, &st);
	if (st != 200) {
		json_decref(list);
		return herr_set(err, -EIO, "GET " HANDLES ": %d", st);
	}
	json_array_foreach(json_object_get(list, "items"), i, obj)
	{
		struct vm_handle h;
		json_t *fail = NULL;
		bool dropped = false;

		if (vm_handle_decode(obj, &h, err) < 0 || strcmp(h.node, n->node) ||
		    vmi_gone(api, &h, err) != 1)
			continue;
		const char *owners[2] = {h.active, h.alternate};
		char pods[2][254];
		snprintf(pods[0], sizeof(pods[0]), "%s", owners[0]);
		snprintf(pods[1], sizeof(pods[1]), "%s", owners[1]);
		for (int k = 0; k < 2; k++) {
			char path[600];
			json_t *p = NULL;
			if (!pods[k][0])
				continue;
			snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", h.ns,
			         pods[k]);
			if (kube_rest_call(api, "GET", path, NULL, &p, err) == 404)
				dropped |= vm_handle_drop_owner(&h, pods[k]);
			json_decref(p);
		}
		if (dropped && put_handle(api, &h, &fail) != 0) {
			json_decref(fail);
			continue; /* changed meanwhile: the next round decides */
		}
		if (dropped) {
			/* Read back for the version the release's precondition needs. */
			char path[400];
			json_t *cur = NULL;
			snprintf(path, sizeof(path), HANDLES "/%s", h.name);
			if (kube_rest_call(api, "GET", path, NULL, &cur, err) == 200 &&
			    vm_handle_decode(cur, &h, err) == 0 && vm_handle_releasable(&h, true) &&
			    release(api, &h, ipam_meta_str(cur, "uid"), err) == 1)
				freed++;
			json_decref(cur);
		} else if (vm_handle_releasable(&h, true) &&
		           release(api, &h, ipam_meta_str(obj, "uid"), err) == 1)
			freed++;
	}
	json_decref(list);
	if (ipam_unclaim(api, NULL, NULL, true, n->node, &freed, err) < 0)
		return -EIO;
	return freed;
}

/* CHECK: the VM's addresses, read only, for the CNI to compare. */
static json_t *vm_check(struct kube_rest *api, const char *ns, const char *pod,
                        const struct vm_pod *vp, const char *network)
{
	char name[VMADDR_NAME_MAX + 1], path[400];
	struct herr err = {{0}};
	struct vm_handle h;
	json_t *obj = NULL, *ans;
	int st;

	if (vm_handle_name(network, ns, vp->vm, name, sizeof(name)) < 0)
		return ipam_answer_error(CNI_ERR_CONFIG, "VM %s/%s: handle name too long", ns,
		                         vp->vm);
	snprintf(path, sizeof(path), HANDLES "/%s", name);
	st = kube_rest_call(api, "GET", path, NULL, &obj, &err);
	if (st == 200 && vm_handle_decode(obj, &h, &err) == 0)
		ans =
		    strcmp(h.active, pod) && strcmp(h.alternate, pod)
		        ? ipam_answer_error(CNI_ERR_IO, "pod %s/%s does not own VM %s's addresses",
		                            ns, pod, vp->vm)
		        : answer_vm(&h, vp->target);
	else if (st == 200)
		ans = ipam_answer_error(CNI_ERR_IO, "%s", err.msg);
	else if (st == 404)
		ans = ipam_answer_error(CNI_ERR_IO, "VM %s/%s has no addresses (VMAddress %s)", ns,
		                        vp->vm, name);
	else
		ans = ipam_answer_api(st, obj, path, &err);
	json_decref(obj);
	return ans;
}

json_t *ipam_handle_request(struct ipam_node *n, struct kube_rest *api, const json_t *req)
{
	const char *cmd = json_string_value(json_object_get(req, "command"));
	const char *ns = json_string_value(json_object_get(req, "namespace"));
	const char *pod = json_string_value(json_object_get(req, "pod"));
	const char *network = json_string_value(json_object_get(req, "network"));
	struct herr err = {{0}};
	struct vm_pod vp;
	char path[600];
	json_t *obj = NULL, *ans;
	int st;

	if (!cmd || !ns || !*ns || !pod || !*pod)
		return ipam_answer_error(
		    CNI_ERR_DECODE, "request: command, namespace and pod are required strings");
	if (!strcmp(cmd, "DEL"))
		return vm_del(n, api, ns, pod);
	if (strcmp(cmd, "ADD") && strcmp(cmd, "CHECK"))
		return ipam_answer_error(CNI_ERR_DECODE,
		                         "request: command \"%s\" is not ADD, CHECK or DEL", cmd);
	if (!network || !*network)
		return ipam_answer_error(CNI_ERR_DECODE, "request: network is required for ADD");
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", ns, pod);
	st = kube_rest_call(api, "GET", path, NULL, &obj, &err);
	if (st == 404) {
		json_decref(obj);
		return ipam_answer_error(CNI_ERR_UNKNOWN_CTR, "pod %s/%s does not exist", ns, pod);
	}
	if (st != 200) {
		ans = ipam_answer_api(st, obj, path, &err);
		json_decref(obj);
		return ans;
	}
	st = vm_pod_classify(obj, &vp, &err);
	json_decref(obj);
	if (st < 0)
		return ipam_answer_error(CNI_ERR_IO, "%s", err.msg);
	if (!vp.is_vm)
		return json_pack("{s:b}", "vm", 0);
	if (!strcmp(cmd, "CHECK"))
		return vm_check(api, ns, pod, &vp, network);
	return vm_add(n, api, ns, pod, &vp, network);
}
