/* test_bird_render.c - bird.cfg / bird6.cfg around the BGPFilter functions:
 * peer resolution (mesh, global, node-scoped, peerSelector), names and the
 * passive rule (D.2), per-peer import/export blocks (D.5, D.6, the eBGP
 * LOCAL_PREF preamble of bird-notes), filter call sites, aggregation (D.6.4),
 * the kernel filters, disabled families, determinism. Every rendered variant
 * must also pass `bird -p` / `bird6 -p` (BIRD 1.6). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "bird/model.h"
#include "bird/render.h"
#include "dataplane/routes.h"
#include "util/yaml_json.h"

static void load(struct bgp_resources *set, const char *yaml)
{
	struct yaml_docs docs = {0};
	struct herr err = {{0}};

	if (yaml_parse(yaml, strlen(yaml), &docs, &err) < 0)
		fail_msg("yaml: %s", err.msg);
	for (size_t i = 0; i < docs.n; i++)
		if (bgp_resources_add(set, docs.v[i], &err) < 0)
			fail_msg("%s", err.msg);
	yaml_docs_free(&docs);
}

/* BIRD itself must accept the text. */
static void assert_bird_parses(const char *text, enum bgp_family family)
{
	char path[] = "/tmp/handoff-test-bird-XXXXXX";
	char cmd[256];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s -p -c %s", family == BGP_V4 ? "bird" : "bird6", path);
	int rc = system(cmd);
	unlink(path);
	if (rc != 0)
		fail_msg("`%s` failed (%d) on:\n%s", cmd, rc, text);
}

static char *render_for(const char *yaml, const char *node, enum bgp_family family)
{
	struct bgp_resources set = {0};
	struct bird_input in;
	struct herr err = {{0}};
	char *text = NULL;

	load(&set, yaml);
	if (bird_input_build(&set, node, &in, &err) < 0)
		fail_msg("build: %s", err.msg);
	assert_int_equal(bird_render(&in, family, &text, &err), 0);
	bird_input_free(&in);
	bgp_resources_free(&set);
	assert_bird_parses(text, family);
	return text;
}

/* The text between "protocol bgp NAME " and the next line that is just "}". */
static char *peer_block(const char *text, const char *name)
{
	char head[128];
	const char *s, *e;

	snprintf(head, sizeof(head), "protocol bgp %s from bgp_template {\n", name);
	s = strstr(text, head);
	if (!s)
		return NULL;
	e = strstr(s, "\n}\n");
	assert_non_null(e);
	return strndup(s, (size_t)(e - s) + 3);
}

static void assert_contains(const char *text, const char *needle)
{
	if (!strstr(text, needle))
		fail_msg("expected to find:\n%s\nin:\n%s", needle, text);
}

static void assert_lacks(const char *text, const char *needle)
{
	if (strstr(text, needle))
		fail_msg("did not expect:\n%s\nin:\n%s", needle, text);
}

#define NODE3                                                                                      \
	"kind: Node\napiVersion: projectcalico.org/v3\nmetadata: {name: kube-master, labels: "     \
	"{rack: r1}}\nspec: {bgp: {ipv4Address: 10.192.0.2/16, ipv6Address: '2001::102/64'}}\n"    \
	"---\nkind: Node\napiVersion: projectcalico.org/v3\nmetadata: {name: kube-node-1, "        \
	"labels: {rack: r1, peer: 'yes'}}\nspec: {bgp: {ipv4Address: 10.192.0.3/16, ipv6Address: " \
	"'2001::103/64'}}\n"                                                                       \
	"---\nkind: Node\napiVersion: projectcalico.org/v3\nmetadata: {name: kube-node-2, "        \
	"labels: {rack: r2}}\nspec: {bgp: {ipv4Address: 10.192.0.10/16, asNumber: 65002}}\n"

static void test_mesh(void **state)
{
	char *t = render_for(NODE3, "kube-master", BGP_V4);
	char *b;

	assert_contains(t, "router id 10.192.0.2;\n");
	assert_contains(t, "  local as 64512;\n");
	/* "10.192.0.3" > "10.192.0.2": passive. "10.192.0.10" < "10.192.0.2"
	 * lexically (not numerically): active. */
	b = peer_block(t, "Mesh_10_192_0_3");
	assert_non_null(b);
	assert_string_equal(b,
	                    "protocol bgp Mesh_10_192_0_3 from bgp_template {\n"
	                    "  neighbor 10.192.0.3 as 64512;\n"
	                    "  source address 10.192.0.2;  # The local address we use for the "
	                    "TCP connection\n"
	                    "  ttl security off;\n"
	                    "  multihop;\n"
	                    "  import filter {\n"
	                    "    if (defined(bgp_local_pref)&&(bgp_local_pref > 2147482623)) then\n"
	                    "      preference = 200;\n"
	                    "    accept;\n"
	                    "  };\n"
	                    "  export filter {\n"
	                    "    if (defined(source) && source = RTS_BGP && "
	                    "defined(bgp_local_pref)) then {\n"
	                    "      krt_metric = 2147483647 - bgp_local_pref;\n"
	                    "    } else {\n"
	                    "      if (!defined(krt_metric)) then { krt_metric = 1024; }\n"
	                    "      bgp_local_pref = 2147483647 - krt_metric;\n"
	                    "    }\n"
	                    "    handoff_export_to_bgp_peers();\n"
	                    "    reject;\n"
	                    "  };  # Only want to export routes for workloads.\n"
	                    "  passive on;\n"
	                    "}\n");
	free(b);
	b = peer_block(t, "Mesh_10_192_0_10");
	assert_non_null(b);
	/* The node's own AS, which differs: eBGP, so LOCAL_PREF starts at normal. */
	assert_contains(b, "  neighbor 10.192.0.10 as 65002;\n");
	assert_contains(b, "  import filter {\n    bgp_local_pref = 2147482623;");
	assert_lacks(b, "passive on;");
	free(b);
	/* Sorted by protocol name. */
	assert_true(strstr(t, "Mesh_10_192_0_10") < strstr(t, "Mesh_10_192_0_3"));
	free(t);

	/* IPv6: only nodes with an IPv6 address; names with '_' for ':'. */
	t = render_for(NODE3, "kube-master", BGP_V6);
	assert_contains(t, "router id 10.192.0.2;\n");
	assert_contains(t, "protocol bgp Mesh_2001__103 from bgp_template {\n"
	                   "  neighbor 2001::103 as 64512;\n"
	                   "  source address 2001::102;");
	assert_lacks(t, "Mesh_10_192");
	free(t);

	/* Mesh off. */
	t = render_for("kind: BGPConfiguration\napiVersion: projectcalico.org/v3\nmetadata: "
	               "{name: default}\nspec: {nodeToNodeMeshEnabled: false}\n---\n" NODE3,
	               "kube-master", BGP_V4);
	assert_lacks(t, "protocol bgp");
	/* As the reference: no protocol heading without protocols. */
	assert_contains(t, "------\n# No v4 BGPFilters configured\n# No BGP peers configured for "
	                   "this node\n");
	assert_lacks(t, "# BGP Protocol Configurations");
	free(t);
}

#define NO_MESH                                                                                    \
	"kind: BGPConfiguration\napiVersion: projectcalico.org/v3\nmetadata: {name: default}\n"    \
	"spec: {nodeToNodeMeshEnabled: false, asNumber: 64512}\n---\n"

#define FILTERS                                                                                    \
	"---\nkind: BGPFilter\napiVersion: projectcalico.org/v3\nmetadata: {name: lm}\nspec:\n"    \
	"  exportV4:\n    - {action: Accept, peerType: eBGP, priority: 512, operations: "          \
	"[{addCommunity: {value: '65000:100'}}]}\n"                                                \
	"  importV4:\n    - {action: Accept, communities: {values: ['65000:100']}, operations: "   \
	"[{setPriority: {value: 512}}]}\n"                                                         \
	"---\nkind: BGPFilter\napiVersion: projectcalico.org/v3\nmetadata: {name: "                \
	"v6only}\nspec:\n"                                                                         \
	"  importV6:\n    - {action: Reject}\n"

static void test_explicit_peers(void **state)
{
	const char *yaml = NO_MESH NODE3 FILTERS
	    "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: tor}\n"
	    "spec: {peerIP: 10.192.0.254, asNumber: 65000, filters: [missing, lm, v6only], "
	    "keepaliveTime: 10s}\n"
	    "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: global-node}\n"
	    "spec: {peerIP: 10.192.0.3, asNumber: 64512, filters: [lm]}\n"
	    "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: scoped}\n"
	    "spec: {node: kube-master, peerIP: '10.192.0.4:1179', asNumber: 64512, localASNumber: "
	    "65111}\n"
	    "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: rack1}\n"
	    "spec: {nodeSelector: rack == 'r1', peerSelector: rack == 'r2'}\n"
	    "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: rack2}\n"
	    "spec: {nodeSelector: rack == 'r2', peerIP: 10.192.0.200, asNumber: 1}\n"
	    "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: other}\n"
	    "spec: {node: kube-node-1, peerIP: 10.192.0.201, asNumber: 1}\n";
	char *t = render_for(yaml, "kube-master", BGP_V4);
	char *b;

	/* Global peerIP, not a node: eBGP. LOCAL_PREF preamble first, then the
	 * filters in the peer's order (missing skipped, v6-only absent in v4),
	 * peerType functions called with false. */
	b = peer_block(t, "Global_10_192_0_254");
	assert_non_null(b);
	assert_contains(b,
	                "  import filter {\n"
	                "    bgp_local_pref = 2147482623;  # eBGP: normal priority unless a "
	                "filter raises it\n"
	                "    'bgp_lm_importFilterV4'();\n"
	                "    if (defined(bgp_local_pref)&&(bgp_local_pref > 2147482623)) then\n");
	assert_contains(b, "    }\n    'bgp_lm_exportFilterV4'(false);\n"
	                   "    handoff_export_to_bgp_peers();\n");
	assert_contains(b, "  keepalive time 10;\n");
	assert_lacks(b, "passive on;");
	assert_lacks(b, "missing");
	free(b);
	/* Global peerIP that is a node with a greater address: passive, iBGP,
	 * call with true and no LOCAL_PREF preamble. */
	b = peer_block(t, "Global_10_192_0_3");
	assert_non_null(b);
	assert_contains(b, "    'bgp_lm_exportFilterV4'(true);\n");
	assert_contains(b, "  import filter {\n    'bgp_lm_importFilterV4'();\n");
	assert_contains(b, "  passive on;\n");
	free(b);
	/* Node-scoped with port and local AS: never passive; sameAS compares the
	 * peer AS with localASNumber (65111 != 64512: eBGP). */
	b = peer_block(t, "Node_10_192_0_4_port_1179");
	assert_non_null(b);
	assert_contains(b, "{\n  local as 65111;\n  neighbor 10.192.0.4 port 1179 as 64512;\n");
	assert_contains(b, "    bgp_local_pref = 2147482623;");
	assert_lacks(b, "passive on;");
	free(b);
	/* nodeSelector + peerSelector: kube-node-2 (rack r2), with its own AS;
	 * peerSelector peers are never passive. */
	b = peer_block(t, "Node_10_192_0_10");
	assert_non_null(b);
	assert_contains(b, "  neighbor 10.192.0.10 as 65002;\n");
	assert_lacks(b, "passive on;");
	free(b);
	/* Peers for other nodes are not rendered. */
	assert_lacks(t, "10.192.0.200");
	assert_lacks(t, "10.192.0.201");
	/* Order: by protocol name. */
	const char *o1 = strstr(t, "protocol bgp Global_10_192_0_254 ");
	const char *o2 = strstr(t, "protocol bgp Global_10_192_0_3 ");
	const char *o3 = strstr(t, "protocol bgp Node_10_192_0_10 ");
	const char *o4 = strstr(t, "protocol bgp Node_10_192_0_4_port_1179 ");
	assert_true(o1 && o2 && o3 && o4);
	assert_true(o1 < o2 && o2 < o3 && o3 < o4);
	free(t);

	/* In bird6 the v6-only filter is called, the v4 one is not. */
	t = render_for(NO_MESH NODE3 FILTERS
	               "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: "
	               "tor6}\nspec: {peerIP: 'fd00::1', asNumber: 65000, filters: [lm, v6only]}\n",
	               "kube-master", BGP_V6);
	b = peer_block(t, "Global_fd00__1");
	assert_non_null(b);
	assert_contains(b, "    bgp_local_pref = 2147482623;  # eBGP: normal priority unless a "
	                   "filter raises it\n    'bgp_v6only_importFilterV6'();\n");
	assert_lacks(b, "bgp_lm_");
	free(b);
	free(t);
}

/* The BGPPeer session options, in the reference's line order. */
static void test_peer_options(void **state)
{
	char *t = render_for(
	    NO_MESH NODE3 "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\n"
	                  "metadata: {name: o}\nspec: {peerIP: 10.192.0.99, asNumber: 65000, "
	                  "sourceAddress: None, ttlSecurity: 2, maxRestartTime: 2m, keepaliveTime: "
	                  "20s, keepOriginalNextHop: true, numAllowedLocalASNumbers: 1}\n"
	                  "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\n"
	                  "metadata: {name: s}\nspec: {peerIP: 10.192.0.98, asNumber: 64512, "
	                  "nextHopMode: Self, keepOriginalNextHop: false}\n"
	                  "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\n"
	                  "metadata: {name: k}\nspec: {peerIP: 10.192.0.97, asNumber: 64512, "
	                  "keepOriginalNextHop: true}\n",
	    "kube-master", BGP_V4);
	char *b = peer_block(t, "Global_10_192_0_99");

	assert_non_null(b);
	assert_contains(b, "  neighbor 10.192.0.99 as 65000;\n  ttl security on;\n  multihop 2;\n"
	                   "  import filter {\n");
	assert_lacks(b, "source address");
	assert_contains(b, "  };  # Only want to export routes for workloads.\n"
	                   "  graceful restart time 120;\n"
	                   "  keepalive time 20;\n"
	                   "  next hop keep;\n"
	                   "  allow local as 1;\n"
	                   "}\n");
	free(b);
	b = peer_block(t, "Global_10_192_0_98");
	assert_contains(b, "  next hop self;\n}\n");
	free(b);
	/* keepOriginalNextHop is honoured for eBGP only. */
	b = peer_block(t, "Global_10_192_0_97");
	assert_lacks(b, "next hop");
	free(b);
	free(t);
}

/* One session per neighbour: explicit peers shadow the mesh (handoff's
 * deliberate difference), and a global BGPPeer wins over a node-scoped one to
 * the same address and port (the reference's rule). */
static void test_shadowed_peers(void **state)
{
	char *t = render_for(
	    NODE3 "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\n"
	          "metadata: {name: g}\nspec: {peerIP: 10.192.0.3, asNumber: 64512, "
	          "filters: [lm]}\n"
	          "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\n"
	          "metadata: {name: g2}\nspec: {peerIP: 10.192.0.10, asNumber: 65002}\n"
	          "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\n"
	          "metadata: {name: n}\nspec: {node: kube-master, peerIP: 10.192.0.10, "
	          "asNumber: 65002}\n"
	          "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\n"
	          "metadata: {name: self}\nspec: {peerIP: 10.192.0.2, asNumber: 1}\n" FILTERS,
	    "kube-master", BGP_V4);

	assert_contains(t, "protocol bgp Global_10_192_0_3 from bgp_template {\n");
	assert_contains(t, "    'bgp_lm_exportFilterV4'(true);\n");
	assert_lacks(t, "Mesh_10_192_0_3");
	assert_contains(t, "protocol bgp Global_10_192_0_10 from bgp_template {\n");
	assert_lacks(t, "Node_10_192_0_10");
	assert_lacks(t, "Mesh_10_192_0_10");
	assert_lacks(t, "neighbor 10.192.0.2 ");
	free(t);
}

static void test_normal_priority(void **state)
{
	char *t = render_for("kind: BGPConfiguration\napiVersion: projectcalico.org/v3\nmetadata: "
	                     "{name: default}\nspec: {ipv4NormalRoutePriority: 5000, "
	                     "ipv6NormalRoutePriority: 80}\n---\n" NODE3
	                     "---\nkind: BlockAffinity\napiVersion: crd.projectcalico.org/v1\n"
	                     "metadata: {name: b1}\nspec: {cidr: 10.0.0.0/30, node: kube-master}\n",
	                     "kube-master", BGP_V4);

	assert_contains(t, "(bgp_local_pref > 2147478647)) then\n");
	assert_contains(t, "      if (!defined(krt_metric)) then { krt_metric = 5000; }\n");
	assert_contains(t, "  if ( net ~ 10.0.0.0/30 && krt_metric < 5000 ) then { accept; }\n");
	assert_contains(t, "      krt_metric = 5000;\n");
	assert_contains(t, "      if (krt_metric < 5000) then {\n");
	assert_contains(t, "  if ( defined(krt_metric) && krt_metric < 5000 ) then { preference = "
	                   "200; }\n");
	assert_lacks(t, "1024");
	free(t);
	t = render_for("kind: BGPConfiguration\napiVersion: projectcalico.org/v3\nmetadata: "
	               "{name: default}\nspec: {ipv6NormalRoutePriority: 80}\n---\n" NODE3,
	               "kube-master", BGP_V6);
	assert_contains(t, "(bgp_local_pref > 2147483567)) then\n");
	free(t);
}

/* listenPort: BIRD listens there, and mesh peers (the same configuration
 * everywhere) are reached there; a mesh protocol's name never carries the
 * port (the reference's naming). */
static void test_listen_port(void **state)
{
	char *t = render_for("kind: BGPConfiguration\napiVersion: projectcalico.org/v3\nmetadata: "
	                     "{name: default}\nspec: {listenPort: 1179}\n---\n" NODE3,
	                     "kube-master", BGP_V4);

	assert_contains(t, "router id 10.192.0.2;\nlisten bgp port 1179;\n");
	assert_contains(t, "protocol bgp Mesh_10_192_0_3 from bgp_template {\n"
	                   "  neighbor 10.192.0.3 port 1179 as 64512;\n");
	free(t);
	/* A node-specific BGPConfiguration overrides it for that node. */
	t = render_for(
	    "kind: BGPConfiguration\napiVersion: projectcalico.org/v3\nmetadata: "
	    "{name: default}\nspec: {listenPort: 1179}\n---\n"
	    "kind: BGPConfiguration\napiVersion: projectcalico.org/v3\nmetadata: "
	    "{name: node.kube-master}\nspec: {listenPort: 2179, asNumber: 65009}\n---\n" NODE3,
	    "kube-master", BGP_V4);
	assert_contains(t, "listen bgp port 2179;\n");
	assert_contains(t, "  local as 65009;\n");
	/* ... and the other nodes, which listen on 1179, are reached there. */
	assert_contains(t, "  neighbor 10.192.0.3 port 1179 as 64512;\n");
	free(t);
	/* kube-master reaches kube-node-1 at kube-node-1's own port and AS. */
	t = render_for(
	    "kind: BGPConfiguration\napiVersion: projectcalico.org/v3\nmetadata: "
	    "{name: default}\nspec: {listenPort: 1179}\n---\n"
	    "kind: BGPConfiguration\napiVersion: projectcalico.org/v3\nmetadata: "
	    "{name: node.kube-node-1}\nspec: {listenPort: 2179, asNumber: 65009}\n---\n" NODE3,
	    "kube-master", BGP_V4);
	assert_contains(t, "listen bgp port 1179;\n");
	assert_contains(t, "protocol bgp Mesh_10_192_0_3 from bgp_template {\n"
	                   "  neighbor 10.192.0.3 port 2179 as 65009;\n");
	free(t);
}

static void test_aggregation(void **state)
{
	const char *yaml = NODE3
	    "---\nkind: BlockAffinity\napiVersion: crd.projectcalico.org/v1\nmetadata: {name: "
	    "a}\nspec: {cidr: 192.168.221.64/26, node: kube-master, state: confirmed}\n"
	    "---\nkind: BlockAffinity\napiVersion: crd.projectcalico.org/v1\nmetadata: {name: "
	    "b}\nspec: {cidr: 192.168.221.0/26, node: kube-master, state: pending}\n"
	    "---\nkind: BlockAffinity\napiVersion: crd.projectcalico.org/v1\nmetadata: {name: "
	    "c}\nspec: {cidr: 10.2.0.1/32, node: kube-master}\n"
	    "---\nkind: BlockAffinity\napiVersion: crd.projectcalico.org/v1\nmetadata: {name: "
	    "d}\nspec: {cidr: 10.0.0.0/30, node: kube-master, state: ''}\n"
	    "---\nkind: BlockAffinity\napiVersion: crd.projectcalico.org/v1\nmetadata: {name: "
	    "e}\nspec: {cidr: 10.9.0.0/24, node: kube-node-1}\n"
	    "---\nkind: BlockAffinity\napiVersion: crd.projectcalico.org/v1\nmetadata: {name: "
	    "f}\nspec: {cidr: 10.8.0.0/24, node: kube-master, state: releasing}\n"
	    "---\nkind: BlockAffinity\napiVersion: crd.projectcalico.org/v1\nmetadata: {name: "
	    "g}\nspec: {cidr: 10.7.0.0/24, node: kube-master, deleted: 'true'}\n"
	    "---\nkind: BlockAffinity\napiVersion: crd.projectcalico.org/v1\nmetadata: {name: "
	    "h}\nspec: {cidr: 'fd00:1::/122', node: kube-master}\n";
	char *t = render_for(yaml, "kube-master", BGP_V4);

	/* Sorted by CIDR text; pending, deleted and other nodes' blocks absent; a
	 * /32 gets rules but no blackhole; another state gets only its comment. */
	assert_contains(t, "protocol static handoff_blocks {\n"
	                   "  route 10.0.0.0/30 blackhole;\n"
	                   "  route 192.168.221.64/26 blackhole;\n"
	                   "}\n");
	assert_contains(t,
	                "function handoff_aggr ()\n{\n"
	                "  # Block 10.0.0.0/30 is implicitly confirmed.\n"
	                "  if ( net = 10.0.0.0/30 ) then { accept; }\n"
	                "  if ( net ~ 10.0.0.0/30 && krt_metric < 1024 ) then { accept; }\n"
	                "  if ( net ~ 10.0.0.0/30 ) then { reject; }\n"
	                "  # Block 10.2.0.1/32 is implicitly confirmed.\n"
	                "  if ( net = 10.2.0.1/32 ) then { accept; }\n"
	                "  if ( net ~ 10.2.0.1/32 && krt_metric < 1024 ) then { accept; }\n"
	                "  if ( net ~ 10.2.0.1/32 ) then { reject; }\n"
	                "  # Block 10.8.0.0/24 is releasing\n"
	                "  # Block 192.168.221.64/26 is confirmed\n"
	                "  if ( net = 192.168.221.64/26 ) then { accept; }\n"
	                "  if ( net ~ 192.168.221.64/26 && krt_metric < 1024 ) then { accept; }\n"
	                "  if ( net ~ 192.168.221.64/26 ) then { reject; }\n"
	                "}\n");
	assert_lacks(t, "192.168.221.0/26");
	assert_lacks(t, "10.9.0.0");
	assert_lacks(t, "10.7.0.0");
	assert_lacks(t, "fd00:1::");
	/* The export policy runs aggregation before accepting workload routes. */
	assert_contains(t, "function handoff_export_to_bgp_peers()\n{\n  handoff_aggr();\n");
	free(t);

	t = render_for(yaml, "kube-master", BGP_V6);
	assert_contains(t, "  route fd00:1::/122 blackhole;\n");
	assert_contains(t, "  if ( net ~ fd00:1::/122 && krt_metric < 1024 ) then { accept; }\n");
	assert_lacks(t, "10.0.0.0/30");
	free(t);

	/* A core/v1 Node's pod CIDRs are blocks too. */
	t = render_for("apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nspec: {podCIDRs: "
	               "[10.244.1.0/24]}\nstatus: {addresses: [{type: InternalIP, address: "
	               "10.0.0.11}]}\n",
	               "n1", BGP_V4);
	assert_contains(t, "  route 10.244.1.0/24 blackhole;\n");
	assert_contains(t, "  # Block 10.244.1.0/24 is implicitly confirmed.\n");
	free(t);
}

static void test_kernel_and_families(void **state)
{
	char *t = render_for(NODE3, "kube-node-2", BGP_V4);

	/* Workload routes only (protocol 88), never link-local; elevated ones
	 * preference 200; BGP routes into the kernel at their LOCAL_PREF metric. */
	assert_contains(t, "filter handoff_kernel_import {\n"
	                   "  if ( net ~ 169.254.0.0/16 ) then { reject; }\n"
	                   "  if ( krt_source != 88 ) then { reject; }\n"
	                   "  if ( defined(krt_metric) && krt_metric < 1024 ) then { preference = "
	                   "200; }\n"
	                   "  accept;\n}\n");
	assert_contains(t, "          krt_metric = 2147483647 - bgp_local_pref;\n");
	assert_contains(t, "  import filter handoff_kernel_import;\n"
	                   "  export filter handoff_kernel_programming;\n");
	assert_contains(t, "protocol device {\n");
	assert_contains(t, "protocol direct {\n");
	assert_contains(t, "    if ( defined(krt_source) && krt_source = 88 ) then { accept; }\n");
	assert_contains(t, "  local as 65002;\n");
	free(t);

	/* kube-node-2 has no IPv6 address: no BGP at all in bird6.cfg. */
	t = render_for(NODE3, "kube-node-2", BGP_V6);
	assert_contains(t, "  if ( net ~ fe80::/10 ) then { reject; }\n");
	assert_contains(t, "# IPv6 disabled on this node.\n");
	assert_lacks(t, "template bgp");
	assert_lacks(t, "protocol bgp");
	free(t);

	/* No IPv4 address: a router id hashed from the name, stable. */
	const char *v6only = "kind: Node\napiVersion: projectcalico.org/v3\nmetadata: {name: n6}\n"
	                     "spec: {bgp: {ipv6Address: 'fd00::6'}}\n";
	t = render_for(v6only, "n6", BGP_V6);
	char *t2 = render_for(v6only, "n6", BGP_V4);
	assert_lacks(t, "router id 0.0.0.0");
	const char *rid = strstr(t, "router id ");
	assert_non_null(rid);
	char *line = strndup(rid, (size_t)(strchr(rid, '\n') - rid));
	assert_contains(t2, line);
	free(line);
	assert_contains(t2, "# IPv4 disabled on this node.\n");
	free(t);
	free(t2);
}

/* BIRD learns exactly the routes the route syncer programs. */
_Static_assert(BIRD_WORKLOAD_RT_PROTO == HANDOFF_RTPROT, "workload route protocol numbers differ");

static void test_errors(void **state)
{
	struct bgp_resources set = {0};
	struct bird_input in;
	struct herr err = {{0}};

	load(&set, NODE3 "---\napiVersion: v1\nkind: Node\nmetadata: {name: bare}\n");
	assert_int_equal(bird_input_build(&set, "nobody", &in, &err), -ENOENT);
	assert_string_equal(err.msg, "Node nobody: not found among the resources");
	assert_int_equal(bird_input_build(&set, "bare", &in, &err), -EINVAL);
	assert_string_equal(err.msg, "Node bare: no IPv4 or IPv6 address (spec.bgp, the "
	                             "projectcalico.org/IPv4Address annotation or an InternalIP)");
	char *text[2] = {(char *)"x", (char *)"y"};
	assert_int_equal(bird_render_node(&set, "nobody", text, &err), -ENOENT);
	assert_null(text[0]);
	assert_null(text[1]);
	assert_int_equal(bird_render_node(&set, "kube-master", text, &err), 0);
	assert_non_null(strstr(text[0], "router id 10.192.0.2;\n"));
	assert_non_null(strstr(text[1], "  neighbor 2001::103 as 64512;\n"));
	free(text[0]);
	free(text[1]);
	bgp_resources_free(&set);
}

/* Same resources in another order: the same bytes. */
static void test_deterministic(void **state)
{
	const char *a = NODE3 FILTERS
	    "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: p1}\n"
	    "spec: {peerIP: 10.192.0.254, asNumber: 65000, filters: [lm]}\n"
	    "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: p2}\n"
	    "spec: {peerIP: 10.192.0.253, asNumber: 65000}\n"
	    "---\nkind: BlockAffinity\napiVersion: crd.projectcalico.org/v1\nmetadata: {name: x}\n"
	    "spec: {cidr: 10.1.0.0/24, node: kube-master}\n"
	    "---\nkind: BlockAffinity\napiVersion: crd.projectcalico.org/v1\nmetadata: {name: y}\n"
	    "spec: {cidr: 10.0.0.0/24, node: kube-master}\n";
	const char *b =
	    "kind: BlockAffinity\napiVersion: crd.projectcalico.org/v1\nmetadata: {name: y}\n"
	    "spec: {cidr: 10.0.0.0/24, node: kube-master}\n"
	    "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: p2}\n"
	    "spec: {peerIP: 10.192.0.253, asNumber: 65000}\n"
	    "---\nkind: BlockAffinity\napiVersion: crd.projectcalico.org/v1\nmetadata: {name: x}\n"
	    "spec: {cidr: 10.1.0.0/24, node: kube-master}\n"
	    "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: p1}\n"
	    "spec: {peerIP: 10.192.0.254, asNumber: 65000, filters: [lm]}\n"
	    "---\n" NODE3 FILTERS;

	for (int f = 0; f < 2; f++) {
		char *x = render_for(a, "kube-master", (enum bgp_family)f);
		char *y = render_for(b, "kube-master", (enum bgp_family)f);
		assert_string_equal(x, y);
		free(x);
		free(y);
	}
}

/* A reflector (spec.bgp.routeReflectorClusterID): its iBGP peers outside its
 * cluster are clients, the mesh is off on it and towards it; passwords come
 * from Secrets; bindMode NodeIP; reachableBy host routes. */
#define RR_SET                                                                                     \
	"kind: BGPConfiguration\napiVersion: projectcalico.org/v3\nmetadata: {name: default}\n"    \
	"spec: {bindMode: NodeIP, nodeMeshMaxRestartTime: 90s, nodeMeshPassword: {secretKeyRef: "  \
	"{name: bgp, key: mesh}}}\n"                                                               \
	"---\nkind: Secret\napiVersion: v1\nmetadata: {name: bgp, namespace: handoff}\n"           \
	"data: {mesh: bWVcc2g=, quote: YSJi, bin: AAEC}\nstringData: {tor: s3cret, long: "         \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx}\n"     \
	"---\nkind: Node\napiVersion: projectcalico.org/v3\nmetadata: {name: rr1, labels: {rr: "   \
	"'true'}}\nspec: {bgp: {ipv4Address: 10.0.0.1/24, routeReflectorClusterID: 1.2.3.4}}\n"    \
	"---\nkind: Node\napiVersion: projectcalico.org/v3\nmetadata: {name: rr2, labels: {rr: "   \
	"'true'}}\nspec: {bgp: {ipv4Address: 10.0.0.2/24, routeReflectorClusterID: 1.2.3.4}}\n"    \
	"---\nkind: Node\napiVersion: projectcalico.org/v3\nmetadata: {name: c1}\n"                \
	"spec: {bgp: {ipv4Address: 10.0.0.11/24}}\n"                                               \
	"---\nkind: Node\napiVersion: projectcalico.org/v3\nmetadata: {name: c2}\n"                \
	"spec: {bgp: {ipv4Address: 10.0.0.12/24}}\n"                                               \
	"---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: to-rr}\n"          \
	"spec: {nodeSelector: all(), peerSelector: rr == 'true'}\n"                                \
	"---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: tor}\n"            \
	"spec: {nodeSelector: rr == 'true', peerIP: 192.0.2.1, asNumber: 65000, reachableBy: "     \
	"10.0.0.254, password: {secretKeyRef: {name: bgp, key: tor}}}\n"

static void test_route_reflector(void **state)
{
	char *t = render_for(RR_SET, "rr1", BGP_V4), *b;

	assert_contains(t, "listen bgp address 10.0.0.1;\n");
	/* Clients (reverse peerings of to-rr): rr client; the other reflector
	 * (same cluster) is a plain iBGP peer; no mesh on a reflector. */
	b = peer_block(t, "Node_10_0_0_11");
	assert_contains(b, "  rr client;\n  rr cluster id 1.2.3.4;\n}\n");
	assert_lacks(b, "password");
	free(b);
	assert_non_null(b = peer_block(t, "Node_10_0_0_12"));
	free(b);
	b = peer_block(t, "Node_10_0_0_2");
	assert_lacks(b, "rr client");
	free(b);
	assert_lacks(t, "Mesh_");
	/* eBGP ToR: password, no rr client; host route via reachableBy. */
	b = peer_block(t, "Node_192_0_2_1");
	assert_contains(b, "  password \"s3cret\";\n}\n");
	assert_lacks(b, "rr client");
	free(b);
	assert_contains(t, "protocol static handoff_peer_routes {\n  route 192.0.2.1/32 via "
	                   "10.0.0.254;\n}\n");
	free(t);

	/* A client: sessions to both reflectors, none to the other client (the
	 * mesh skips reflectors, and is otherwise on, with its password and
	 * restart time; a backslash is an ordinary character for BIRD 1.6). */
	t = render_for(RR_SET, "c1", BGP_V4);
	assert_non_null(b = peer_block(t, "Node_10_0_0_1"));
	assert_lacks(b, "rr client");
	free(b);
	assert_non_null(b = peer_block(t, "Node_10_0_0_2"));
	free(b);
	assert_lacks(t, "Mesh_10_0_0_1 ");
	b = peer_block(t, "Mesh_10_0_0_12");
	assert_contains(b, "  passive on;\n  graceful restart time 90;\n  password "
	                   "\"me\\sh\";\n}\n");
	free(b);
	assert_lacks(t, "handoff_peer_routes");
	free(t);
}

static void test_missing_secret(void **state)
{
	struct bgp_resources set = {0};
	struct yaml_docs docs = {0};
	struct bird_input in;
	struct herr err = {{0}};

	assert_int_equal(yaml_parse(RR_SET, strlen(RR_SET), &docs, &err), 0);
	for (size_t i = 0; i < docs.n; i++)
		assert_true(bgp_resources_add(&set, docs.v[i], &err) >= 0);
	yaml_docs_free(&docs);
	/* In another namespace than the watcher's: not used. */
	set.secret_namespace = "kube-system";
	assert_int_equal(bird_input_build(&set, "c1", &in, &err), 0);
	assert_string_equal(in.missing_secret, "bgp");
	for (size_t i = 0; i < in.npeers; i++)
		assert_null(in.peers[i].password);
	bird_input_free(&in);
	set.secret_namespace = "handoff";
	assert_int_equal(bird_input_build(&set, "c1", &in, &err), 0);
	assert_null(in.missing_secret);
	bird_input_free(&in);
	/* A value with a double quote cannot be a BIRD 1.6 string. */
	free(set.configs[0].mesh_password.key);
	set.configs[0].mesh_password.key = strdup("quote");
	assert_int_equal(bird_input_build(&set, "c1", &in, &err), 0);
	assert_string_equal(in.missing_secret, "bgp");
	bird_input_free(&in);
	/* Nor binary data (the Secret itself is accepted: a namespace may
	 * hold other Secrets). */
	free(set.configs[0].mesh_password.key);
	set.configs[0].mesh_password.key = strdup("bin");
	assert_int_equal(bird_input_build(&set, "c1", &in, &err), 0);
	assert_string_equal(in.missing_secret, "bgp");
	bird_input_free(&in);
	/* Nor one longer than a TCP MD5 key (80 bytes). */
	free(set.configs[0].mesh_password.key);
	set.configs[0].mesh_password.key = strdup("long");
	assert_int_equal(bird_input_build(&set, "c1", &in, &err), 0);
	assert_string_equal(in.missing_secret, "bgp");
	bird_input_free(&in);
	/* The Secret removed: the sessions lose the password, and say why. */
	assert_int_equal(bgp_resources_remove(&set, "Secret", "handoff/bgp"), 1);
	assert_int_equal(bird_input_build(&set, "rr1", &in, &err), 0);
	assert_string_equal(in.missing_secret, "bgp");
	bird_input_free(&in);
	bgp_resources_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mesh),
	    cmocka_unit_test(test_explicit_peers),
	    cmocka_unit_test(test_peer_options),
	    cmocka_unit_test(test_shadowed_peers),
	    cmocka_unit_test(test_normal_priority),
	    cmocka_unit_test(test_listen_port),
	    cmocka_unit_test(test_aggregation),
	    cmocka_unit_test(test_kernel_and_families),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_deterministic),
	    cmocka_unit_test(test_route_reflector),
	    cmocka_unit_test(test_missing_secret),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
