/* bird/render.c - BIRD 1.x configuration text (calico-semantics D.4-D.6,
 * bird-notes). One self-contained file per family: what the reference splits
 * into bird_aggr.cfg and bird_ipam.cfg is inlined. */
#include "bird/render.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/selector.h"

/* ---- a growing string ----------------------------------------------------------- */

struct sb {
	char *p;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap - b->len <= (size_t)n)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
}

static void sb_puts(struct sb *b, const char *s)
{
	sb_printf(b, "%s", s);
}

/* Hand the text to the caller, or fail with -ENOMEM. */
static int sb_finish(struct sb *b, char **text, struct herr *err)
{
	if (!b->p && !b->oom)
		sb_puts(b, "");
	if (b->oom) {
		free(b->p);
		*text = NULL;
		return herr_set(err, -ENOMEM, "out of memory rendering BIRD configuration");
	}
	*text = b->p;
	return 0;
}

/* ---- BGPFilter functions (D.4) -------------------------------------------------------- */

/* BIRD symbols are at most 64 characters; "bgp_" + "_importFilterV4" take 19. */
#define FILTER_NAME_KEEP 45
#define FILTER_NAME_CUT  28

void bird_filter_function_name(const char *filter, enum bgp_dir dir, enum bgp_family family,
                               char out[65])
{
	const char *d = dir == BGP_IMPORT ? "import" : "export";
	int v = family == BGP_V4 ? 4 : 6;

	if (strlen(filter) <= FILTER_NAME_KEEP) {
		snprintf(out, 65, "bgp_%s_%sFilterV%d", filter, d, v);
		return;
	}
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)filter, strlen(filter), md);
	snprintf(out, 65, "bgp_%.*s_%02X%02X%02X%02X%02X%02X%02X%02X_%sFilterV%d", FILTER_NAME_CUT,
	         filter, md[0], md[1], md[2], md[3], md[4], md[5], md[6], md[7], d, v);
}

bool bird_filter_uses_peer_type(const struct bgp_filter *f, enum bgp_dir dir,
                                enum bgp_family family)
{
	const struct bgp_rule_list *l = &f->rules[family][dir];

	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].peer_type != BGP_PEER_ANY)
			return true;
	return false;
}

static void community_text(struct sb *b, const struct bgp_community *c)
{
	if (c->nparts == 3)
		sb_printf(b, "(%u, %u, %u)", c->v[0], c->v[1], c->v[2]);
	else
		sb_printf(b, "(%u, %u)", c->v[0], c->v[1]);
}

/* One rule as one statement (D.4 "Per-rule statement"). */
static void render_rule(struct sb *b, const struct bgp_filter_rule *r, enum bgp_family family)
{
	static const char *const ops[] = {"", "=", "!=", "~", "!~"};
	int maxlen = family == BGP_V4 ? 32 : 128;
	int nconds = 0;

	sb_puts(b, "  ");
	if (r->peer_type == BGP_PEER_IBGP)
		sb_puts(b, "if (is_same_as) then { ");
	else if (r->peer_type == BGP_PEER_EBGP)
		sb_puts(b, "if (!is_same_as) then { ");

	/* Conditions, in this fixed order whatever the YAML order. */
	struct sb c = {0};
#define COND_SEP() (nconds++ ? sb_puts(&c, "&&") : (void)0)
	if (r->cidr) {
		COND_SEP();
		if (r->has_min_len || r->has_max_len) {
			int mask = atoi(strchr(r->cidr, '/') + 1);
			int lo = r->has_min_len && r->min_len > mask ? r->min_len : mask;
			int hi = r->has_max_len && r->max_len < maxlen ? r->max_len : maxlen;
			sb_printf(&c, "(net %s [ %s{%d,%d} ])", ops[r->op], r->cidr, lo, hi);
		} else {
			sb_printf(&c, "(net %s %s)", ops[r->op], r->cidr);
		}
	}
	if (r->source_remote_peers) {
		COND_SEP();
		sb_puts(&c, "((defined(source))&&(source ~ [ RTS_BGP ]))");
	}
	if (r->iface) {
		COND_SEP();
		sb_printf(&c, "((defined(ifname))&&(ifname ~ \"%s\"))", r->iface);
	}
	if (r->has_community) {
		COND_SEP();
		sb_puts(&c, "(");
		community_text(&c, &r->community);
		sb_puts(&c,
		        r->community.nparts == 3 ? " ~ bgp_large_community)" : " ~ bgp_community)");
	}
	if (r->nas_path_prefix) {
		COND_SEP();
		sb_puts(&c, "(bgp_path ~ [=");
		for (size_t i = 0; i < r->nas_path_prefix; i++)
			sb_printf(&c, " %u", r->as_path_prefix[i]);
		sb_puts(&c, " * =])");
	}
	if (r->priority) {
		COND_SEP();
		sb_printf(&c, "(defined(bgp_local_pref)&&(bgp_local_pref = %u))",
		          BGP_LOCAL_PREF_BASE - r->priority);
	}
#undef COND_SEP
	if (c.oom)
		b->oom = true;
	if (nconds)
		sb_printf(b, "if (%s) then { ", c.p ? c.p : "");
	free(c.p);

	/* Operations in list order, then the action. */
	for (size_t i = 0; i < r->nops; i++) {
		const struct bgp_operation *op = &r->ops[i];
		switch (op->kind) {
		case BGP_OP_ADD_COMMUNITY:
			sb_puts(b, op->community.nparts == 3 ? "bgp_large_community.add("
			                                     : "bgp_community.add(");
			community_text(b, &op->community);
			sb_puts(b, "); ");
			break;
		case BGP_OP_PREPEND_AS_PATH:
			/* Prepending the last ASN first leaves the path starting
			 * with the listed sequence. */
			for (size_t j = op->nprefix; j-- > 0;)
				sb_printf(b, "bgp_path.prepend(%u); ", op->prefix[j]);
			break;
		case BGP_OP_SET_PRIORITY:
			sb_printf(b, "bgp_local_pref = %u; ", BGP_LOCAL_PREF_BASE - op->priority);
			break;
		}
	}
	sb_puts(b, r->action == BGP_ACCEPT ? "accept;" : "reject;");
	if (nconds)
		sb_puts(b, " }");
	if (r->peer_type != BGP_PEER_ANY)
		sb_puts(b, " }");
	sb_puts(b, "\n");
}

static void render_function(struct sb *b, const struct bgp_filter *f, enum bgp_dir dir,
                            enum bgp_family family)
{
	const struct bgp_rule_list *l = &f->rules[family][dir];
	char name[65];

	if (!l->n)
		return;
	bird_filter_function_name(f->name, dir, family, name);
	sb_printf(b, "function '%s'(%s) {\n", name,
	          bird_filter_uses_peer_type(f, dir, family) ? "bool is_same_as" : "");
	for (size_t i = 0; i < l->n; i++)
		render_rule(b, &l->v[i], family);
	sb_puts(b, "}\n");
}

static int cmp_filter_ptr(const void *a, const void *b)
{
	const struct bgp_filter *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

/* The filters sorted by name: the order they are rendered in, and a binary
 * search for call sites (rendering stays O(n log n) in peers x filters). */
struct filter_index {
	const struct bgp_filter **v;
	size_t n;
};

static int filter_index_build(struct filter_index *idx, const struct bgp_filter *filters, size_t n)
{
	idx->v = calloc(n ? n : 1, sizeof(*idx->v));
	idx->n = n;
	if (!idx->v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		idx->v[i] = &filters[i];
	qsort(idx->v, n, sizeof(*idx->v), cmp_filter_ptr);
	return 0;
}

static const struct bgp_filter *find_filter(const struct filter_index *idx, const char *name)
{
	struct bgp_filter key = {.name = (char *)name};
	const struct bgp_filter *kp = &key;
	const struct bgp_filter **hit =
	    bsearch(&kp, idx->v, idx->n, sizeof(*idx->v), cmp_filter_ptr);
	return hit ? *hit : NULL;
}

static void render_filters(struct sb *b, const struct filter_index *idx, enum bgp_family family)
{
	int v = family == BGP_V4 ? 4 : 6;
	bool any = false;

	for (size_t i = 0; i < idx->n; i++) {
		const struct bgp_filter *f = idx->v[i];
		if (!f->rules[family][BGP_IMPORT].n && !f->rules[family][BGP_EXPORT].n)
			continue;
		any = true;
		sb_printf(b, "# v%d BGPFilter %s\n", v, f->name);
		render_function(b, f, BGP_IMPORT, family);
		render_function(b, f, BGP_EXPORT, family);
	}
	if (!any)
		sb_printf(b, "# No v%d BGPFilters configured\n", v);
}

int bird_render_filters(const struct bgp_filter *filters, size_t n, enum bgp_family family,
                        char **text, struct herr *err)
{
	struct filter_index idx;
	struct sb b = {0};

	if (filter_index_build(&idx, filters, n) < 0)
		return herr_set(err, -ENOMEM, "out of memory rendering BGPFilters");
	render_filters(&b, &idx, family);
	free(idx.v);
	return sb_finish(&b, text, err);
}

/* ---- peers -------------------------------------------------------------------------------- */

void bird_peer_name(const struct bird_peer *p, char out[80])
{
	static const char *const kinds[] = {"Mesh_", "Global_", "Node_"};
	size_t n = (size_t)snprintf(out, 80, "%s", kinds[p->kind]);

	for (const char *s = p->ip; *s && n < 78; s++)
		out[n++] = (*s == '.' || *s == ':') ? '_' : *s;
	out[n] = '\0';
	if (p->port && p->kind != BIRD_PEER_MESH)
		snprintf(out + n, 80 - n, "_port_%u", p->port);
}

static int peer_family(const struct bird_peer *p)
{
	return strchr(p->ip, ':') ? BGP_V6 : BGP_V4;
}

struct named_peer {
	char name[80];
	const struct bird_peer *p; /* the input order breaks ties */
};

static int cmp_named_peer(const void *a, const void *b)
{
	const struct named_peer *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->p > y->p) - (x->p < y->p);
}

/* The calls to a peer's BGPFilters for one direction (D.5 step 1). Mesh
 * peers never get filters; missing names are skipped. */
static void render_filter_calls(struct sb *b, const struct filter_index *idx,
                                const struct bird_peer *p, enum bgp_dir dir, enum bgp_family family,
                                bool same_as)
{
	if (p->kind == BIRD_PEER_MESH)
		return;
	for (size_t i = 0; i < p->nfilters; i++) {
		const struct bgp_filter *f = find_filter(idx, p->filters[i]);
		char name[65];

		if (!f || !f->rules[family][dir].n)
			continue;
		bird_filter_function_name(f->name, dir, family, name);
		if (bird_filter_uses_peer_type(f, dir, family))
			sb_printf(b, "    '%s'(%s);\n", name, same_as ? "true" : "false");
		else
			sb_printf(b, "    '%s'();\n", name);
	}
}

static void render_peer(struct sb *b, const struct bird_input *in, const struct filter_index *idx,
                        const char *name, const struct bird_peer *p, enum bgp_family family)
{
	uint32_t n = in->normal[family];
	uint32_t local_as = p->local_as ? p->local_as : in->as;
	bool same_as = p->as == local_as;

	sb_printf(b, "protocol bgp %s from bgp_template {\n", name);
	if (p->local_as)
		sb_printf(b, "  local as %u;\n", p->local_as);
	if (p->port)
		sb_printf(b, "  neighbor %s port %u as %u;\n", p->ip, p->port, p->as);
	else
		sb_printf(b, "  neighbor %s as %u;\n", p->ip, p->as);
	if (!p->no_source_address)
		sb_printf(
		    b, "  source address %s;  # The local address we use for the TCP connection\n",
		    in->addr[family]);
	if (p->ttl_security)
		sb_printf(b, "  ttl security on;\n  multihop %u;\n", p->ttl_security);
	else
		sb_puts(b, "  ttl security off;\n  multihop;\n");

	sb_puts(b, "  import filter {\n");
	if (!same_as)
		/* bird-notes: eBGP routes arrive with LOCAL_PREF 100, which the
		 * kernel filter would turn into metric 2147483547; start them at
		 * normal priority and let the BGPFilters raise it. */
		sb_printf(
		    b,
		    "    bgp_local_pref = %u;  # eBGP: normal priority unless a filter raises it\n",
		    BGP_LOCAL_PREF_BASE - n);
	render_filter_calls(b, idx, p, BGP_IMPORT, family, same_as);
	sb_printf(b, "    if (defined(bgp_local_pref)&&(bgp_local_pref > %u)) then\n",
	          BGP_LOCAL_PREF_BASE - n);
	sb_puts(b, "      preference = 200;\n");
	sb_puts(b, "    accept;\n");
	sb_puts(b, "  };\n");

	sb_puts(b, "  export filter {\n");
	sb_puts(b,
	        "    if (defined(source) && source = RTS_BGP && defined(bgp_local_pref)) then {\n");
	sb_puts(b, "      krt_metric = 2147483647 - bgp_local_pref;\n");
	sb_puts(b, "    } else {\n");
	sb_printf(b, "      if (!defined(krt_metric)) then { krt_metric = %u; }\n", n);
	sb_puts(b, "      bgp_local_pref = 2147483647 - krt_metric;\n");
	sb_puts(b, "    }\n");
	render_filter_calls(b, idx, p, BGP_EXPORT, family, same_as);
	sb_puts(b, "    handoff_export_to_bgp_peers();\n");
	sb_puts(b, "    reject;\n");
	sb_puts(b, "  };  # Only want to export routes for workloads.\n");
	if (p->passive)
		sb_puts(b, "  passive on;\n");
	if (p->restart_time_s)
		sb_printf(b, "  graceful restart time %u;\n", p->restart_time_s);
	if (p->keepalive_s)
		sb_printf(b, "  keepalive time %u;\n", p->keepalive_s);
	if (p->rr_cluster_id[0])
		sb_printf(b, "  rr client;\n  rr cluster id %s;\n", p->rr_cluster_id);
	if (p->password) /* input.c lets no '"' or newline through */
		sb_printf(b, "  password \"%s\";\n", p->password);
	if (p->next_hop == BGP_NEXT_HOP_KEEP || (p->keep_original_next_hop && !same_as))
		sb_puts(b, "  next hop keep;\n");
	if (p->next_hop == BGP_NEXT_HOP_SELF)
		sb_puts(b, "  next hop self;\n");
	if (p->allow_local_as)
		sb_printf(b, "  allow local as %u;\n", p->allow_local_as);
	sb_puts(b, "}\n");
}

static void render_peers(struct sb *b, const struct bird_input *in, const struct filter_index *idx,
                         enum bgp_family family)
{
	struct named_peer *v = calloc(in->npeers ? in->npeers : 1, sizeof(*v));
	size_t n = 0;

	if (!v) {
		b->oom = true;
		return;
	}
	for (size_t i = 0; i < in->npeers; i++) {
		if (peer_family(&in->peers[i]) != (int)family ||
		    !strcmp(in->peers[i].ip, in->addr[family]))
			continue;
		bird_peer_name(&in->peers[i], v[n].name);
		v[n++].p = &in->peers[i];
	}
	/* By name; duplicates (same session twice) keep the first given. */
	qsort(v, n, sizeof(*v), cmp_named_peer);
	/* As the reference: the heading only above protocols. */
	sb_puts(b, n ? "# BGP Protocol Configurations\n"
	             : "# No BGP peers configured for this node\n");
	for (size_t i = 0; i < n; i++) {
		if (i && !strcmp(v[i].name, v[i - 1].name))
			continue;
		render_peer(b, in, idx, v[i].name, v[i].p, family);
	}
	free(v);
}

/* ---- blocks (D.6.4) ------------------------------------------------------------------------ */

static int block_family(const struct bird_block *bl)
{
	return strchr(bl->cidr, ':') ? BGP_V6 : BGP_V4;
}

static bool block_confirmed(const struct bird_block *bl)
{
	return !*bl->state || !strcmp(bl->state, "confirmed");
}

static int cmp_block_ptr(const void *a, const void *b)
{
	const struct bird_block *const *x = a, *const *y = b;
	return strcmp((*x)->cidr, (*y)->cidr);
}

static void render_blocks(struct sb *b, const struct bird_input *in, enum bgp_family family)
{
	const struct bird_block **v = calloc(in->nblocks ? in->nblocks : 1, sizeof(*v));
	const char *host = family == BGP_V4 ? "/32" : "/128";
	size_t n = 0, nstatic = 0;

	if (!v) {
		b->oom = true;
		return;
	}
	for (size_t i = 0; i < in->nblocks; i++)
		if (block_family(&in->blocks[i]) == (int)family)
			v[n++] = &in->blocks[i];
	qsort(v, n, sizeof(*v), cmp_block_ptr);

	for (size_t i = 0; i < n; i++) {
		const char *slash = strchr(v[i]->cidr, '/');
		if (block_confirmed(v[i]) && !(slash && !strcmp(slash, host)))
			nstatic++;
	}
	if (nstatic) {
		/* A blackhole route per block gives BIRD the aggregate to announce
		 * (and drops traffic to unused addresses instead of looping it). */
		sb_puts(b, "# IP blocks for this host.\n");
		sb_puts(b, "protocol static handoff_blocks {\n");
		for (size_t i = 0; i < n; i++) {
			const char *slash = strchr(v[i]->cidr, '/');
			if (block_confirmed(v[i]) && !(slash && !strcmp(slash, host)))
				sb_printf(b, "  route %s blackhole;\n", v[i]->cidr);
		}
		sb_puts(b, "}\n");
	}
	sb_puts(b, "# Aggregation of routes on this host; export the block, nothing beneath it,\n"
	           "# except routes elevated for a live migration (metric below normal).\n");
	sb_puts(b, "function handoff_aggr ()\n{\n");
	for (size_t i = 0; i < n; i++) {
		const char *c = v[i]->cidr;
		if (!*v[i]->state)
			sb_printf(b, "  # Block %s is implicitly confirmed.\n", c);
		else
			sb_printf(b, "  # Block %s is %s\n", c, v[i]->state);
		if (!block_confirmed(v[i]))
			continue;
		sb_printf(b, "  if ( net = %s ) then { accept; }\n", c);
		sb_printf(b, "  if ( net ~ %s && krt_metric < %u ) then { accept; }\n", c,
		          in->normal[family]);
		sb_printf(b, "  if ( net ~ %s ) then { reject; }\n", c);
	}
	sb_puts(b, "}\n");
	free(v);
}

/* BGPPeer.spec.reachableBy: a host route to the peer through the given
 * gateway, so the session does not follow (and flap with) routes it learns
 * itself. BIRD programs it into the kernel like the blocks. */
static void render_peer_routes(struct sb *b, const struct bird_input *in, enum bgp_family family)
{
	const char *host = family == BGP_V4 ? "/32" : "/128";
	bool any = false;

	for (size_t i = 0; i < in->npeers; i++) {
		const struct bird_peer *p = &in->peers[i];
		bool dup = false;
		if (!p->reachable_by[0] || peer_family(p) != (int)family)
			continue;
		for (size_t j = 0; j < i && !dup; j++)
			dup = !strcmp(in->peers[j].ip, p->ip) && in->peers[j].reachable_by[0];
		if (dup)
			continue;
		if (!any)
			sb_puts(b, "# Host routes to BGP peers through their reachableBy gateway.\n"
			           "protocol static handoff_peer_routes {\n");
		any = true;
		sb_printf(b, "  route %s%s via %s;\n", p->ip, host, p->reachable_by);
	}
	if (any)
		sb_puts(b, "}\n");
}

/* ---- the whole file ------------------------------------------------------------------------- */

static void render_header(struct sb *b, const struct bird_input *in, enum bgp_family family)
{
	sb_printf(b,
	          "# %s for node %s, rendered by handoff-watcher from BGP resources.\n"
	          "# Do not edit: it is rewritten whenever they change.\n",
	          family == BGP_V4 ? "bird.cfg" : "bird6.cfg", in->node ? in->node : "");
	sb_printf(b, "router id %s;\n", in->router_id);
	const char *la = in->bind_node_ip ? in->addr[family] : NULL;
	if (la || in->listen_port) {
		sb_puts(b, "listen bgp");
		if (la)
			sb_printf(b, " address %s", la);
		if (in->listen_port)
			sb_printf(b, " port %u", in->listen_port);
		sb_puts(b, ";\n");
	}
}

static void render_kernel(struct sb *b, const struct bird_input *in, enum bgp_family family)
{
	uint32_t n = in->normal[family];
	const char *linklocal = family == BGP_V4 ? "169.254.0.0/16" : "fe80::/10";

	sb_printf(b,
	          "# Kernel routes BIRD may learn: the workload routes the route syncer\n"
	          "# programs (protocol %u), never link-local ones. A workload route below the\n"
	          "# normal metric is a live migration's target: preference 200 lets it beat\n"
	          "# the source's route learned over BGP (preference 100), so it is announced.\n",
	          in->workload_rt_proto);
	sb_puts(b, "filter handoff_kernel_import {\n");
	sb_printf(b, "  if ( net ~ %s ) then { reject; }\n", linklocal);
	sb_printf(b, "  if ( krt_source != %u ) then { reject; }\n", in->workload_rt_proto);
	sb_printf(b, "  if ( defined(krt_metric) && krt_metric < %u ) then { preference = 200; }\n",
	          n);
	sb_puts(b, "  accept;\n}\n");

	sb_puts(b, "# BGP routes go into the kernel at the metric their LOCAL_PREF carries\n"
	           "# (2147483647 - metric); elevated ones also win over local routes.\n");
	sb_puts(b, "filter handoff_kernel_programming {\n");
	sb_puts(b, "  if (defined(source) && (source = RTS_BGP) && !defined(krt_metric)) then {\n");
	sb_printf(b, "      krt_metric = %u;\n", n);
	sb_puts(b, "      if (defined(bgp_local_pref)) then {\n");
	sb_puts(b, "          krt_metric = 2147483647 - bgp_local_pref;\n");
	sb_puts(b, "      }\n");
	sb_printf(b, "      if (krt_metric < %u) then {\n", n);
	sb_puts(b, "          preference = 200;\n");
	sb_puts(b, "      }\n");
	sb_puts(b, "  }\n");
	sb_puts(b, "  if (defined(source) && (source = RTS_BGP || source = RTS_STATIC)) then { "
	           "accept; }\n");
	sb_puts(b, "  reject;\n}\n");

	sb_puts(b, "# Configure synchronization between routing tables and kernel.\n");
	sb_puts(b, "protocol kernel {\n"
	           "  learn;             # Learn alien routes: the workload routes\n"
	           "  persist;           # Don't remove routes on bird shutdown\n"
	           "  scan time 2;       # Scan kernel routing table every 2 seconds\n"
	           "  import filter handoff_kernel_import;\n"
	           "  export filter handoff_kernel_programming;\n"
	           "  graceful restart;  # Reduce route flaps when BIRD is reconfigured\n"
	           "  merge paths on;    # Allow export multipath routes (ECMP)\n"
	           "}\n");
	sb_puts(b, "# Watch interface up/down events (kernel routes need a known interface).\n");
	sb_puts(b, "protocol device {\n  debug { states };\n  scan time 2;    # Scan interfaces "
	           "every 2 seconds\n}\n");
	sb_puts(b, "# Connected networks, for next-hop resolution; never announced. Workload\n"
	           "# interfaces (\"ho\" + 12 hex digits) are left out.\n");
	sb_puts(b, "protocol direct {\n  debug { states };\n"
	           "  interface -\"ho????????????\", \"*\";\n}\n");
}

static void render_export_policy(struct sb *b, const struct bird_input *in, enum bgp_family family)
{
	sb_puts(b, "# What this node announces: its blocks as aggregates, and its workload\n"
	           "# routes (those inside a block only while elevated). Called last by every\n"
	           "# peer's export filter: accept/reject here ends that filter.\n"
	           "function handoff_export_to_bgp_peers()\n{\n");
	if (in->route_reflector)
		/* A reflector passes on what its clients announce (the peer's
		 * export filter has already set krt_metric from the LOCAL_PREF
		 * it came with, which goes on unchanged); BIRD's iBGP rules
		 * still decide which sessions may carry a reflected route. */
		sb_puts(b, "  # Route reflector: reflect routes learned over BGP.\n"
		           "  if ( defined(source) && source = RTS_BGP ) then { accept; }\n");
	sb_printf(b,
	          "  handoff_aggr();\n"
	          "  if ( defined(source) && source = RTS_INHERIT ) then {\n"
	          "    if ( defined(krt_source) && krt_source = %u ) then { accept; }\n"
	          "  }\n"
	          "  reject;\n}\n",
	          in->workload_rt_proto);
	(void)family;
}

static void render_bgp(struct sb *b, const struct bird_input *in, const struct filter_index *idx,
                       enum bgp_family family)
{
	sb_puts(b, "# Template for all BGP clients\n");
	sb_printf(b,
	          "template bgp bgp_template {\n"
	          "  debug { states };\n"
	          "  description \"Connection to BGP peer\";\n"
	          "  local as %u;\n"
	          "  gateway recursive; # This should be the default, but just in case.\n"
	          "  add paths on;\n"
	          "  graceful restart;  # See comment in kernel section about graceful restart.\n"
	          "  connect delay time 2;\n"
	          "  connect retry time 5;\n"
	          "  error wait time 5,30;\n"
	          "}\n",
	          in->as);
	sb_puts(b, "# -------------- BGP Filters ------------------\n");
	render_filters(b, idx, family);
	render_peers(b, in, idx, family);
}

int bird_render(const struct bird_input *in, enum bgp_family family, char **text, struct herr *err)
{
	struct filter_index idx;
	struct sb b = {0};

	*text = NULL;
	if (family != BGP_V4 && family != BGP_V6)
		return herr_set(err, -EINVAL, "bird_render: unknown address family %d", family);
	for (int f = 0; f < 2; f++)
		if (in->normal[f] < 1 || in->normal[f] > BGP_PRIORITY_MAX)
			return herr_set(err, -EINVAL,
			                "normal route priority %u for IPv%d is out of range "
			                "(1..2147483646)",
			                in->normal[f], f == BGP_V4 ? 4 : 6);
	if (filter_index_build(&idx, in->filters, in->nfilters) < 0)
		return herr_set(err, -ENOMEM, "out of memory rendering BIRD configuration");
	render_header(&b, in, family);
	render_blocks(&b, in, family);
	if (in->addr[family])
		render_peer_routes(&b, in, family);
	render_kernel(&b, in, family);
	render_export_policy(&b, in, family);
	if (in->addr[family])
		render_bgp(&b, in, &idx, family);
	else
		sb_printf(&b, "# IPv%d disabled on this node.\n", family == BGP_V4 ? 4 : 6);
	free(idx.v);
	return sb_finish(&b, text, err);
}

int bird_render_node(const struct bgp_resources *set, const char *node, char *text[2],
                     struct herr *err)
{
	struct bird_input in;
	int rc;

	text[0] = text[1] = NULL;
	if ((rc = bird_input_build(set, node, &in, err)) < 0)
		return rc;
	for (int f = 0; f < 2 && rc == 0; f++)
		rc = bird_render(&in, (enum bgp_family)f, &text[f], err);
	bird_input_free(&in);
	if (rc < 0) {
		free(text[0]);
		free(text[1]);
		text[0] = text[1] = NULL;
	}
	return rc;
}
