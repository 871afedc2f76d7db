/* ipam_blocks.c - the claims on a node range's VM addresses
 * (VMAddressBlock, ipam.h): one object per range, address -> (handle name,
 * uid), changed only by PUT with its resourceVersion. A claim is made after
 * its handle exists and names the handle's uid, so a claim whose handle (by
 * that uid) is gone is garbage, and one whose handle holds other addresses
 * lost a race: the collector frees both. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vmaddr.h"
#include "ipam_int.h"
#include "util/log.h"

json_t *ipam_answer_error(int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:i, s:s}", "code", code, "msg", msg);
}

/* A failed API call as a CNI answer: no answer or a server error is
 * transient (11); anything else is the request's fault (5). */
json_t *ipam_answer_api(int st, const json_t *body, const char *what, const struct herr *err)
{
	if (st < 0)
		return ipam_answer_error(CNI_ERR_TRY_LATER, "%s: API server unreachable: %s", what,
		                         err->msg);
	return ipam_answer_error(st >= 500 || st == 429 ? CNI_ERR_TRY_LATER : CNI_ERR_IO,
	                         "%s: API server answered %d: %s", what, st,
	                         kube_status_message(body));
}

const char *ipam_meta_str(const json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
	return v ? v : "";
}

static void block_name(const char *cidr, char *out, size_t len)
{
	snprintf(out, len, "%s", cidr);
	for (char *p = out; *p; p++)
		if (*p == '.' || *p == ':' || *p == '/')
			*p = '-';
}

/* Claim an address of `r` for handle (name, uid): the one this handle
 * already claims there, else the lowest free one. 0 with addr, or a CNI
 * answer in *fail. */
int ipam_claim(struct ipam_node *n, struct kube_rest *api, const char *cidr,
               const struct vm_range *r, const char *handle, const char *uid, char *addr,
               size_t len, json_t **fail)
{
	char name[128], path[256];
	struct herr err = {{0}};

	int fam = r->family == 4 ? 0 : 1;

	block_name(cidr, name, sizeof(name));
	snprintf(path, sizeof(path), BLOCKS "/%s", name);
	for (int attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
		json_t *blk = NULL, *allocs, *v, *ans = NULL;
		const char *key, **used;
		size_t nused = 0;
		int st;

		/* The block as this process last wrote it: no GET when nobody
		 * else wrote since (the PUT's precondition tells). */
		if (n->block_cache[fam] && !strcmp(n->block_cache_name[fam], name) &&
		    (blk = json_deep_copy(n->block_cache[fam])))
			st = 200;
		else
			st = kube_rest_call(api, "GET", path, NULL, &blk, &err);

		if (st == 404) {
			json_t *nb = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:{}}}",
			                       "apiVersion", "handoff.dev/v1", "kind",
			                       "VMAddressBlock", "metadata", "name", name, "spec",
			                       "cidr", cidr, "node", n->node, "allocations");
			json_decref(blk);
			blk = NULL;
			st = kube_rest_call(api, "POST", BLOCKS, nb, &blk, &err);
			json_decref(nb);
			if (st == 409) {
				json_decref(blk);
				continue;
			}
			st = st == 201 ? 200 : st;
		}
		if (st != 200) {
			*fail = ipam_answer_api(st, blk, path, &err);
			json_decref(blk);
			return -EIO;
		}
		allocs = json_object_get(json_object_get(blk, "spec"), "allocations");
		if (!json_is_object(allocs)) {
			allocs = json_object();
			json_object_set_new(json_object_get(blk, "spec"), "allocations", allocs);
		}
		used = calloc(json_object_size(allocs) + 1, sizeof(*used));
		if (!used) {
			json_decref(blk);
			*fail = ipam_answer_error(CNI_ERR_IO, "out of memory");
			return -ENOMEM;
		}
		json_object_foreach(allocs, key, v)
		{
			const char *h = json_string_value(json_object_get(v, "handle"));
			const char *u = json_string_value(json_object_get(v, "uid"));
			if (h && u && !strcmp(h, handle) && !strcmp(u, uid) &&
			    vm_range_contains(r, key)) {
				snprintf(addr, len, "%s", key); /* ours from an earlier attempt */
				free(used);
				json_decref(blk);
				return 0;
			}
			used[nused++] = key;
		}
		st = vm_range_pick(r, used, nused, addr, len);
		free(used);
		if (st < 0) {
			json_decref(blk);
			*fail = ipam_answer_error(
			    CNI_ERR_IO,
			    "VMAddressBlock %s: no free VM address left in %s (the "
			    "upper half of node %s's range)",
			    name, cidr, n->node);
			return st;
		}
		json_object_set_new(allocs, addr,
		                    json_pack("{s:s, s:s}", "handle", handle, "uid", uid));
		st = kube_rest_call(api, "PUT", path, blk, &ans, &err);
		json_decref(blk);
		json_decref(n->block_cache[fam]);
		n->block_cache[fam] = NULL;
		if (st == 200 && json_is_object(ans)) {
			n->block_cache[fam] = ans; /* the stored object, its new resourceVersion */
			snprintf(n->block_cache_name[fam], sizeof(n->block_cache_name[fam]), "%s",
			         name);
			return 0;
		}
		json_decref(ans);
		if (st == 200)
			return 0;
		if (st != 409) {
			*fail = ipam_answer_api(st, NULL, path, &err);
			return -EIO;
		}
	}
	*fail = ipam_answer_error(CNI_ERR_TRY_LATER,
	                          "VMAddressBlock %s: too many concurrent writers", name);
	return -EAGAIN;
}

/* The first podCIDR of each family of this node. Under alloc_lock. */
int ipam_node_ranges(struct ipam_node *n, struct kube_rest *api, char cidrs[2][64],
                     struct vm_range ranges[2], json_t **fail)
{
	char path[300], what[320];
	struct herr err = {{0}};
	json_t *node = NULL, *list, *c;
	size_t i;
	int st;

	if (n->have_ranges) {
		memcpy(cidrs, n->cidrs, sizeof(n->cidrs));
		memcpy(ranges, n->ranges, sizeof(n->ranges));
		return 0;
	}
	cidrs[0][0] = cidrs[1][0] = '\0';
	snprintf(path, sizeof(path), "/api/v1/nodes/%s", n->node);
	st = kube_rest_call(api, "GET", path, NULL, &node, &err);
	if (st != 200) {
		*fail = ipam_answer_api(st, node, path, &err);
		json_decref(node);
		return -EIO;
	}
	list = json_object_get(json_object_get(node, "spec"), "podCIDRs");
	if (!json_array_size(list) && json_object_get(json_object_get(node, "spec"), "podCIDR"))
		list = json_pack("[O]", json_object_get(json_object_get(node, "spec"), "podCIDR"));
	else
		json_incref(list);
	json_array_foreach(list, i, c)
	{
		struct vm_range r;
		snprintf(what, sizeof(what), "Node %s spec.podCIDRs[%zu]", n->node, i);
		if (!json_is_string(c) ||
		    vm_range_parse(json_string_value(c), what, &r, &err) < 0) {
			*fail =
			    ipam_answer_error(CNI_ERR_IO, "%s", json_is_string(c) ? err.msg : what);
			json_decref(list);
			json_decref(node);
			return -EINVAL;
		}
		int k = r.family == 4 ? 0 : 1;
		if (!cidrs[k][0]) {
			snprintf(cidrs[k], 64, "%s", json_string_value(c));
			ranges[k] = r;
		}
	}
	json_decref(list);
	json_decref(node);
	if (!cidrs[0][0] && !cidrs[1][0]) {
		*fail = ipam_answer_error(CNI_ERR_TRY_LATER,
		                          "Node %s: spec.podCIDRs not assigned yet", n->node);
		return -EAGAIN;
	}
	memcpy(n->cidrs, cidrs, sizeof(n->cidrs));
	memcpy(n->ranges, ranges, sizeof(n->ranges));
	n->have_ranges = true;
	return 0;
}

/* Should the claim (handle, uid) of `addr` go? Releasing: when it names the
 * given handle. Collecting: when its handle no longer exists with that uid,
 * or has its addresses and this is not one of them (a claim that lost). */
static bool claim_goes(const json_t *v, const char *addr, const char *handle, const char *uid,
                       bool only_stale, const json_t *handles)
{
	const char *h = json_string_value(json_object_get(v, "handle"));
	const char *u = json_string_value(json_object_get(v, "uid"));
	json_t *obj;
	size_t i;

	if (!h || !u)
		return only_stale; /* malformed: nothing can use it */
	if (!only_stale)
		return !strcmp(h, handle) && !strcmp(u, uid);
	json_array_foreach(handles, i, obj)
	{
		struct vm_handle vh;
		struct herr e;
		if (strcmp(ipam_meta_str(obj, "name"), h) || strcmp(ipam_meta_str(obj, "uid"), u))
			continue;
		if (vm_handle_decode(obj, &vh, &e) < 0)
			return false; /* an operator's to fix; do not guess */
		return (vh.v4[0] || vh.v6[0]) && strcmp(vh.v4, addr) && strcmp(vh.v6, addr);
	}
	return true;
}

int ipam_unclaim(struct kube_rest *api, const char *handle, const char *uid, bool only_stale,
                 const char *node, int *freed, struct herr *err)
{
	json_t *list = NULL, *handles = NULL, *blk;
	size_t i;
	int st = kube_rest_call(api, "GET", BLOCKS, NULL, &list, err);

	if (st != 200) {
		json_decref(list);
		return st < 0 ? st : herr_set(err, -EIO, "GET " BLOCKS ": %d", st);
	}
	if (only_stale) {
		/* Handles read after the blocks: a claim made before this list
		 * names a handle that already existed (handles come first). */
		json_t *hl = NULL;
		st = kube_rest_call(api, "GET", HANDLES, NULL, &hl, err);
		if (st != 200) {
			json_decref(list);
			json_decref(hl);
			return st < 0 ? st : herr_set(err, -EIO, "GET " HANDLES ": %d", st);
		}
		handles = json_incref(json_object_get(hl, "items"));
		json_decref(hl);
	}
	json_array_foreach(json_object_get(list, "items"), i, blk)
	{
		const char *name = ipam_meta_str(blk, "name");
		json_t *cur = json_incref(blk);
		char path[256];

		if (node &&
		    strcmp(json_string_value(json_object_get(json_object_get(blk, "spec"), "node"))
		               ?: "",
		           node)) {
			json_decref(cur);
			continue;
		}
		snprintf(path, sizeof(path), BLOCKS "/%s", name);
		for (int attempt = 0; cur && attempt < CAS_ATTEMPTS; attempt++) {
			json_t *allocs =
			    json_object_get(json_object_get(cur, "spec"), "allocations");
			json_t *v, *ans = NULL;
			const char *key;
			void *tmp;
			int n = 0;

			json_object_foreach_safe(allocs, tmp, key, v)
			{
				if (claim_goes(v, key, handle, uid, only_stale, handles)) {
					hlog(HLOG_INFO, "VM address claim freed",
					     "block=%s address=%s handle=%s", name, key,
					     json_string_value(json_object_get(v, "handle")) ?: "");
					json_object_del(allocs, key);
					n++;
				}
			}
			if (!n)
				break;
			if (!json_object_get(cur, "kind"))
				json_object_set_new(cur, "kind", json_string("VMAddressBlock"));
			if (!json_object_get(cur, "apiVersion"))
				json_object_set_new(cur, "apiVersion",
				                    json_string("handoff.dev/v1"));
			st = kube_rest_call(api, "PUT", path, cur, &ans, err);
			json_decref(ans);
			if (st == 200) {
				*freed += n;
				break;
			}
			json_decref(cur);
			cur = NULL;
			/* Collecting decided from handles read before this write: a
			 * block that changed since may hold newer claims; next round. */
			if (st != 409 || only_stale)
				break;
			if (kube_rest_call(api, "GET", path, NULL, &cur, err) != 200) {
				json_decref(cur);
				cur = NULL;
			}
		}
		json_decref(cur);
	}
	json_decref(list);
	json_decref(handles);
	return 0;
}
