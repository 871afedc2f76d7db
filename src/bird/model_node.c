/* bird/model_node.c - the Node and BlockAffinity decoders: whom the mesh
 * peers with and which blocks a node announces (calico-semantics D.2 mesh
 * peers, D.6 item 4 block affinities). A projectcalico.org/v3 Node gives its
 * BGP addresses, AS and route reflector cluster id in spec.bgp; a core/v1
 * Node gives Calico's annotations, else its first InternalIP of each family,
 * and its spec.podCIDRs as blocks. Every node address is a neighbour of every
 * other node, so it passes the same check as a BGPPeer's peerIP. */
#include "bird/model_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bird/validate.h"

/* ---- Node ------------------------------------------------------------------------------ */

/* "addr" or "addr/len" of the given family: splits into plain address and
 * prefix length (-1 when absent). */
static bool addr_with_prefix(const char *s, int family, char out[46], int *prefix)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned char buf[16];

	if (alen == 0 || alen >= 46)
		return false;
	memcpy(out, s, alen);
	out[alen] = '\0';
	if (inet_pton(family == 4 ? AF_INET : AF_INET6, out, buf) != 1)
		return false;
	inet_ntop(family == 4 ? AF_INET : AF_INET6, buf, out, 46);
	*prefix = -1;
	if (slash) {
		char *end;
		long bits = strtol(slash + 1, &end, 10);
		if (!isdigit((unsigned char)slash[1]) || *end || bits < 0 ||
		    bits > (family == 4 ? 32 : 128))
			return false;
		*prefix = (int)bits;
	}
	return true;
}

static int decode_labels(const struct model_ctx *c, const json_t *obj, struct labels *out)
{
	const json_t *md = json_object_get(obj, "metadata");
	const json_t *l = md ? json_object_get(md, "labels") : NULL;
	const char *key;
	json_t *v;

	if (!l || json_is_null(l))
		return 0;
	if (!json_is_object(l))
		return model_fail(c, "metadata.labels", "must be a map");
	json_object_foreach((json_t *)l, key, v)
	{
		char buf[32];
		const char *s = NULL;

		/* YAML turns `global-peer: yes` into a string, `x: true` into a boolean. */
		if (json_is_string(v))
			s = json_string_value(v);
		else if (json_is_boolean(v))
			s = json_is_true(v) ? "true" : "false";
		else if (json_is_integer(v))
			s = (snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v)),
			     buf);
		else
			return model_fail(c, "metadata.labels", "value of %s must be a string",
			                  key);
		if (labels_set(out, key, s) < 0)
			return herr_set(c->err, -ENOMEM, "out of memory");
	}
	return 0;
}

void bgp_node_free(struct bgp_node *n)
{
	if (!n)
		return;
	free(n->name);
	labels_free(&n->labels);
	free(n->addr[0]);
	free(n->addr[1]);
	free(n->rr_cluster_id);
	for (size_t i = 0; i < n->npod_cidrs; i++)
		free(n->pod_cidrs[i]);
	free(n->pod_cidrs);
	memset(n, 0, sizeof(*n));
}

static int node_set_addr(const struct model_ctx *c, const char *field, const json_t *v, int family,
                         struct bgp_node *n)
{
	int idx = family == 4 ? BGP_V4 : BGP_V6;
	char addr[46];
	const char *s = NULL;
	int rc = model_get_string(c, field, v, &s);

	if (rc < 0)
		return rc;
	if (!*s)
		return 0;
	if (!addr_with_prefix(s, family, addr, &n->prefix[idx]))
		return model_fail(
		    c, field, "\"%s\" is not an IPv%d address (with optional /prefix)", s, family);
	/* Every other node's mesh session goes to this address. */
	char why[200];
	if (bird_neighbour_check(addr, why, sizeof(why)) < 0)
		return model_fail(c, field, "%s", why);
	free(n->addr[idx]);
	if (!(n->addr[idx] = strdup(addr)))
		return herr_set(c->err, -ENOMEM, "out of memory");
	return 0;
}

/* A block of pod addresses the node announces (a podCIDR, a block
 * affinity's cidr): canonical, no host bits, and not a default route. */
static int block_cidr(const struct model_ctx *c, const char *field, const char *s,
                      char canon[BIRD_CIDR_LEN])
{
	char why[200];
	int bits, rc = bird_cidr_canon(s, 0, canon, &bits, why, sizeof(why));

	if (rc == -ERANGE)
		return model_fail(c, field, "%s", why);
	if (rc < 0)
		return model_fail(c, field, "\"%s\" is not a CIDR", s);
	if (bits == 0)
		return model_fail(c, field,
		                  "\"%s\" is a default route, not a block of pod addresses", s);
	return 0;
}

static int node_add_cidr(const struct model_ctx *c, const char *field, const json_t *v,
                         struct bgp_node *n)
{
	const char *s = NULL;
	char **nv;
	int rc = model_get_string(c, field, v, &s);

	if (rc < 0)
		return rc;
	char canon[BIRD_CIDR_LEN];
	if ((rc = block_cidr(c, field, s, canon)) < 0)
		return rc;
	s = canon;
	for (size_t i = 0; i < n->npod_cidrs; i++)
		if (!strcmp(n->pod_cidrs[i], s))
			return 0;
	nv = realloc(n->pod_cidrs, (n->npod_cidrs + 1) * sizeof(*nv));
	if (!nv)
		return herr_set(c->err, -ENOMEM, "out of memory");
	n->pod_cidrs = nv;
	if (!(nv[n->npod_cidrs] = strdup(s)))
		return herr_set(c->err, -ENOMEM, "out of memory");
	n->npod_cidrs++;
	return 0;
}

/* core/v1 Node: Calico's annotations if present, else InternalIP addresses. */
static int node_decode_v1(const struct model_ctx *c, const json_t *obj, struct bgp_node *n)
{
	const json_t *md = json_object_get(obj, "metadata");
	const json_t *ann = md ? json_object_get(md, "annotations") : NULL;
	const json_t *status = json_object_get(obj, "status");
	const json_t *spec = json_object_get(obj, "spec");
	const json_t *v;
	int rc;

	if (json_is_object(ann)) {
		if ((v = json_object_get(ann, "projectcalico.org/IPv4Address")) &&
		    (rc = node_set_addr(c, "metadata.annotations[projectcalico.org/IPv4Address]", v,
		                        4, n)) < 0)
			return rc;
		if ((v = json_object_get(ann, "projectcalico.org/IPv6Address")) &&
		    (rc = node_set_addr(c, "metadata.annotations[projectcalico.org/IPv6Address]", v,
		                        6, n)) < 0)
			return rc;
		if ((v = json_object_get(ann, "projectcalico.org/ASNumber"))) {
			if ((rc = model_parse_asn(
			         c, "metadata.annotations[projectcalico.org/ASNumber]", v,
			         &n->as_number)) < 0)
				return rc;
			n->has_as = true;
		}
	}
	v = status ? json_object_get(status, "addresses") : NULL;
	if (v && !json_is_array(v))
		return model_fail(c, "status.addresses", "must be a list");
	if (v) {
		size_t i;
		json_t *a;
		json_array_foreach(v, i, a)
		{
			const json_t *t = json_object_get(a, "type");
			const json_t *ad = json_object_get(a, "address");
			const char *s = NULL;
			int idx;

			if (!json_is_string(t) || strcmp(json_string_value(t), "InternalIP") ||
			    !json_is_string(ad))
				continue;
			char f[64], canon[INET6_ADDRSTRLEN], why[200];
			int fam;

			s = json_string_value(ad);
			snprintf(f, sizeof(f), "status.addresses[%zu].address", i);
			if (bird_addr_canon(s, 0, canon, &fam) < 0)
				return model_fail(c, f, "\"%s\" is not an IP address", s);
			if (bird_neighbour_check(canon, why, sizeof(why)) < 0)
				return model_fail(c, f, "%s", why);
			idx = fam == 4 ? BGP_V4 : BGP_V6;
			if (n->addr[idx])
				continue; /* annotation or an earlier InternalIP wins */
			n->prefix[idx] = -1;
			if (!(n->addr[idx] = strdup(canon)))
				return herr_set(c->err, -ENOMEM, "out of memory");
		}
	}
	if (json_is_object(spec)) {
		if ((v = json_object_get(spec, "podCIDRs")) && json_is_array(v)) {
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e)
			{
				char f[64];
				snprintf(f, sizeof(f), "spec.podCIDRs[%zu]", i);
				if ((rc = node_add_cidr(c, f, e, n)) < 0)
					return rc;
			}
		} else if ((v = json_object_get(spec, "podCIDR")) && json_is_string(v) &&
		           *json_string_value(v)) {
			if ((rc = node_add_cidr(c, "spec.podCIDR", v, n)) < 0)
				return rc;
		}
	}
	return 0;
}

static int node_decode_v3(const struct model_ctx *c, const json_t *obj, struct bgp_node *n)
{
	const json_t *spec = json_object_get(obj, "spec");
	const json_t *bgp = json_is_object(spec) ? json_object_get(spec, "bgp") : NULL;
	const json_t *v;
	int rc;

	if (!bgp || json_is_null(bgp))
		return 0;
	if (!json_is_object(bgp))
		return model_fail(c, "spec.bgp", "must be an object");
	if ((v = json_object_get(bgp, "ipv4Address")) && !json_is_null(v) &&
	    (rc = node_set_addr(c, "spec.bgp.ipv4Address", v, 4, n)) < 0)
		return rc;
	if ((v = json_object_get(bgp, "ipv6Address")) && !json_is_null(v) &&
	    (rc = node_set_addr(c, "spec.bgp.ipv6Address", v, 6, n)) < 0)
		return rc;
	if ((v = json_object_get(bgp, "asNumber")) && !json_is_null(v)) {
		if ((rc = model_parse_asn(c, "spec.bgp.asNumber", v, &n->as_number)) < 0)
			return rc;
		n->has_as = true;
	}
	if ((v = json_object_get(bgp, "routeReflectorClusterID")) && !json_is_null(v)) {
		const char *s = NULL;
		unsigned char a[4];
		if ((rc = model_get_string(c, "spec.bgp.routeReflectorClusterID", v, &s)) < 0)
			return rc;
		/* BIRD's `rr cluster id` takes a router id: a dotted quad. */
		if (*s && inet_pton(AF_INET, s, a) != 1)
			return model_fail(c, "spec.bgp.routeReflectorClusterID",
			                  "\"%s\" is not an IPv4 address (a.b.c.d)", s);
		if (*s && !(n->rr_cluster_id = strdup(s)))
			return herr_set(c->err, -ENOMEM, "out of memory");
	}
	return 0;
}

int bgp_node_decode(const json_t *obj, struct bgp_node *out, struct herr *err)
{
	const json_t *av = json_object_get(obj, "apiVersion");
	const char *name;
	int rc;

	memset(out, 0, sizeof(*out));
	out->prefix[0] = out->prefix[1] = -1;
	if ((rc = model_decode_name(obj, "Node", &name, err)) < 0)
		return rc;
	struct model_ctx c = {"Node", name, err};
	if (!model_dns1123_subdomain(name))
		return model_fail(&c, "metadata.name",
		                  "not a valid name (lower-case letters, digits, '-' and '.', "
		                  "starting and ending with a letter or digit, at most 253)");
	if (!(out->name = strdup(name)))
		return herr_set(err, -ENOMEM, "out of memory");
	if ((rc = decode_labels(&c, obj, &out->labels)) < 0)
		goto out;
	if (json_is_string(av) && !strcmp(json_string_value(av), "projectcalico.org/v3"))
		rc = node_decode_v3(&c, obj, out);
	else
		rc = node_decode_v1(&c, obj, out);
	if (rc == 0)
		return 0;
out:
	bgp_node_free(out);
	return rc;
}

/* ---- BlockAffinity ------------------------------------------------------------------------ */

void bgp_block_affinity_free(struct bgp_block_affinity *b)
{
	if (!b)
		return;
	free(b->name);
	free(b->node);
	free(b->cidr);
	free(b->state);
	memset(b, 0, sizeof(*b));
}

int bgp_block_affinity_decode(const json_t *obj, struct bgp_block_affinity *out, struct herr *err)
{
	const char *name, *s = NULL;
	const json_t *spec, *v;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = model_decode_name(obj, "BlockAffinity", &name, err)) < 0)
		return rc;
	struct model_ctx c = {"BlockAffinity", name, err};
	spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return model_fail(&c, "spec", "required");
	v = json_object_get(spec, "cidr");
	if (!v)
		return model_fail(&c, "spec.cidr", "required");
	if ((rc = model_get_string(&c, "spec.cidr", v, &s)) < 0)
		return rc;
	char canon[BIRD_CIDR_LEN];
	if ((rc = block_cidr(&c, "spec.cidr", s, canon)) < 0)
		return rc;
	out->cidr = strdup(canon);
	v = json_object_get(spec, "node");
	if (!v) {
		rc = model_fail(&c, "spec.node", "required");
		goto out;
	}
	if ((rc = model_get_string(&c, "spec.node", v, &s)) < 0)
		goto out;
	out->node = strdup(s);
	s = "";
	if ((v = json_object_get(spec, "state")) && !json_is_null(v) &&
	    (rc = model_get_string(&c, "spec.state", v, &s)) < 0)
		goto out;
	for (const char *q = s; *q; q++)
		if (!isalnum((unsigned char)*q)) {
			rc =
			    model_fail(&c, "spec.state", "\"%s\" is not a block affinity state", s);
			goto out;
		}
	out->state = strdup(s);
	if ((v = json_object_get(spec, "deleted")))
		out->deleted =
		    json_is_true(v) || (json_is_string(v) && !strcmp(json_string_value(v), "true"));
	out->name = strdup(name);
	if (!out->cidr || !out->node || !out->state || !out->name) {
		rc = herr_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	return 0;
out:
	bgp_block_affinity_free(out);
	return rc;
}
