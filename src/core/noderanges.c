/* noderanges.c - a node's pod ranges: the file's encoding, and the
 * substitution of Calico host-local style placeholders ("usePodCidr",
 * "usePodCidrIPv6") in a CNI ipam.ranges (noderanges.h). Pure. */
#include "core/noderanges.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "10.65.1.0/24" or "fd00::/64" -> 4 or 6; 0 when not a CIDR. */
static int cidr_family(const char *s)
{
	const char *slash = strchr(s, '/');
	unsigned char buf[16];
	char addr[64], *end;
	size_t alen;
	long bits;
	int fam;

	if (!slash || (alen = (size_t)(slash - s)) == 0 || alen >= sizeof(addr))
		return 0;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, buf) == 1)
		fam = 4;
	else if (inet_pton(AF_INET6, addr, buf) == 1)
		fam = 6;
	else
		return 0;
	if (slash[1] < '0' || slash[1] > '9')
		return 0;
	bits = strtol(slash + 1, &end, 10);
	return *end == '\0' && bits >= 0 && bits <= (fam == 4 ? 32 : 128) ? fam : 0;
}

int node_ranges_set(struct node_ranges *out, const char *node, char *const *cidrs, size_t n,
                    struct herr *err)
{
	struct node_ranges r = {.n = 0};

	if (!node || !*node || strlen(node) >= sizeof(r.node))
		return herr_set(err, -EINVAL, "node ranges: node name must be 1 to 253 characters");
	snprintf(r.node, sizeof(r.node), "%s", node);
	if (n > NODE_RANGES_MAX)
		return herr_set(err, -E2BIG, "Node %s: spec.podCIDRs: more than %d ranges", node,
		                NODE_RANGES_MAX);
	for (size_t i = 0; i < n; i++) {
		int fam = cidr_family(cidrs[i]);
		if (!fam || strlen(cidrs[i]) >= sizeof(r.v[0].cidr))
			return herr_set(err, -EINVAL,
			                "Node %s: spec.podCIDRs[%zu]: \"%s\" is not a CIDR", node,
			                i, cidrs[i]);
		/* Listed twice counts once: host-local refuses overlapping ranges. */
		bool dup = false;
		for (size_t k = 0; k < r.n && !dup; k++)
			dup = !strcmp(r.v[k].cidr, cidrs[i]);
		if (dup)
			continue;
		r.v[r.n].family = fam;
		snprintf(r.v[r.n].cidr, sizeof(r.v[r.n].cidr), "%s", cidrs[i]);
		r.n++;
	}
	*out = r;
	return 0;
}

char *node_ranges_encode(const struct node_ranges *r)
{
	json_t *cidrs = json_array(), *doc;
	char *text, *line;

	for (size_t i = 0; cidrs && i < r->n; i++)
		json_array_append_new(cidrs, json_string(r->v[i].cidr));
	doc = json_pack("{s:s, s:s, s:s, s:o?}", "apiVersion", NODE_RANGES_API, "kind",
	                NODE_RANGES_KIND, "node", r->node, "podCIDRs", cidrs);
	if (!doc)
		return NULL;
	text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (!text || !(line = malloc(strlen(text) + 2))) {
		free(text);
		return NULL;
	}
	sprintf(line, "%s\n", text);
	free(text);
	return line;
}

int node_ranges_decode(const char *text, size_t len, struct node_ranges *out, struct herr *err)
{
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, 0, &jerr), *cidrs, *v;
	const char *node;
	char *list[NODE_RANGES_MAX];
	size_t i;
	int r;

	if (!doc)
		return herr_set(err, -EINVAL, "node ranges: line %d: %s", jerr.line, jerr.text);
	if (!json_is_object(doc) ||
	    strcmp(json_string_value(json_object_get(doc, "kind")) ?: "", NODE_RANGES_KIND) ||
	    strcmp(json_string_value(json_object_get(doc, "apiVersion")) ?: "", NODE_RANGES_API)) {
		json_decref(doc);
		return herr_set(err, -EINVAL, "node ranges: not a %s %s document", NODE_RANGES_API,
		                NODE_RANGES_KIND);
	}
	node = json_string_value(json_object_get(doc, "node"));
	cidrs = json_object_get(doc, "podCIDRs");
	if (!node || !json_is_array(cidrs)) {
		json_decref(doc);
		return herr_set(err, -EINVAL, "node ranges: %s: required",
		                node ? "podCIDRs (an array)" : "node (a string)");
	}
	if (json_array_size(cidrs) > NODE_RANGES_MAX) {
		json_decref(doc);
		return herr_set(err, -E2BIG, "node ranges: podCIDRs: more than %d",
		                NODE_RANGES_MAX);
	}
	json_array_foreach(cidrs, i, v)
	{
		if (!json_is_string(v)) {
			json_decref(doc);
			return herr_set(err, -EINVAL,
			                "node ranges: podCIDRs[%zu]: must be a string", i);
		}
		list[i] = (char *)json_string_value(v);
	}
	r = node_ranges_set(out, node, list, json_array_size(cidrs), err);
	json_decref(doc);
	return r;
}

static int placeholder_family(const json_t *range)
{
	const char *s = json_string_value(json_object_get(range, "subnet"));

	if (!s)
		return 0;
	if (!strcmp(s, NODE_RANGES_PLACEHOLDER_V4))
		return 4;
	if (!strcmp(s, NODE_RANGES_PLACEHOLDER_V6))
		return 6;
	return 0;
}

int node_ranges_wanted(const json_t *ipam)
{
	const json_t *set, *range;
	size_t i, j;

	json_array_foreach(json_object_get(ipam, "ranges"), i, set)
	{
		json_array_foreach(set, j, range)
		{
			if (placeholder_family(range))
				return 1;
		}
	}
	return 0;
}

/* One range set with its placeholders expanded into a new array (*res). */
static int expand_set(const json_t *set, size_t si, const struct node_ranges *r, json_t **res,
                      struct herr *err)
{
	json_t *out = json_array(), *range;
	size_t j;

	if (!out)
		return herr_set(err, -ENOMEM, "out of memory");
	json_array_foreach(set, j, range)
	{
		int fam = placeholder_family(range);
		size_t added = 0;

		if (!fam) {
			json_array_append(out, range);
			continue;
		}
		for (size_t k = 0; k < r->n; k++) {
			if (r->v[k].family != fam)
				continue;
			/* The copy keeps the range's other keys (gateway, ...). */
			json_t *c = json_copy((json_t *)range);
			if (!c || json_object_set_new(c, "subnet", json_string(r->v[k].cidr)) < 0) {
				json_decref(c);
				json_decref(out);
				return herr_set(err, -ENOMEM, "out of memory");
			}
			/* append_new takes c's reference even when it fails. */
			if (json_array_append_new(out, c) < 0) {
				json_decref(out);
				return herr_set(err, -ENOMEM, "out of memory");
			}
			added++;
		}
		if (!added) {
			json_decref(out);
			if (!err)
				return -ENOENT;
			return herr_set(
			    err, -ENOENT,
			    "ipam.ranges[%zu][%zu].subnet: \"%s\": node %s has no IPv%d "
			    "spec.podCIDRs (yet)",
			    si, j,
			    fam == 4 ? NODE_RANGES_PLACEHOLDER_V4 : NODE_RANGES_PLACEHOLDER_V6,
			    r->node, fam);
		}
	}
	*res = out;
	return 0;
}

int node_ranges_substitute(json_t *ipam, const struct node_ranges *r, struct herr *err)
{
	json_t *ranges = json_object_get(ipam, "ranges"), *set, *nr;
	struct herr missing = {{0}};
	size_t i;

	if (!json_is_array(ranges))
		return herr_set(err, -EINVAL, "ipam.ranges: must be an array of range sets");
	json_array_foreach(ranges, i, set)
	{
		if (!json_is_array(set))
			return herr_set(err, -EINVAL,
			                "ipam.ranges[%zu]: must be an array of ranges", i);
	}
	/* Build every set first: on failure `ipam` is left as it was. */
	if (!(nr = json_array()))
		return herr_set(err, -ENOMEM, "out of memory");
	json_array_foreach(ranges, i, set)
	{
		json_t *e = NULL;
		int rc = expand_set(set, i, r, &e, err);
		if (rc == -ENOENT) {
			/* A family this node has no range of (an IPv4-only cluster
			 * under a dual-stack conflist): that set is left out. Node
			 * IPAM assigns every family at once, so this is not a race. */
			missing = *err;
			continue;
		}
		if (rc < 0) {
			json_decref(nr);
			return rc;
		}
		json_array_append_new(nr, e);
	}
	if (json_array_size(nr) == 0) {
		json_decref(nr);
		*err = missing;
		return -ENOENT;
	}
	if (json_object_set_new(ipam, "ranges", nr) < 0)
		return herr_set(err, -ENOMEM, "out of memory");
	return 0;
}
