/* bird/blame.c - from a line of a rendered configuration back to the BGP
 * resources it was rendered from (blame.h). The markers relied on are the
 * block openings render.c writes at the start of a line. */
#include "bird/blame.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bird/render.h"

unsigned bird_error_line(const char *msg, const char *file_suffix)
{
	const char *p = msg;

	while ((p = strstr(p, file_suffix))) {
		p += strlen(file_suffix);
		if (*p == ':' && p[1] >= '0' && p[1] <= '9')
			return (unsigned)strtoul(p + 1, NULL, 10);
	}
	return 0;
}

struct names {
	char (*v)[300];
	size_t n, max;
};

static void add(struct names *o, const char *kind, const char *name)
{
	char s[300];

	snprintf(s, sizeof(s), "%s %s", kind, name);
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->v[i], s))
			return;
	if (o->n < o->max)
		snprintf(o->v[o->n++], 300, "%s", s);
}

/* The filters whose function names `line` mentions. */
static void filters_called(const struct bgp_resources *set, const char *line, struct names *o)
{
	for (size_t i = 0; i < set->nfilters; i++)
		for (int d = 0; d < 2; d++)
			for (int f = 0; f < 2; f++) {
				char fn[68], q[70];
				bird_filter_function_name(set->filters[i].name, (enum bgp_dir)d,
				                          (enum bgp_family)f, fn);
				snprintf(q, sizeof(q), "'%s'", fn);
				if (strstr(line, q))
					add(o, "BGPFilter", set->filters[i].name);
			}
}

/* The objects behind protocol `proto` (a bird_peer_name()). */
static void peer_objects(const struct bgp_resources *set, const char *node, const char *proto,
                         struct names *o)
{
	struct bird_input in;
	const struct bird_peer *p = NULL;

	if (bird_input_build(set, node, &in, NULL) < 0)
		return;
	for (size_t i = 0; i < in.npeers && !p; i++) {
		char name[80];
		bird_peer_name(&in.peers[i], name);
		if (!strcmp(name, proto))
			p = &in.peers[i];
	}
	if (p) {
		bool direct = false;
		for (size_t i = 0; p->kind != BIRD_PEER_MESH && i < set->npeers; i++)
			if (set->peers[i].peer_ip && !strcmp(set->peers[i].peer_ip, p->ip) &&
			    set->peers[i].port == p->port) {
				add(o, "BGPPeer", set->peers[i].name);
				direct = true;
			}
		for (size_t i = 0; i < set->nnodes; i++)
			for (int f = 0; f < 2; f++)
				if (set->nodes[i].addr[f] && !strcmp(set->nodes[i].addr[f], p->ip))
					add(o, "Node", set->nodes[i].name);
		for (size_t i = 0; !direct && p->kind != BIRD_PEER_MESH && i < set->npeers; i++)
			if (set->peers[i].peer_selector)
				add(o, "BGPPeer", set->peers[i].name);
	}
	bird_input_free(&in);
}

/* The blocks a line names: BlockAffinities and Nodes' podCIDRs. */
static void block_objects(const struct bgp_resources *set, const char *node, const char *line,
                          struct names *o)
{
	for (size_t i = 0; i < set->naffinities; i++) {
		const char *c = set->affinities[i].cidr, *hit = strstr(line, c);
		if (!strcmp(set->affinities[i].node, node) && hit &&
		    !strchr("0123456789abcdef:./", hit[strlen(c)] ? hit[strlen(c)] : '#'))
			add(o, "BlockAffinity", set->affinities[i].name);
	}
	const struct bgp_node *me = bgp_resources_node(set, node);
	for (size_t i = 0; me && i < me->npod_cidrs; i++) {
		const char *c = me->pod_cidrs[i], *hit = strstr(line, c);
		if (hit && !strchr("0123456789abcdef:./", hit[strlen(c)] ? hit[strlen(c)] : '#'))
			add(o, "Node", me->name);
	}
}

static void node_objects(const struct bgp_resources *set, const char *node, struct names *o)
{
	char name[300];

	add(o, "Node", node);
	snprintf(name, sizeof(name), "node.%s", node);
	for (size_t i = 0; i < set->nconfigs; i++)
		if (!strcmp(set->configs[i].name, "default") || !strcmp(set->configs[i].name, name))
			add(o, "BGPConfiguration", set->configs[i].name);
}

size_t bird_blame(const struct bgp_resources *set, const char *node, const char *text,
                  unsigned line, char (*names)[300], size_t max)
{
	struct names o = {names, 0, max};
	const char **starts;
	size_t nlines = 1;
	char the_line[1024];

	if (!line)
		return 0;
	for (const char *p = text; *p; p++)
		nlines += *p == '\n';
	if (line > nlines)
		return 0;
	starts = calloc(nlines + 1, sizeof(*starts));
	if (!starts)
		return 0;
	nlines = 0;
	starts[nlines++] = text;
	for (const char *p = text; *p; p++)
		if (*p == '\n')
			starts[nlines++] = p + 1;
#define LINE_TEXT(i, buf)                                                                          \
	snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(starts[i], "\n"), starts[i])
	LINE_TEXT(line - 1, the_line);
	for (size_t i = line; i-- > 0;) {
		char l[1024];
		LINE_TEXT(i, l);
		if (!strncmp(l, "protocol bgp ", 13)) {
			char proto[80];
			if (sscanf(l + 13, "%79s", proto) == 1)
				peer_objects(set, node, proto, &o);
			filters_called(set, the_line, &o);
			break;
		}
		if (!strncmp(l, "function 'bgp_", 14)) {
			filters_called(set, l, &o);
			break;
		}
		if (!strncmp(l, "protocol static handoff_blocks", 30) ||
		    !strncmp(l, "function handoff_aggr", 21)) {
			block_objects(set, node, the_line, &o);
			break;
		}
		if (!strncmp(l, "template bgp", 12) || !strncmp(l, "router id", 9) ||
		    !strncmp(l, "listen bgp", 10)) {
			node_objects(set, node, &o);
			break;
		}
		if (l[0] && !strchr(" #{}", l[0]) && i + 1 != line)
			break; /* another top-level block: nothing of ours */
	}
#undef LINE_TEXT
	free(starts);
	return o.n;
}
