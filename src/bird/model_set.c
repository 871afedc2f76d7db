/* bird/model_set.c - the set of BGP resources the renderer reads
 * (struct bgp_resources, model.h): objects added by kind and replaced by
 * name; a core/v1 and a projectcalico.org/v3 Node of one name merged into one
 * (v3 addresses and AS, v1 pod CIDRs and labels); and the clashes BIRD cannot
 * render, since it runs one session per neighbour (calico-semantics D.2):
 * two BGPPeers with one neighbour in one scope, two Nodes with one address. */
#include "bird/model.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bird/secret.h"

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
