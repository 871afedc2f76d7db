/* bird/input.c - which BGP sessions a node has, resolved from the resources
 * as the reference's confd does (calico-semantics D.1/D.2), for render.c.
 *
 * The reference's order of precedence, kept here:
 *  1. the node-to-node mesh (`Mesh_`): every other node that is not a route
 *     reflector, unless this node is one (a reflector peers only explicitly);
 *     nodeMeshPassword and nodeMeshMaxRestartTime apply;
 *  2. BGPPeers without node/nodeSelector (`Global_`), one session per
 *     (address, port), the first BGPPeer by name winning;
 *  3. BGPPeers selecting this node (`Node_`), skipped where a global one
 *     already peers with that (address, port);
 *  4. automatic reverse peerings (`Node_`, unless reversePeering: Manual):
 *     a BGPPeer whose peerSelector, or peerIP (with its AS and port), names
 *     this node makes this node peer back with the nodes the BGPPeer is for.
 * A peerIP that is a node's address is reached at that node's listen port,
 * and a global one is passive towards a higher node address (the mesh rule).
 * On a route reflector (spec.bgp.routeReflectorClusterID) every iBGP peer
 * that is not in the same cluster is a reflector client.
 *
 * handoff's one deliberate difference: a mesh session is dropped when an
 * explicit BGPPeer peers with the same address (the reference would render
 * two protocols for one neighbour, which BIRD cannot both establish). */
#include "bird/render.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/selector.h"

static const struct bgp_config *find_config(const struct bgp_resources *set, const char *name)
{
	for (size_t i = 0; i < set->nconfigs; i++)
		if (!strcmp(set->configs[i].name, name))
			return &set->configs[i];
	return NULL;
}

static uint32_t global_as(const struct bgp_resources *set)
{
	const struct bgp_config *g = find_config(set, "default");
	return g && g->has_as ? g->as_number : BGP_DEFAULT_AS;
}

/* A node's AS and BGP listen port: the Node's own AS, else its node.<name>
 * BGPConfiguration's, else the default BGPConfiguration's, else 64512; the
 * port likewise from node.<name>, then default (0: BIRD's 179). Peers of a
 * node are reached at that node's port. */
static void node_bgp_settings(const struct bgp_resources *set, const struct bgp_node *n,
                              uint32_t *as, uint16_t *port)
{
	const struct bgp_config *global = find_config(set, "default");
	char name[300];

	snprintf(name, sizeof(name), "node.%s", n->name);
	const struct bgp_config *local = find_config(set, name);
	*as = n->has_as                  ? n->as_number
	      : local && local->has_as   ? local->as_number
	      : global && global->has_as ? global->as_number
	                                 : BGP_DEFAULT_AS;
	*port = local && local->listen_port ? local->listen_port : global ? global->listen_port : 0;
}

static int add_peer(struct bird_input *in, const struct bird_peer *p)
{
	struct bird_peer *nv = realloc(in->peers, (in->npeers + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	in->peers = nv;
	in->peers[in->npeers++] = *p;
	return 0;
}

static int add_block(struct bird_input *in, const char *cidr, const char *state)
{
	for (size_t i = 0; i < in->nblocks; i++)
		if (!strcmp(in->blocks[i].cidr, cidr))
			return 0;
	struct bird_block *nv = realloc(in->blocks, (in->nblocks + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	in->blocks = nv;
	in->blocks[in->nblocks++] = (struct bird_block){cidr, state};
	return 0;
}

static bool selector_matches(const char *text, const struct labels *l)
{
	struct selector *s = NULL;
	bool m;

	if (selector_parse(text, &s, NULL) < 0) /* checked by the decoder */
		return false;
	m = selector_match(s, l);
	selector_free(s);
	return m;
}

static int family_of(const char *ip)
{
	return strchr(ip, ':') ? BGP_V6 : BGP_V4;
}

static int cmp_peer_ptr(const void *a, const void *b)
{
	const struct bgp_peer *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

static int cmp_node_ptr(const void *a, const void *b)
{
	const struct bgp_node *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

/* Everything the resolution steps share. */
struct resolve {
	const struct bgp_resources *set;
	const struct bgp_node *me;
	const struct bgp_node **nodes; /* by name */
	struct bird_input *out;
	size_t explicit_from; /* out->peers[explicit_from..] are BGPPeer sessions */
};

/* The reference's emit(): one explicit session per (kind scope, address,
 * port); a node-scoped one also yields to a global one. */
static int emit(struct resolve *r, struct bird_peer *p)
{
	const char *mine = r->me->addr[family_of(p->ip)];

	for (size_t i = r->explicit_from; i < r->out->npeers; i++) {
		const struct bird_peer *o = &r->out->peers[i];
		if (!strcmp(o->ip, p->ip) && o->port == p->port &&
		    (o->kind == p->kind || o->kind == BIRD_PEER_GLOBAL))
			return 0;
	}
	if (mine && !strcmp(mine, p->ip)) /* never a session to ourselves */
		return 0;
	return add_peer(r->out, p);
}

/* Whether this node is a reflector client on the session `p` to a peer
 * whose cluster is `peer_cluster` (NULL: not a reflector). */
static void set_rr(const struct resolve *r, struct bird_peer *p, const char *peer_cluster)
{
	uint32_t local = p->local_as ? p->local_as : r->out->as;

	if (r->me->rr_cluster_id && p->as == local &&
	    (!peer_cluster || strcmp(peer_cluster, r->me->rr_cluster_id)))
		snprintf(p->rr_cluster_id, sizeof(p->rr_cluster_id), "%s", r->me->rr_cluster_id);
}

/* A password from a Secret, NULL (and noted as missing) when there is none
 * or BIRD cannot use it: BIRD 1.6 strings have no escapes, so a double quote
 * or a newline would end it, and the kernel takes TCP MD5 keys of at most 80
 * bytes (TCP_MD5SIG_MAXKEYLEN; BIRD would accept the file and then fail to
 * open the session). */
static const char *password(struct resolve *r, const struct bgp_secret_ref *ref)
{
	bool missing;
	const char *pw = bgp_resources_secret(r->set, ref, &missing);

	if (pw && (strpbrk(pw, "\"\n") || strlen(pw) > 80 || !*pw)) {
		pw = NULL;
		missing = true;
	}
	if (missing && !r->out->missing_secret)
		r->out->missing_secret = ref->name;
	return pw;
}

/* The fields every session of a BGPPeer gets (the reference's
 * setPeerConfigFieldsFromV3Resource). */
static void session_fields(struct resolve *r, const struct bgp_peer *bp, struct bird_peer *p)
{
	p->password = password(r, &bp->password);
	p->no_source_address = bp->no_source_address;
	p->restart_time_s = bp->restart_time_s;
	p->keepalive_s = bp->keepalive_s;
}

/* A session to node `n` for BGPPeer `bp` (peerSelector, or a reverse
 * peering): the node's own address, AS, port and reflector cluster. */
static int emit_node(struct resolve *r, const struct bgp_peer *bp, const struct bgp_node *n,
                     int family, enum bird_peer_kind kind)
{
	struct bird_peer p = {
	    .kind = kind,
	    .next_hop = bp->next_hop,
	    .keep_original_next_hop = bp->keep_original_next_hop,
	    .ttl_security = bp->ttl_security,
	    .filters = (const char *const *)bp->filters,
	    .nfilters = bp->nfilters,
	};

	if (!n->addr[family] || !r->me->addr[family])
		return 0;
	snprintf(p.ip, sizeof(p.ip), "%s", n->addr[family]);
	node_bgp_settings(r->set, n, &p.as, &p.port);
	if (bp->reachable_by && family_of(bp->reachable_by) == family)
		snprintf(p.reachable_by, sizeof(p.reachable_by), "%s", bp->reachable_by);
	session_fields(r, bp, &p);
	set_rr(r, &p, n->rr_cluster_id);
	return emit(r, &p);
}

/* The first node (by name) with address `ip` and AS `as`, if any. */
static const struct bgp_node *node_with_ip_as(const struct resolve *r, const char *ip, uint32_t as)
{
	for (size_t i = 0; i < r->set->nnodes; i++) {
		const struct bgp_node *n = r->nodes[i];
		uint32_t nas;
		uint16_t port;

		if ((!n->addr[0] || strcmp(n->addr[0], ip)) &&
		    (!n->addr[1] || strcmp(n->addr[1], ip)))
			continue;
		node_bgp_settings(r->set, n, &nas, &port);
		if (nas == as)
			return n;
	}
	return NULL;
}

static bool ip_is_node(const struct resolve *r, const char *ip)
{
	for (size_t i = 0; i < r->set->nnodes; i++)
		for (int f = 0; f < 2; f++)
			if (r->nodes[i]->addr[f] && !strcmp(r->nodes[i]->addr[f], ip))
				return true;
	return false;
}

/* The sessions BGPPeer `bp` asks this node for, as `kind`. */
static int emit_forward(struct resolve *r, const struct bgp_peer *bp, enum bird_peer_kind kind)
{
	int rc;

	if (bp->peer_selector) {
		for (size_t j = 0; j < r->set->nnodes; j++) {
			if (!selector_matches(bp->peer_selector, &r->nodes[j]->labels))
				continue;
			for (int f = 0; f < 2; f++)
				if ((rc = emit_node(r, bp, r->nodes[j], f, kind)) < 0)
					return rc;
		}
		return 0;
	}
	int f = family_of(bp->peer_ip);
	struct bird_peer p = {
	    .kind = kind,
	    .port = bp->port,
	    .as = bp->has_as ? bp->as_number : global_as(r->set),
	    .local_as = bp->has_local_as ? bp->local_as : 0,
	    .next_hop = bp->next_hop,
	    .keep_original_next_hop = bp->keep_original_next_hop,
	    .allow_local_as = bp->allow_local_as,
	    .ttl_security = bp->ttl_security,
	    .filters = (const char *const *)bp->filters,
	    .nfilters = bp->nfilters,
	};
	snprintf(p.ip, sizeof(p.ip), "%s", bp->peer_ip);
	if (bp->reachable_by)
		snprintf(p.reachable_by, sizeof(p.reachable_by), "%s", bp->reachable_by);
	if (!p.port) {
		/* A node is reached at its own listen port. */
		const struct bgp_node *n = node_with_ip_as(r, bp->peer_ip, p.as);
		uint32_t as;
		if (n)
			node_bgp_settings(r->set, n, &as, &p.port);
	}
	p.passive = kind == BIRD_PEER_GLOBAL && r->me->addr[f] && ip_is_node(r, bp->peer_ip) &&
	            strcmp(bp->peer_ip, r->me->addr[f]) > 0;
	session_fields(r, bp, &p);
	set_rr(r, &p, NULL);
	return emit(r, &p);
}

/* Reverse peering: does `bp` make this node a peer of the nodes it is for,
 * and over which families? */
static bool reverse_applies(const struct resolve *r, const struct bgp_peer *bp, bool fam[2])
{
	fam[0] = fam[1] = false;
	if (bp->reverse_manual)
		return false;
	if (bp->peer_selector) {
		if (!selector_matches(bp->peer_selector, &r->me->labels))
			return false;
		fam[0] = fam[1] = true;
		return true;
	}
	uint32_t want = bp->has_as ? bp->as_number : global_as(r->set), as;
	uint16_t port;
	int f = family_of(bp->peer_ip);

	if (!r->me->addr[f] || strcmp(r->me->addr[f], bp->peer_ip))
		return false;
	node_bgp_settings(r->set, r->me, &as, &port);
	if (as != want || (bp->port && port && bp->port != port))
		return false;
	fam[f] = true;
	return true;
}

static int resolve_explicit(struct resolve *r, const struct bgp_peer **peers)
{
	const struct bgp_node *me = r->me;
	size_t n = r->set->npeers;
	int rc;

	r->explicit_from = r->out->npeers;
	/* Global BGPPeers first, so that node-scoped ones yield to them. */
	for (size_t i = 0; i < n; i++)
		if (!peers[i]->node && !peers[i]->node_selector &&
		    (rc = emit_forward(r, peers[i], BIRD_PEER_GLOBAL)) < 0)
			return rc;
	for (size_t i = 0; i < n; i++) {
		const struct bgp_peer *bp = peers[i];
		if (!bp->node && !bp->node_selector)
			continue;
		if (bp->node && strcmp(bp->node, me->name))
			continue;
		if (bp->node_selector && !selector_matches(bp->node_selector, &me->labels))
			continue;
		if ((rc = emit_forward(r, bp, BIRD_PEER_NODE)) < 0)
			return rc;
	}
	for (size_t i = 0; i < n; i++) {
		const struct bgp_peer *bp = peers[i];
		bool fam[2];
		if (!reverse_applies(r, bp, fam))
			continue;
		for (size_t j = 0; j < r->set->nnodes; j++) {
			const struct bgp_node *pn = r->nodes[j];
			if ((bp->node && strcmp(bp->node, pn->name)) ||
			    (bp->node_selector &&
			     !selector_matches(bp->node_selector, &pn->labels)))
				continue;
			for (int f = 0; f < 2; f++)
				if (fam[f] && (rc = emit_node(r, bp, pn, f, BIRD_PEER_NODE)) < 0)
					return rc;
		}
	}
	return 0;
}

static int resolve_mesh(struct resolve *r)
{
	const struct bgp_config *global = find_config(r->set, "default");
	const struct bgp_node *me = r->me;
	const char *pw = NULL;
	int rc;

	if (me->rr_cluster_id || (global && !global->mesh_enabled))
		return 0;
	if (global)
		pw = password(r, &global->mesh_password);
	for (size_t i = 0; i < r->set->nnodes; i++) {
		const struct bgp_node *n = r->nodes[i];
		if (n == me || n->rr_cluster_id)
			continue;
		for (int f = 0; f < 2; f++) {
			struct bird_peer p = {.kind = BIRD_PEER_MESH, .password = pw};
			if (!n->addr[f] || !me->addr[f] || !strcmp(n->addr[f], me->addr[f]))
				continue;
			snprintf(p.ip, sizeof(p.ip), "%s", n->addr[f]);
			node_bgp_settings(r->set, n, &p.as, &p.port);
			p.passive = strcmp(p.ip, me->addr[f]) > 0;
			p.restart_time_s = global ? global->mesh_restart_time_s : 0;
			if ((rc = add_peer(r->out, &p)) < 0)
				return rc;
		}
	}
	return 0;
}

/* handoff's deliberate difference: a mesh session yields to an explicit
 * session with the same neighbour address. */
static void drop_shadowed_mesh(struct bird_input *in)
{
	size_t n = 0;

	for (size_t i = 0; i < in->npeers; i++) {
		bool shadowed = false;
		if (in->peers[i].kind == BIRD_PEER_MESH)
			for (size_t j = 0; j < in->npeers && !shadowed; j++)
				shadowed = in->peers[j].kind != BIRD_PEER_MESH &&
				           !strcmp(in->peers[j].ip, in->peers[i].ip);
		if (!shadowed)
			in->peers[n++] = in->peers[i];
	}
	in->npeers = n;
}

/* Router id: the IPv4 address, else a stable id hashed from the node name. */
static void router_id(const struct bgp_node *n, char out[16])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	if (n->addr[BGP_V4]) {
		snprintf(out, 16, "%s", n->addr[BGP_V4]);
		return;
	}
	SHA256((const unsigned char *)n->name, strlen(n->name), md);
	snprintf(out, 16, "%u.%u.%u.%u", md[0], md[1], md[2], md[3]);
}

int bird_input_build(const struct bgp_resources *set, const char *node, struct bird_input *out,
                     struct herr *err)
{
	const struct bgp_node *me = bgp_resources_node(set, node);
	const struct bgp_config *global = find_config(set, "default");
	const struct bgp_node **nodes = NULL;
	const struct bgp_peer **peers = NULL;

	memset(out, 0, sizeof(*out));
	if (!me)
		return herr_set(err, -ENOENT, "Node %s: not found among the resources", node);
	if (!me->addr[BGP_V4] && !me->addr[BGP_V6])
		return herr_set(err, -EINVAL,
		                "Node %s: no IPv4 or IPv6 address (spec.bgp, the "
		                "projectcalico.org/IPv4Address annotation or an InternalIP)",
		                node);

	out->node = me->name;
	router_id(me, out->router_id);
	out->addr[BGP_V4] = me->addr[BGP_V4];
	out->addr[BGP_V6] = me->addr[BGP_V6];
	node_bgp_settings(set, me, &out->as, &out->listen_port);
	out->bind_node_ip = global && global->bind_node_ip;
	out->route_reflector = me->rr_cluster_id != NULL;
	out->normal[BGP_V4] = global ? global->normal[BGP_V4] : BGP_DEFAULT_PRIORITY;
	out->normal[BGP_V6] = global ? global->normal[BGP_V6] : BGP_DEFAULT_PRIORITY;
	out->workload_rt_proto = BIRD_WORKLOAD_RT_PROTO;
	out->filters = set->filters;
	out->nfilters = set->nfilters;

	nodes = calloc(set->nnodes + 1, sizeof(*nodes));
	peers = calloc(set->npeers + 1, sizeof(*peers));
	if (!nodes || !peers)
		goto fail;
	for (size_t i = 0; i < set->nnodes; i++)
		nodes[i] = &set->nodes[i];
	qsort(nodes, set->nnodes, sizeof(*nodes), cmp_node_ptr);
	for (size_t i = 0; i < set->npeers; i++)
		peers[i] = &set->peers[i];
	qsort(peers, set->npeers, sizeof(*peers), cmp_peer_ptr);

	struct resolve r = {.set = set, .me = me, .nodes = nodes, .out = out};
	if (resolve_mesh(&r) < 0 || resolve_explicit(&r, peers) < 0)
		goto fail;
	drop_shadowed_mesh(out);

	/* Aggregation blocks: affinities of this node (pending ones are not
	 * ours yet), and a core/v1 Node's pod CIDRs. */
	for (size_t i = 0; i < set->naffinities; i++) {
		const struct bgp_block_affinity *a = &set->affinities[i];
		if (strcmp(a->node, node) || a->deleted || !strcmp(a->state, "pending"))
			continue;
		if (add_block(out, a->cidr, a->state) < 0)
			goto fail;
	}
	for (size_t i = 0; i < me->npod_cidrs; i++)
		if (add_block(out, me->pod_cidrs[i], "") < 0)
			goto fail;
	free(nodes);
	free(peers);
	return 0;
fail:
	free(nodes);
	free(peers);
	bird_input_free(out);
	return herr_set(err, -ENOMEM, "out of memory resolving BGP resources for node %s", node);
}

void bird_input_free(struct bird_input *in)
{
	free(in->peers);
	free(in->blocks);
	memset(in, 0, sizeof(*in));
}
