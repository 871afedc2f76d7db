/* vmaddr.c - a KubeVirt VM's addresses for its whole life (issue 11).
 *
 * Implements the guarantees of the reference's VM IPAM
 * (../shared/calico-vm-ipam.md; calico-semantics.md A.3 for the labels and
 * B.4 for the promotion at Live) on handoff's own data model:
 *
 *  - a VM pod is recognised by KubeVirt's labels, its VM name taken from
 *    vmi.kubevirt.io/id (hashes long names), else vm.kubevirt.io/name;
 *  - one handle per VM name and network, holding at most one address per
 *    family, an active owner (the pod running the VM) and an alternate owner
 *    (a migration target not yet Live);
 *  - addresses are released only when the VMI is gone and no pod owns them;
 *  - a node's range is split: host-local gives the lower half to ordinary
 *    pods, the upper half holds VM addresses, chosen here so that an address
 *    any handle holds is never chosen again.
 * Pure: no I/O, no clock. */
#include "core/vmaddr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_KUBEVIRT  "kubevirt.io"
#define LABEL_VMI_ID    "vmi.kubevirt.io/id"
#define LABEL_VM_NAME   "vm.kubevirt.io/name"
#define LABEL_MIGRATION "kubevirt.io/migrationJobUID"

static const char *pod_label(const json_t *pod, const char *key)
{
	json_t *labels = json_object_get(json_object_get(pod, "metadata"), "labels");
	return json_string_value(json_object_get(labels, key));
}

int vm_pod_classify(const json_t *pod, struct vm_pod *out, struct herr *err)
{
	json_t *meta = json_object_get(pod, "metadata");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *kv = pod_label(pod, LABEL_KUBEVIRT);
	const char *id = pod_label(pod, LABEL_VMI_ID), *vm = pod_label(pod, LABEL_VM_NAME);
	const char *mig = pod_label(pod, LABEL_MIGRATION);
	const char *which = id ? LABEL_VMI_ID : LABEL_VM_NAME;

	memset(out, 0, sizeof(*out));
	if (!kv || strcmp(kv, "virt-launcher") || (!id && !vm))
		return 0;
	if (!id)
		id = vm;
	if (!*id || strlen(id) >= sizeof(out->vm))
		return herr_set(err, -EINVAL, "Pod %s/%s: label %s: must be 1 to %zu characters",
		                ns ? ns : "?", name ? name : "?", which, sizeof(out->vm) - 1);
	if (mig && (!*mig || strlen(mig) >= sizeof(out->migration_uid)))
		return herr_set(err, -EINVAL, "Pod %s/%s: label %s: must be 1 to %zu characters",
		                ns ? ns : "?", name ? name : "?", LABEL_MIGRATION,
		                sizeof(out->migration_uid) - 1);
	out->is_vm = true;
	snprintf(out->vm, sizeof(out->vm), "%s", id);
	snprintf(out->vmi, sizeof(out->vmi), "%s", id);
	/* The id label may be a hash of a long VMI name: the owner names it. */
	json_t *refs = json_object_get(meta, "ownerReferences"), *ref;
	size_t i;
	json_array_foreach(refs, i, ref)
	{
		const char *k = json_string_value(json_object_get(ref, "kind"));
		const char *n = json_string_value(json_object_get(ref, "name"));
		if (k && !strcmp(k, "VirtualMachineInstance") && n && *n &&
		    strlen(n) < sizeof(out->vmi) &&
		    json_is_true(json_object_get(ref, "controller")))
			snprintf(out->vmi, sizeof(out->vmi), "%s", n);
	}
	if (mig) {
		out->target = true;
		snprintf(out->migration_uid, sizeof(out->migration_uid), "%s", mig);
	}
	return 0;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

int vm_handle_name(const char *network, const char *ns, const char *vm, char *out, size_t len)
{
	char full[1024];
	int n = snprintf(full, sizeof(full), "%s.vmi.%s.%s", network, ns, vm);

	if (n < 0 || (size_t)n >= sizeof(full) || len <= VMADDR_NAME_MAX)
		return -ENAMETOOLONG;
	/* The network name is the CNI config's: any characters. Namespace and
	 * VM names are DNS labels/subdomains already. */
	for (char *p = full; *p; p++) {
		*p = (char)tolower((unsigned char)*p);
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			*p = '-';
	}
	if (!isalnum((unsigned char)full[0]))
		full[0] = 'x';
	if ((size_t)n > VMADDR_NAME_MAX)
		snprintf(full + 236, sizeof(full) - 236, "-%016llx",
		         (unsigned long long)fnv1a(full));
	snprintf(out, len, "%s", full);
	return 0;
}

/* --- the handle as a VMAddress object --- */

static int copy_field(const json_t *spec, const char *key, bool required, char *dst, size_t len,
                      const char *obj, struct herr *err)
{
	json_t *v = json_object_get(spec, key);

	dst[0] = '\0';
	if (!v || json_is_null(v)) {
		if (required)
			return herr_set(err, -EINVAL, "VMAddress %s: spec.%s: required", obj, key);
		return 0;
	}
	if (!json_is_string(v) || strlen(json_string_value(v)) >= len)
		return herr_set(err, -EINVAL,
		                "VMAddress %s: spec.%s: must be a string of at most %zu characters",
		                obj, key, len - 1);
	snprintf(dst, len, "%s", json_string_value(v));
	return 0;
}

static int check_addr(const char *a, int family, const char *field, const char *obj,
                      struct herr *err)
{
	unsigned char buf[16];
	if (!*a || inet_pton(family == 4 ? AF_INET : AF_INET6, a, buf) == 1)
		return 0;
	return herr_set(err, -EINVAL, "VMAddress %s: spec.%s: \"%s\" is not an IPv%d address", obj,
	                field, a, family);
}

int vm_handle_decode(const json_t *obj, struct vm_handle *out, struct herr *err)
{
	json_t *meta = json_object_get(obj, "metadata"), *spec = json_object_get(obj, "spec");
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
	int r;

	memset(out, 0, sizeof(*out));
	if (!name || !*name || strlen(name) > VMADDR_NAME_MAX)
		return herr_set(err, -EINVAL, "VMAddress: metadata.name: required, at most %d",
		                VMADDR_NAME_MAX);
	snprintf(out->name, sizeof(out->name), "%s", name);
	snprintf(out->rv, sizeof(out->rv), "%s", rv ? rv : "");
	if (!json_is_object(spec))
		return herr_set(err, -EINVAL, "VMAddress %s: spec: required object", name);
	if ((r = copy_field(spec, "namespace", true, out->ns, sizeof(out->ns), name, err)) < 0 ||
	    (r = copy_field(spec, "vm", true, out->vm, sizeof(out->vm), name, err)) < 0 ||
	    (r = copy_field(spec, "vmi", false, out->vmi, sizeof(out->vmi), name, err)) < 0 ||
	    (r = copy_field(spec, "node", false, out->node, sizeof(out->node), name, err)) < 0 ||
	    (r = copy_field(spec, "ipv4", false, out->v4, sizeof(out->v4), name, err)) < 0 ||
	    (r = copy_field(spec, "ipv6", false, out->v6, sizeof(out->v6), name, err)) < 0 ||
	    (r = copy_field(spec, "activeOwner", false, out->active, sizeof(out->active), name,
	                    err)) < 0 ||
	    (r = copy_field(spec, "alternateOwner", false, out->alternate, sizeof(out->alternate),
	                    name, err)) < 0 ||
	    (r = check_addr(out->v4, 4, "ipv4", name, err)) < 0 ||
	    (r = check_addr(out->v6, 6, "ipv6", name, err)) < 0)
		return r;
	return 0;
}

json_t *vm_handle_encode(const struct vm_handle *h)
{
	json_t *spec = json_pack("{s:s, s:s}", "namespace", h->ns, "vm", h->vm);
	json_t *meta = json_pack("{s:s}", "name", h->name);
	const struct {
		const char *key, *val;
	} opt[] = {{"vmi", h->vmi}, {"node", h->node},          {"ipv4", h->v4},
	           {"ipv6", h->v6}, {"activeOwner", h->active}, {"alternateOwner", h->alternate}};

	if (!spec || !meta) {
		json_decref(spec);
		json_decref(meta);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++)
		if (opt[i].val[0])
			json_object_set_new(spec, opt[i].key, json_string(opt[i].val));
	if (h->rv[0])
		json_object_set_new(meta, "resourceVersion", json_string(h->rv));
	return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "handoff.dev/v1", "kind",
	                 "VMAddress", "metadata", meta, "spec", spec);
}

/* --- owners --- */

bool vm_handle_add_owner(struct vm_handle *h, const char *pod, bool target)
{
	char *slot = target ? h->alternate : h->active;
	char *other = target ? h->active : h->alternate;
	bool changed = strcmp(slot, pod) != 0;

	snprintf(slot, sizeof(h->active), "%s", pod);
	/* One pod holds one role: a pod re-ADDed in the other role leaves it. */
	if (!strcmp(other, pod)) {
		other[0] = '\0';
		changed = true;
	}
	return changed;
}

bool vm_handle_drop_owner(struct vm_handle *h, const char *pod)
{
	bool changed = false;
	if (!strcmp(h->active, pod)) {
		h->active[0] = '\0';
		changed = true;
	}
	if (!strcmp(h->alternate, pod)) {
		h->alternate[0] = '\0';
		changed = true;
	}
	return changed;
}

int vm_handle_promote(struct vm_handle *h, const char *pod, bool *changed)
{
	*changed = false;
	if (!strcmp(h->alternate, pod)) {
		snprintf(h->active, sizeof(h->active), "%s", pod);
		h->alternate[0] = '\0';
		*changed = true;
		return 0;
	}
	if (!strcmp(h->active, pod))
		return 0;
	return h->alternate[0] ? -ESTALE : -ENOENT;
}

bool vm_handle_releasable(const struct vm_handle *h, bool vmi_gone)
{
	return vmi_gone && !h->active[0] && !h->alternate[0];
}

/* --- the node's range --- */

static void add_u64(unsigned char *a, int n, uint64_t v)
{
	for (int i = n - 1; i >= 0 && v; i--) {
		uint64_t s = a[i] + (v & 0xff);
		a[i] = (unsigned char)s;
		v = (v >> 8) + (s >> 8);
	}
}

int vm_range_parse(const char *cidr, const char *what, struct vm_range *out, struct herr *err)
{
	char addr[64];
	const char *slash = strchr(cidr, '/');
	char *end;
	long prefix;
	int n, bits;

	memset(out, 0, sizeof(*out));
	if (!slash || (size_t)(slash - cidr) >= sizeof(addr))
		return herr_set(err, -EINVAL, "%s: \"%s\" is not a CIDR", what, cidr);
	memcpy(addr, cidr, (size_t)(slash - cidr));
	addr[slash - cidr] = '\0';
	out->family = strchr(addr, ':') ? 6 : 4;
	n = out->family == 4 ? 4 : 16;
	bits = n * 8;
	prefix = strtol(slash + 1, &end, 10);
	if (*end || end == slash + 1 || prefix < 0 || prefix > bits ||
	    inet_pton(out->family == 4 ? AF_INET : AF_INET6, addr, out->network) != 1)
		return herr_set(err, -EINVAL, "%s: \"%s\" is not a CIDR", what, cidr);
	if (prefix > bits - (out->family == 4 ? 2 : 1))
		return herr_set(err, -EINVAL,
		                "%s: \"%s\" is too small to share between pods and VMs (at most "
		                "/%d)",
		                what, cidr, bits - (out->family == 4 ? 2 : 1));
	out->prefix = (int)prefix;
	for (int i = 0; i < n; i++) {
		int keep = (int)prefix - i * 8;
		unsigned char mask = keep >= 8   ? 0xff
		                     : keep <= 0 ? 0
		                                 : (unsigned char)(0xff << (8 - keep));
		out->network[i] &= mask;
	}
	/* first = network with the bit after the prefix set; last = all host bits. */
	memcpy(out->first, out->network, 16);
	out->first[prefix / 8] |= (unsigned char)(0x80 >> (prefix % 8));
	memcpy(out->last, out->network, 16);
	for (int b = (int)prefix; b < bits; b++)
		out->last[b / 8] |= (unsigned char)(0x80 >> (b % 8));
	memcpy(out->pod_last, out->last, 16);
	out->pod_last[prefix / 8] &= (unsigned char)~(0x80 >> (prefix % 8));
	if (out->family == 4)
		out->last[3]--; /* the broadcast address */
	return 0;
}

bool vm_range_contains(const struct vm_range *r, const char *addr)
{
	unsigned char a[16] = {0};
	int n = r->family == 4 ? 4 : 16;

	if (inet_pton(r->family == 4 ? AF_INET : AF_INET6, addr, a) != 1)
		return false;
	return memcmp(a, r->first, (size_t)n) >= 0 && memcmp(a, r->last, (size_t)n) <= 0;
}

static int cmp16(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

int vm_range_pick(const struct vm_range *r, const char *const *used, size_t nused, char *out,
                  size_t len)
{
	int af = r->family == 4 ? AF_INET : AF_INET6, n = r->family == 4 ? 4 : 16;
	unsigned char cand[16], (*taken)[16] = NULL;
	size_t nt = 0, i = 0;

	if (nused && !(taken = calloc(nused, 16)))
		return -ENOMEM;
	for (size_t k = 0; k < nused; k++)
		if (inet_pton(af, used[k], taken[nt]) == 1)
			nt++;
	if (nt)
		qsort(taken, nt, 16, cmp16);
	/* Walk the range and the sorted taken list together: the first gap. */
	memcpy(cand, r->first, 16);
	while (memcmp(cand, r->last, (size_t)n) <= 0) {
		while (i < nt && memcmp(taken[i], cand, 16) < 0)
			i++;
		if (i == nt || memcmp(taken[i], cand, 16)) {
			free(taken);
			inet_ntop(af, cand, out, (socklen_t)len);
			return 0;
		}
		if (!memcmp(cand, r->last, (size_t)n))
			break; /* no wrap past the top of the address space */
		add_u64(cand, n, 1);
	}
	free(taken);
	return -ENOSPC;
}

void vm_range_pod_bounds(const struct vm_range *r, char *start, char *end, size_t len)
{
	int af = r->family == 4 ? AF_INET : AF_INET6;
	unsigned char s[16];

	memcpy(s, r->network, 16);
	add_u64(s, r->family == 4 ? 4 : 16, 1); /* host-local's own default start */
	inet_ntop(af, s, start, len);
	inet_ntop(af, r->pod_last, end, len);
}

static int split_one(json_t *range, const char *where, struct herr *err)
{
	const char *subnet = json_string_value(json_object_get(range, "subnet"));
	const char *end = json_string_value(json_object_get(range, "rangeEnd"));
	char first[64], last[64];
	struct vm_range r;
	struct herr ignored;

	if (!subnet || vm_range_parse(subnet, where, &r, &ignored) < 0)
		return 0;
	vm_range_pod_bounds(&r, first, last, sizeof(first));
	if (!end)
		return json_object_set_new(range, "rangeEnd", json_string(last)) ? -ENOMEM : 0;
	unsigned char e[16] = {0};
	if (inet_pton(r.family == 4 ? AF_INET : AF_INET6, end, e) == 1 &&
	    memcmp(e, r.pod_last, r.family == 4 ? 4 : 16) > 0)
		return herr_set(err, -EINVAL,
		                "%s.rangeEnd: %s lies in the VM half of %s (VM addresses are "
		                "given from %s on); end the pod range at %s or lower",
		                where, end, subnet, last, last);
	return 0;
}

int vm_ipam_split(json_t *ipam, struct herr *err)
{
	json_t *ranges = json_object_get(ipam, "ranges"), *set, *range;
	size_t i, j;
	char where[64];
	int r;

	if (json_object_get(ipam, "subnet") && (r = split_one(ipam, "ipam", err)) < 0)
		return r;
	json_array_foreach(ranges, i, set)
	{
		json_array_foreach(set, j, range)
		{
			snprintf(where, sizeof(where), "ipam.ranges[%zu][%zu]", i, j);
			if ((r = split_one(range, where, err)) < 0)
				return r;
		}
	}
	return 0;
}
