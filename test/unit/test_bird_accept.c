/* test_bird_accept.c - issue 9 section 3: values BIRD 1.6 would refuse (and
 * so make it refuse the whole file) are rejected when an object is decoded,
 * with a message naming the object, the field and the rule; addresses are
 * canonicalised so that two spellings of one address are one neighbour.
 * What BIRD 1.6.8 does with each value was measured with `bird -p` (see
 * test/bird/test_bird_accept.sh, which runs BIRD on the rendered forms). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "bird/model.h"
#include "bird/render.h"
#include "util/yaml_json.h"

static json_t *parse1(const char *yaml)
{
	struct yaml_docs docs = {0};
	struct herr err = {{0}};

	if (yaml_parse(yaml, strlen(yaml), &docs, &err) < 0)
		fail_msg("yaml: %s\n%s", err.msg, yaml);
	assert_int_equal(docs.n, 1);
	json_t *o = docs.v[0];
	free(docs.v);
	return o;
}

static void assert_rejected(const char *yaml, const char *msg)
{
	struct bgp_resources set = {0};
	struct herr err = {{0}};
	json_t *o = parse1(yaml);

	if (bgp_resources_add(&set, o, &err) != -EINVAL)
		fail_msg("accepted:\n%s", yaml);
	if (strcmp(err.msg, msg))
		fail_msg("input:\n%s\n  message:  %s\n  expected: %s", yaml, err.msg, msg);
	assert_int_equal(set.nfilters + set.npeers + set.nconfigs + set.nnodes + set.naffinities,
	                 0);
	json_decref(o);
}

/* Add every document of `yaml` to `set`; each must be accepted. */
static void add_all(struct bgp_resources *set, const char *yaml)
{
	struct yaml_docs docs = {0};
	struct herr err = {{0}};

	if (yaml_parse(yaml, strlen(yaml), &docs, &err) < 0)
		fail_msg("yaml: %s", err.msg);
	for (size_t i = 0; i < docs.n; i++)
		if (bgp_resources_add(set, docs.v[i], &err) != 1)
			fail_msg("document %zu rejected: %s", i + 1, err.msg);
	yaml_docs_free(&docs);
}

#define FILTER_RULE(rule)                                                                          \
	"kind: BGPFilter\napiVersion: projectcalico.org/v3\nmetadata: {name: f}\n"                 \
	"spec:\n  exportV4:\n    - " rule "\n"
#define FILTER6_RULE(rule)                                                                         \
	"kind: BGPFilter\napiVersion: projectcalico.org/v3\nmetadata: {name: f}\n"                 \
	"spec:\n  importV6:\n    - " rule "\n"
#define PEER(spec)                                                                                 \
	"kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: p}\nspec: " spec "\n"
#define NODE_V3(bgp)                                                                               \
	"kind: Node\napiVersion: projectcalico.org/v3\nmetadata: {name: n1}\nspec: {bgp: " bgp "}" \
	"\n"
#define NODE_V1_MD(md, rest) "kind: Node\napiVersion: v1\nmetadata: " md "\n" rest
#define NODE_V1(rest)        "kind: Node\napiVersion: v1\nmetadata: {name: n1}\n" rest
#define AFFINITY(cidr)                                                                             \
	"kind: BlockAffinity\napiVersion: crd.projectcalico.org/v1\nmetadata: {name: b}\nspec: "   \
	"{node: n1, cidr: '" cidr "'}\n"
#define BGPCONFIG(spec)                                                                            \
	"kind: BGPConfiguration\napiVersion: projectcalico.org/v3\nmetadata: {name: "              \
	"default}\nspec: " spec "\n"

/* BIRD: "Invalid network prefix: 10.0.0.1/8." for the whole file. */
static void test_cidr_host_bits_rejected(void **state)
{
	(void)state;
	assert_rejected(FILTER_RULE("{action: Accept, matchOperator: In, cidr: 10.0.0.1/8}"),
	                "BGPFilter f: spec.exportV4[0].cidr: \"10.0.0.1/8\" has host bits set "
	                "(the network is 10.0.0.0/8)");
	assert_rejected(FILTER6_RULE("{action: Accept, matchOperator: Equal, cidr: 'fd00::1/64'}"),
	                "BGPFilter f: spec.importV6[0].cidr: \"fd00::1/64\" has host bits set "
	                "(the network is fd00::/64)");
	assert_rejected(AFFINITY("10.1.2.3/26"),
	                "BlockAffinity b: spec.cidr: \"10.1.2.3/26\" has host bits set (the "
	                "network is 10.1.2.0/26)");
	assert_rejected(NODE_V1("spec: {podCIDRs: ['10.244.1.7/24']}\n"),
	                "Node n1: spec.podCIDRs[0]: \"10.244.1.7/24\" has host bits set (the "
	                "network is 10.244.1.0/24)");
	assert_rejected(NODE_V1("spec: {podCIDR: '10.244.1.7/24'}\n"),
	                "Node n1: spec.podCIDR: \"10.244.1.7/24\" has host bits set (the "
	                "network is 10.244.1.0/24)");
}

/* A default route as a block would make the node announce 0.0.0.0/0. */
static void test_default_route_block_rejected(void **state)
{
	(void)state;
	assert_rejected(NODE_V1("spec: {podCIDRs: ['0.0.0.0/0']}\n"),
	                "Node n1: spec.podCIDRs[0]: \"0.0.0.0/0\" is a default route, not a "
	                "block of pod addresses");
	assert_rejected(NODE_V1("spec: {podCIDRs: ['10.1.0.0/24', '::/0']}\n"),
	                "Node n1: spec.podCIDRs[1]: \"::/0\" is a default route, not a block of "
	                "pod addresses");
	assert_rejected(AFFINITY("0.0.0.0/0"), "BlockAffinity b: spec.cidr: \"0.0.0.0/0\" is a "
	                                       "default route, not a block of pod addresses");
	/* In a filter, 0.0.0.0/0 is "every route" and fine. */
	struct bgp_resources set = {0};
	add_all(&set, FILTER_RULE("{action: Accept, matchOperator: In, cidr: 0.0.0.0/0}"));
	bgp_resources_free(&set);
}

/* BIRD: "Local AS number must be set" / "Remote AS number must be set";
 * RFC 7607 forbids AS 0 in a path. */
static void test_as_zero_rejected(void **state)
{
	(void)state;
	assert_rejected(PEER("{peerIP: 10.0.0.9, asNumber: 0}"),
	                "BGPPeer p: spec.asNumber: AS number 0 is reserved (RFC 7607); BIRD "
	                "refuses it (1..4294967295)");
	assert_rejected(PEER("{peerIP: 10.0.0.9, asNumber: 65001, localASNumber: '0'}"),
	                "BGPPeer p: spec.localASNumber: AS number 0 is reserved (RFC 7607); BIRD "
	                "refuses it (1..4294967295)");
	assert_rejected(BGPCONFIG("{asNumber: 0}"),
	                "BGPConfiguration default: spec.asNumber: AS number 0 is reserved (RFC "
	                "7607); BIRD refuses it (1..4294967295)");
	assert_rejected(NODE_V3("{ipv4Address: 10.0.0.1/24, asNumber: 0}"),
	                "Node n1: spec.bgp.asNumber: AS number 0 is reserved (RFC 7607); BIRD "
	                "refuses it (1..4294967295)");
	assert_rejected(
	    NODE_V1_MD("{name: n1, annotations: {projectcalico.org/ASNumber: '0.0'}}", ""),
	    "Node n1: metadata.annotations[projectcalico.org/ASNumber]: AS number 0 is "
	    "reserved (RFC 7607); BIRD refuses it (1..4294967295)");
	assert_rejected(
	    FILTER_RULE("{action: Accept, operations: [{prependASPath: {prefix: [65000, 0]}}]}"),
	    "BGPFilter f: spec.exportV4[0].operations[0].prependASPath.prefix[1]: AS number 0 is "
	    "reserved (RFC 7607); BIRD refuses it (1..4294967295)");
}

/* 10,000 ASNs: BIRD's parser runs out of stack ("memory exhausted"). */
static void test_as_path_prefix_bounded(void **state)
{
	(void)state;
	size_t cap = 64 + 8 * 10000;
	char *list = malloc(cap), *yaml = malloc(cap + 512);
	size_t n = 0;

	assert_non_null(list);
	assert_non_null(yaml);
	for (int i = 1; i <= 1024; i++)
		n += (size_t)snprintf(list + n, cap - n, "%s%d", i > 1 ? ", " : "", i);
	snprintf(yaml, cap + 512, FILTER_RULE("{action: Accept, asPathPrefix: [%s]}"), list);
	struct bgp_resources set = {0};
	add_all(&set, yaml);
	assert_int_equal(set.filters[0].rules[BGP_V4][BGP_EXPORT].v[0].nas_path_prefix, 1024);
	bgp_resources_free(&set);

	n += (size_t)snprintf(list + n, cap - n, ", 1025");
	snprintf(yaml, cap + 512, FILTER_RULE("{action: Accept, asPathPrefix: [%s]}"), list);
	assert_rejected(yaml, "BGPFilter f: spec.exportV4[0].asPathPrefix: must have 0..1024 AS "
	                      "numbers");
	for (int i = 1026; i <= 10000; i++)
		n += (size_t)snprintf(list + n, cap - n, ", %d", i);
	snprintf(yaml, cap + 512, FILTER_RULE("{action: Accept, asPathPrefix: [%s]}"), list);
	assert_rejected(yaml, "BGPFilter f: spec.exportV4[0].asPathPrefix: must have 0..1024 AS "
	                      "numbers");
	free(list);
	free(yaml);
}

/* BIRD: "Neighbor must be configured" (0.0.0.0, ::), "Link-local neighbor
 * address requires specified interface" (fe80::/10). */
static void test_unusable_peer_addresses_rejected(void **state)
{
	(void)state;
	static const struct {
		const char *ip, *why;
	} bad[] = {
	    {"0.0.0.0", "\"0.0.0.0\" is the unspecified address, not a neighbour"},
	    {"'::'", "\"::\" is the unspecified address, not a neighbour"},
	    {"'[::]:179'", "\"::\" is the unspecified address, not a neighbour"},
	    {"'fe80::1'", "\"fe80::1\" is link-local: BIRD needs an interface for it, which a "
	                  "BGPPeer cannot name"},
	    {"'FE80::1'", "\"fe80::1\" is link-local: BIRD needs an interface for it, which a "
	                  "BGPPeer cannot name"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char yaml[256], msg[256];
		snprintf(yaml, sizeof(yaml), PEER("{peerIP: %s, asNumber: 65001}"), bad[i].ip);
		snprintf(msg, sizeof(msg), "BGPPeer p: spec.peerIP: %s", bad[i].why);
		assert_rejected(yaml, msg);
	}
}

/* A node's address is every other node's mesh neighbour. */
static void test_unusable_node_addresses_rejected(void **state)
{
	(void)state;
	assert_rejected(NODE_V3("{ipv4Address: 0.0.0.0/24}"),
	                "Node n1: spec.bgp.ipv4Address: \"0.0.0.0\" is the unspecified address, "
	                "not a neighbour");
	assert_rejected(NODE_V3("{ipv6Address: 'fe80::5/64'}"),
	                "Node n1: spec.bgp.ipv6Address: \"fe80::5\" is link-local: BIRD needs an "
	                "interface for it, which a BGPPeer cannot name");
	assert_rejected(
	    NODE_V1_MD("{name: n1, annotations: {projectcalico.org/IPv4Address: 0.0.0.0/16}}", ""),
	    "Node n1: metadata.annotations[projectcalico.org/IPv4Address]: \"0.0.0.0\" is the "
	    "unspecified address, not a neighbour");
	assert_rejected(NODE_V1("status: {addresses: [{type: InternalIP, address: 0.0.0.0}]}\n"),
	                "Node n1: status.addresses[0].address: \"0.0.0.0\" is the unspecified "
	                "address, not a neighbour");
}

/* inet_pton/inet_ntop round trip: one spelling per address. */
static void test_addresses_canonical(void **state)
{
	(void)state;
	struct bgp_resources set = {0};

	add_all(&set, PEER("{peerIP: 'FD00:0::9', asNumber: 65001}"));
	assert_string_equal(set.peers[0].peer_ip, "fd00::9");
	add_all(&set, "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: q}\n"
	              "spec: {peerIP: '[FD00:0:0::0:A]:1790', asNumber: 65001}\n");
	assert_string_equal(set.peers[1].peer_ip, "fd00::a");
	assert_int_equal(set.peers[1].port, 1790);
	add_all(&set, NODE_V3("{ipv4Address: 10.0.0.1/24, ipv6Address: 'FD00:0:0::1/64'}"));
	assert_string_equal(set.nodes[0].addr[BGP_V6], "fd00::1");
	assert_int_equal(set.nodes[0].prefix[BGP_V6], 64);
	add_all(&set, FILTER6_RULE("{action: Accept, matchOperator: In, cidr: 'FD00:0::/48'}"));
	/* A filter's CIDR is rendered as written (Calico's confd does the
	 * same; BIRD matches any spelling alike). */
	assert_string_equal(set.filters[0].rules[BGP_V6][BGP_IMPORT].v[0].cidr, "FD00:0::/48");
	add_all(&set, "kind: BlockAffinity\napiVersion: crd.projectcalico.org/v1\nmetadata: "
	              "{name: b}\nspec: {node: n1, cidr: 'FD00:0:1::/122'}\n");
	assert_string_equal(set.affinities[0].cidr, "fd00:0:1::/122");
	bgp_resources_free(&set);

	add_all(&set, NODE_V1("spec: {podCIDRs: ['FD00:1::/64', 'fd00:1:0::/64']}\n"
	                      "status: {addresses: [{type: InternalIP, address: 'FD00::7'}]}\n"));
	assert_int_equal(set.nodes[0].npod_cidrs, 1); /* one block, spelt twice */
	assert_string_equal(set.nodes[0].pod_cidrs[0], "fd00:1::/64");
	assert_string_equal(set.nodes[0].addr[BGP_V6], "fd00::7");
	bgp_resources_free(&set);
}

/* "FD00::9" as a BGPPeer of node fd00::9 was a session to itself; two
 * spellings of one neighbour were two protocols of which one was dropped
 * without a word. */
static void test_no_session_to_self_and_clash_reported(void **state)
{
	(void)state;
	struct bgp_resources set = {0};
	struct herr why = {{0}};
	char *text[2];

	add_all(
	    &set,
	    NODE_V3(
	        "{ipv4Address: 10.0.0.1/24, ipv6Address: 'fd00::9/64'}") "---\n"
	                                                                 "kind: "
	                                                                 "BGPPeer\napiVersion: "
	                                                                 "projectcalico.org/"
	                                                                 "v3\nmetadata: {name: "
	                                                                 "self}\n"
	                                                                 "spec: {peerIP: "
	                                                                 "'FD00::9', asNumber: "
	                                                                 "65001}\n---\n"
	                                                                 "kind: "
	                                                                 "BGPPeer\napiVersion: "
	                                                                 "projectcalico.org/"
	                                                                 "v3\nmetadata: {name: a}\n"
	                                                                 "spec: {peerIP: "
	                                                                 "'FD00::20', asNumber: "
	                                                                 "65001}\n---\n"
	                                                                 "kind: "
	                                                                 "BGPPeer\napiVersion: "
	                                                                 "projectcalico.org/"
	                                                                 "v3\nmetadata: {name: b}\n"
	                                                                 "spec: {peerIP: "
	                                                                 "'fd00:0::20', asNumber: "
	                                                                 "65002}\n");
	assert_int_equal(bird_render_node(&set, "n1", text, &why), 0);
	assert_null(strstr(text[BGP_V6], "Global_fd00__9"));
	assert_non_null(strstr(text[BGP_V6], "protocol bgp Global_fd00__20 "));
	assert_non_null(strstr(text[BGP_V6], "neighbor fd00::20 as 65001;"));
	free(text[0]);
	free(text[1]);

	/* b names the same neighbour as a: reported, naming both. */
	assert_int_equal(bgp_resources_peer_clash(&set, "b", &why), 1);
	assert_string_equal(why.msg, "BGPPeer b: spec.peerIP: fd00::20 is the neighbour of "
	                             "BGPPeer a too; only a's session is rendered");
	assert_int_equal(bgp_resources_peer_clash(&set, "a", &why), 1);
	assert_string_equal(why.msg, "BGPPeer a: spec.peerIP: fd00::20 is the neighbour of "
	                             "BGPPeer b too; only a's session is rendered");
	assert_int_equal(bgp_resources_peer_clash(&set, "self", &why), 0);
	bgp_resources_free(&set);

	/* Two Nodes spelling one address: reported too. */
	add_all(&set, "kind: Node\napiVersion: projectcalico.org/v3\nmetadata: {name: na}\n"
	              "spec: {bgp: {ipv6Address: 'FD00::5/64'}}\n---\n"
	              "kind: Node\napiVersion: v1\nmetadata: {name: nb}\n"
	              "status: {addresses: [{type: InternalIP, address: 'fd00:0::5'}]}\n---\n"
	              "kind: Node\napiVersion: v1\nmetadata: {name: nc}\n"
	              "status: {addresses: [{type: InternalIP, address: 'fd00::6'}]}\n");
	assert_int_equal(bgp_resources_node_clash(&set, "nb", &why), 1);
	assert_string_equal(why.msg, "Node nb: address fd00::5 is Node na's too; the other "
	                             "nodes' mesh has one session to it, as Node na");
	assert_int_equal(bgp_resources_node_clash(&set, "nc", &why), 0);
	bgp_resources_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cidr_host_bits_rejected),
	    cmocka_unit_test(test_default_route_block_rejected),
	    cmocka_unit_test(test_as_zero_rejected),
	    cmocka_unit_test(test_as_path_prefix_bounded),
	    cmocka_unit_test(test_unusable_peer_addresses_rejected),
	    cmocka_unit_test(test_unusable_node_addresses_rejected),
	    cmocka_unit_test(test_addresses_canonical),
	    cmocka_unit_test(test_no_session_to_self_and_clash_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
