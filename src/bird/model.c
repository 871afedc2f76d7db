/* bird/model.c - decoders and validation for the BGP resources (calico-semantics
 * D.1-D.3) and the resource set the renderer reads. */
#include "bird/model_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bird/validate.h"
#include "bird/secret.h"
#include "core/selector.h"

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

/* ---- Node ------------------------------------------------------------------------------ */

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

/* ---- the set -------------------------------------------------------------------------------- */

/* Append or replace by name in a typed array; `elem` is moved in. */
#define SET_PUT(arr, n, elem, freefn)                                                              \
	do {                                                                                       \
		for (size_t i_ = 0; i_ < (n); i_++)                                                \
			if (!strcmp((arr)[i_].name, (elem)->name)) {                               \
				freefn(&(arr)[i_]);                                                \
				(arr)[i_] = *(elem);                                               \
				return 1;                                                          \
			}                                                                          \
		void *nv_ = realloc((arr), ((n) + 1) * sizeof(*(arr)));                            \
		if (!nv_) {                                                                        \
			freefn(elem);                                                              \
			return herr_set(err, -ENOMEM, "out of memory");                            \
		}                                                                                  \
		(arr) = nv_;                                                                       \
		(arr)[(n)++] = *(elem);                                                            \
		return 1;                                                                          \
	} while (0)

static int put_config(struct bgp_resources *s, struct bgp_config *e, struct herr *err)
{
	SET_PUT(s->configs, s->nconfigs, e, bgp_config_free);
}
static int put_peer(struct bgp_resources *s, struct bgp_peer *e, struct herr *err)
{
	SET_PUT(s->peers, s->npeers, e, bgp_peer_free);
}
static int put_filter(struct bgp_resources *s, struct bgp_filter *e, struct herr *err)
{
	SET_PUT(s->filters, s->nfilters, e, bgp_filter_free);
}
static int put_affinity(struct bgp_resources *s, struct bgp_block_affinity *e, struct herr *err)
{
	SET_PUT(s->affinities, s->naffinities, e, bgp_block_affinity_free);
}

/* Merge a v1 and a v3 view of one node into `slot`: Calico's addresses and
 * AS win, the v1 Node's pod CIDRs and labels (what node selectors are written
 * against) are kept. `n` is consumed. */
static void node_merge(struct bgp_node *slot, struct bgp_node *n, bool n_is_v3)
{
	struct bgp_node *v3 = n_is_v3 ? n : slot, *v1 = n_is_v3 ? slot : n;

	for (int f = 0; f < 2; f++)
		if (!v3->addr[f]) {
			v3->addr[f] = v1->addr[f];
			v3->prefix[f] = v1->prefix[f];
			v1->addr[f] = NULL;
		}
	if (!v3->has_as && v1->has_as) {
		v3->has_as = true;
		v3->as_number = v1->as_number;
	}
	for (size_t i = 0; i < v3->npod_cidrs; i++)
		free(v3->pod_cidrs[i]);
	free(v3->pod_cidrs);
	v3->pod_cidrs = v1->pod_cidrs;
	v3->npod_cidrs = v1->npod_cidrs;
	v1->pod_cidrs = NULL;
	v1->npod_cidrs = 0;
	if (v1->labels.n) {
		labels_free(&v3->labels);
		v3->labels = v1->labels;
		memset(&v1->labels, 0, sizeof(v1->labels));
	}
	bgp_node_free(v1);
	if (n_is_v3)
		*slot = *n;
	slot->calico_v3 = true;
}

static int put_node(struct bgp_resources *s, struct bgp_node *n, bool from_v3, struct herr *err)
{
	n->calico_v3 = from_v3;
	for (size_t i = 0; i < s->nnodes; i++) {
		struct bgp_node *slot = &s->nodes[i];

		if (strcmp(slot->name, n->name))
			continue;
		if (from_v3 == slot->calico_v3) {
			/* An update of the same flavour replaces; a v3 update keeps
			 * the pod CIDRs a v1 Node contributed. */
			if (from_v3 && !n->npod_cidrs) {
				n->pod_cidrs = slot->pod_cidrs;
				n->npod_cidrs = slot->npod_cidrs;
				slot->pod_cidrs = NULL;
				slot->npod_cidrs = 0;
			}
			bgp_node_free(slot);
			*slot = *n;
			return 1;
		}
		node_merge(slot, n, from_v3);
		return 1;
	}
	void *nv = realloc(s->nodes, (s->nnodes + 1) * sizeof(*s->nodes));
	if (!nv) {
		bgp_node_free(n);
		return herr_set(err, -ENOMEM, "out of memory");
	}
	s->nodes = nv;
	s->nodes[s->nnodes++] = *n;
	return 1;
}

int bgp_resources_add(struct bgp_resources *set, const json_t *obj, struct herr *err)
{
	const json_t *k = json_object_get(obj, "kind");
	const json_t *av = json_object_get(obj, "apiVersion");
	const char *kind = json_is_string(k) ? json_string_value(k) : "";
	int rc;

	if (!strcmp(kind, "BGPConfiguration")) {
		struct bgp_config e;
		if ((rc = bgp_config_decode(obj, &e, err)) < 0)
			return rc;
		return put_config(set, &e, err);
	}
	if (!strcmp(kind, "BGPPeer")) {
		struct bgp_peer e;
		if ((rc = bgp_peer_decode(obj, &e, err)) < 0)
			return rc;
		return put_peer(set, &e, err);
	}
	if (!strcmp(kind, "BGPFilter")) {
		struct bgp_filter e;
		if ((rc = bgp_filter_decode(obj, &e, err)) < 0)
			return rc;
		return put_filter(set, &e, err);
	}
	if (!strcmp(kind, "BlockAffinity")) {
		struct bgp_block_affinity e;
		if ((rc = bgp_block_affinity_decode(obj, &e, err)) < 0)
			return rc;
		return put_affinity(set, &e, err);
	}
	if (!strcmp(kind, "Secret")) {
		struct bgp_secret e;
		if ((rc = bgp_secret_decode(obj, &e, err)) < 0)
			return rc;
		return bgp_resources_put_secret(set, &e, err);
	}
	if (!strcmp(kind, "Node")) {
		struct bgp_node e;
		bool v3 =
		    json_is_string(av) && !strcmp(json_string_value(av), "projectcalico.org/v3");
		if ((rc = bgp_node_decode(obj, &e, err)) < 0)
			return rc;
		return put_node(set, &e, v3, err);
	}
	return 0;
}

#define SET_REMOVE(arr, n, name, freefn)                                                           \
	do {                                                                                       \
		for (size_t i_ = 0; i_ < (n); i_++)                                                \
			if (!strcmp((arr)[i_].name, (name))) {                                     \
				freefn(&(arr)[i_]);                                                \
				memmove(&(arr)[i_], &(arr)[i_ + 1],                                \
				        ((n)-i_ - 1) * sizeof(*(arr)));                            \
				(n)--;                                                             \
				return 1;                                                          \
			}                                                                          \
		return 0;                                                                          \
	} while (0)

int bgp_resources_remove(struct bgp_resources *set, const char *kind, const char *name)
{
	if (!strcmp(kind, "BGPConfiguration"))
		SET_REMOVE(set->configs, set->nconfigs, name, bgp_config_free);
	if (!strcmp(kind, "BGPPeer"))
		SET_REMOVE(set->peers, set->npeers, name, bgp_peer_free);
	if (!strcmp(kind, "BGPFilter"))
		SET_REMOVE(set->filters, set->nfilters, name, bgp_filter_free);
	if (!strcmp(kind, "BlockAffinity"))
		SET_REMOVE(set->affinities, set->naffinities, name, bgp_block_affinity_free);
	if (!strcmp(kind, "Node"))
		SET_REMOVE(set->nodes, set->nnodes, name, bgp_node_free);
	if (!strcmp(kind, "Secret"))
		return bgp_resources_remove_secret(set, name);
	return 0;
}

void bgp_resources_free(struct bgp_resources *set)
{
	for (size_t i = 0; i < set->nconfigs; i++)
		bgp_config_free(&set->configs[i]);
	for (size_t i = 0; i < set->npeers; i++)
		bgp_peer_free(&set->peers[i]);
	for (size_t i = 0; i < set->nfilters; i++)
		bgp_filter_free(&set->filters[i]);
	for (size_t i = 0; i < set->nnodes; i++)
		bgp_node_free(&set->nodes[i]);
	for (size_t i = 0; i < set->naffinities; i++)
		bgp_block_affinity_free(&set->affinities[i]);
	for (size_t i = 0; i < set->nsecrets; i++)
		bgp_secret_free(&set->secrets[i]);
	free(set->secrets);
	free(set->configs);
	free(set->peers);
	free(set->filters);
	free(set->nodes);
	free(set->affinities);
	memset(set, 0, sizeof(*set));
}

const struct bgp_node *bgp_resources_node(const struct bgp_resources *set, const char *name)
{
	for (size_t i = 0; i < set->nnodes; i++)
		if (!strcmp(set->nodes[i].name, name))
			return &set->nodes[i];
	return NULL;
}

const struct bgp_filter *bgp_resources_filter(const struct bgp_resources *set, const char *name)
{
	for (size_t i = 0; i < set->nfilters; i++)
		if (!strcmp(set->filters[i].name, name))
			return &set->filters[i];
	return NULL;
}

static bool same_scope(const struct bgp_peer *a, const struct bgp_peer *b)
{
	if (!a->node != !b->node || (a->node && strcmp(a->node, b->node)))
		return false;
	if (!a->node_selector != !b->node_selector ||
	    (a->node_selector && strcmp(a->node_selector, b->node_selector)))
		return false;
	return true;
}

int bgp_resources_peer_clash(const struct bgp_resources *set, const char *name, struct herr *why)
{
	const struct bgp_peer *me = NULL, *other = NULL, *first;

	for (size_t i = 0; i < set->npeers; i++)
		if (!strcmp(set->peers[i].name, name))
			me = &set->peers[i];
	if (!me || !me->peer_ip)
		return 0;
	first = me;
	for (size_t i = 0; i < set->npeers; i++) {
		const struct bgp_peer *p = &set->peers[i];
		if (p == me || !p->peer_ip || strcmp(p->peer_ip, me->peer_ip) ||
		    p->port != me->port || !same_scope(p, me))
			continue;
		if (!other || strcmp(p->name, other->name) < 0)
			other = p;
		if (strcmp(p->name, first->name) < 0)
			first = p;
	}
	if (!other)
		return 0;
	herr_set(why, -EEXIST,
	         "BGPPeer %s: spec.peerIP: %s is the neighbour of BGPPeer %s too; only %s's "
	         "session is rendered",
	         me->name, me->peer_ip, other->name, first->name);
	return 1;
}

int bgp_resources_node_clash(const struct bgp_resources *set, const char *name, struct herr *why)
{
	const struct bgp_node *me = bgp_resources_node(set, name);

	for (int f = 0; me && f < 2; f++) {
		const struct bgp_node *other = NULL;

		if (!me->addr[f])
			continue;
		for (size_t i = 0; i < set->nnodes; i++) {
			const struct bgp_node *n = &set->nodes[i];
			if (n != me && n->addr[f] && !strcmp(n->addr[f], me->addr[f]) &&
			    (!other || strcmp(n->name, other->name) < 0))
				other = n;
		}
		if (!other)
			continue;
		herr_set(why, -EEXIST,
		         "Node %s: address %s is Node %s's too; the other nodes' mesh has one "
		         "session to it, as Node %s",
		         me->name, me->addr[f], other->name,
		         strcmp(me->name, other->name) < 0 ? me->name : other->name);
		return 1;
	}
	return 0;
}
