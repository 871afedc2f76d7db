/* test_bird_model.c - decoding and validation of BGPFilter (every rule of
 * calico-semantics D.3, the reference's validation cases), BGPPeer,
 * BGPConfiguration, Node and BlockAffinity; the resource set (invalid objects
 * leave it unchanged, names replace, v1 and v3 Nodes merge). Every rejection
 * is checked by its exact message: object, field and rule. */
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

/* Add `yaml` to a fresh set: must fail with exactly `msg`, set unchanged. */
static void assert_rejected(const char *yaml, const char *msg)
{
	struct bgp_resources set = {0};
	struct herr err = {{0}};
	json_t *o = parse1(yaml);

	assert_int_equal(bgp_resources_add(&set, o, &err), -EINVAL);
	if (strcmp(err.msg, msg))
		fail_msg("input:\n%s\n  message:  %s\n  expected: %s", yaml, err.msg, msg);
	assert_int_equal(set.nfilters + set.npeers + set.nconfigs + set.nnodes + set.naffinities,
	                 0);
	json_decref(o);
}

static void assert_accepted(const char *yaml)
{
	struct bgp_resources set = {0};
	struct herr err = {{0}};
	json_t *o = parse1(yaml);

	if (bgp_resources_add(&set, o, &err) != 1)
		fail_msg("input:\n%s\nrejected: %s", yaml, err.msg);
	bgp_resources_free(&set);
	json_decref(o);
}

#define FILTER   "kind: BGPFilter\napiVersion: projectcalico.org/v3\nmetadata: {name: my-filter}\n"
#define EXPORTV4 FILTER "spec:\n  exportV4:\n    - {action: Accept}\n    - {action: Reject}\n    - "

#define PEER "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: p}\n"

static void rule_rejected(const char *rule, const char *msg)
{
	char yaml[1024], want[600];

	snprintf(yaml, sizeof(yaml), EXPORTV4 "%s\n", rule);
	snprintf(want, sizeof(want), "BGPFilter my-filter: spec.exportV4[2]%s", msg);
	assert_rejected(yaml, want);
}

static void rule_accepted(const char *rule)
{
	char yaml[1024];

	snprintf(yaml, sizeof(yaml), EXPORTV4 "%s\n", rule);
	assert_accepted(yaml);
}

static void test_action(void **state)
{
	rule_rejected("{action: Allow}", ".action: \"Allow\" is not Accept or Reject");
	rule_rejected("{cidr: 10.0.0.0/8, matchOperator: In}",
	              ".action: required (Accept or Reject)");
}

static void test_cidr_and_operator(void **state)
{
	rule_rejected("{action: Accept, matchOperator: In, cidr: 10.0.0.0/33}",
	              ".cidr: \"10.0.0.0/33\" is not an IPv4 CIDR");
	rule_rejected("{action: Accept, matchOperator: In, cidr: 10.0.0.0}",
	              ".cidr: \"10.0.0.0\" is not an IPv4 CIDR");
	rule_rejected("{action: Accept, matchOperator: In, cidr: 'fd00::/8'}",
	              ".cidr: \"fd00::/8\" is not an IPv4 CIDR");
	rule_rejected("{action: Accept, cidr: 10.0.0.0/8}",
	              ".matchOperator: cidr and matchOperator must both be set or both be empty");
	rule_rejected("{action: Accept, matchOperator: In}",
	              ".cidr: cidr and matchOperator must both be set or both be empty");
	rule_rejected("{action: Accept, matchOperator: Contains, cidr: 10.0.0.0/8}",
	              ".matchOperator: \"Contains\" is not Equal, NotEqual, In or NotIn");
	assert_rejected(FILTER "spec:\n  importV6:\n    - {action: Accept, matchOperator: In, "
	                       "cidr: 10.0.0.0/8}\n",
	                "BGPFilter my-filter: spec.importV6[0].cidr: \"10.0.0.0/8\" is not an "
	                "IPv6 CIDR");
	rule_rejected("{action: Accept, matchOperator: NotIn, cidr: 10.1.2.3/8}",
	              ".cidr: \"10.1.2.3/8\" has host bits set (the network is 10.0.0.0/8)");
}

static void test_prefix_length(void **state)
{
	rule_rejected("{action: Accept, prefixLength: {min: 24}}", ".prefixLength: requires cidr");
	rule_rejected("{action: Accept, matchOperator: In, cidr: 10.0.0.0/8, "
	              "prefixLength: {min: 33}}",
	              ".prefixLength.min: 33 is out of range (0..32)");
	rule_rejected("{action: Accept, matchOperator: In, cidr: 10.0.0.0/8, "
	              "prefixLength: {max: -1}}",
	              ".prefixLength.max: -1 is out of range (0..32)");
	rule_rejected("{action: Accept, matchOperator: In, cidr: 10.0.0.0/16, "
	              "prefixLength: {max: 8}}",
	              ".prefixLength: range {16,8} is empty for 10.0.0.0/16 (min is at least the "
	              "mask)");
	rule_rejected("{action: Accept, matchOperator: In, cidr: 10.0.0.0/8, "
	              "prefixLength: {minimum: 9}}",
	              ".prefixLength.minimum: unknown field");
	assert_rejected(FILTER "spec:\n  exportV6:\n    - {action: Accept, matchOperator: In, "
	                       "cidr: 'fd00::/8', prefixLength: {max: 129}}\n",
	                "BGPFilter my-filter: spec.exportV6[0].prefixLength.max: 129 is out of "
	                "range (0..128)");
	rule_accepted("{action: Accept, matchOperator: In, cidr: 10.0.0.0/8, "
	              "prefixLength: {min: 0, max: 32}}");
}

static void test_source_interface_peer_type(void **state)
{
	rule_rejected("{action: Accept, source: LocalPeers}",
	              ".source: \"LocalPeers\" is not RemotePeers");
	rule_rejected("{action: Accept, interface: 'abcdefghijklmnop'}",
	              ".interface: \"abcdefghijklmnop\" is not an interface pattern (1..15 of "
	              "a-z A-Z 0-9 _ . * -)");
	rule_rejected("{action: Accept, interface: 'eth 0'}",
	              ".interface: \"eth 0\" is not an interface pattern (1..15 of a-z A-Z 0-9 "
	              "_ . * -)");
	rule_rejected("{action: Accept, interface: 'eth\"0'}",
	              ".interface: \"eth\"0\" is not an interface pattern (1..15 of a-z A-Z 0-9 "
	              "_ . * -)");
	rule_rejected(
	    "{action: Accept, interface: ''}",
	    ".interface: \"\" is not an interface pattern (1..15 of a-z A-Z 0-9 _ . * -)");
	rule_accepted("{action: Accept, interface: '*'}");
	rule_accepted("{action: Accept, interface: 'cali-_.x*'}");
	rule_rejected("{action: Accept, peerType: ebgp}",
	              ".peerType: \"ebgp\" is not eBGP or iBGP");
}

/* The reference's community boundary cases, in a match and in addCommunity. */
static void test_communities(void **state)
{
	static const struct {
		const char *value, *why;
	} bad[] = {
	    {"65536:0", "aa:nn, each 0..65535"},
	    {"0:65536", "aa:nn, each 0..65535"},
	    {"4294967296:0:0", "aa:nn:mm, each 0..4294967295"},
	    {"01:1", "aa:nn, each 0..65535, without leading zeros"},
	    {"1:1:01", "aa:nn:mm, each 0..4294967295, without leading zeros"},
	    {"", "aa:nn with each 0..65535, or aa:nn:mm with each 0..4294967295"},
	    {"65000", "aa:nn with each 0..65535, or aa:nn:mm with each 0..4294967295"},
	    {"1:2:3:4", "aa:nn with each 0..65535, or aa:nn:mm with each 0..4294967295"},
	    {"a:b", "aa:nn, each 0..65535"},
	    {"-1:0", "aa:nn, each 0..65535"},
	    {"1: 2", "aa:nn, each 0..65535"},
	    {"65000:", "aa:nn, each 0..65535"},
	};
	static const char *const good[] = {"0:0", "65535:65535", "4294967295:4294967295:4294967295",
	                                   "0:0:0"};
	char rule[256], msg[300];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(rule, sizeof(rule), "{action: Accept, communities: {values: ['%s']}}",
		         bad[i].value);
		snprintf(msg, sizeof(msg), ".communities.values[0]: \"%s\" is not a community (%s)",
		         bad[i].value, bad[i].why);
		rule_rejected(rule, msg);
		snprintf(rule, sizeof(rule),
		         "{action: Accept, operations: [{addCommunity: {value: '%s'}}]}",
		         bad[i].value);
		snprintf(msg, sizeof(msg),
		         ".operations[0].addCommunity.value: \"%s\" is not a community (%s)",
		         bad[i].value, bad[i].why);
		rule_rejected(rule, msg);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(rule, sizeof(rule), "{action: Accept, communities: {values: ['%s']}}",
		         good[i]);
		rule_accepted(rule);
		snprintf(rule, sizeof(rule),
		         "{action: Accept, operations: [{addCommunity: {value: '%s'}}]}", good[i]);
		rule_accepted(rule);
	}
	rule_rejected("{action: Accept, communities: {values: ['1:1', '2:2']}}",
	              ".communities.values: must hold exactly one community");
	rule_rejected("{action: Accept, communities: {values: []}}",
	              ".communities.values: must hold exactly one community");
}

static void test_as_path_and_priority(void **state)
{
	rule_rejected("{action: Accept, asPathPrefix: [65000, 4294967296]}",
	              ".asPathPrefix[1]: 4294967296 is not an AS number (1..4294967295)");
	rule_rejected("{action: Accept, priority: 0}",
	              ".priority: 0 is out of range (1..2147483646)");
	rule_rejected("{action: Accept, priority: 2147483647}",
	              ".priority: 2147483647 is out of range (1..2147483646)");
	rule_accepted("{action: Accept, priority: 2147483646}");
	rule_accepted("{action: Accept, priority: 1}");
}

static void test_operations(void **state)
{
	rule_rejected("{action: Reject, operations: [{setPriority: {value: 512}}]}",
	              ".operations: only allowed with action Accept");
	assert_rejected(FILTER "spec:\n  importV6:\n    - {action: Reject, operations: "
	                       "[{addCommunity: {value: '1:1'}}]}\n",
	                "BGPFilter my-filter: spec.importV6[0].operations: only allowed with "
	                "action Accept");
	rule_rejected("{action: Accept, operations: [{setPriority: {value: 1}, addCommunity: "
	              "{value: '1:1'}}]}",
	              ".operations[0]: exactly one of addCommunity, prependASPath, setPriority "
	              "must be set (found 2)");
	rule_rejected("{action: Accept, operations: [{setPriority: {value: 1}}, {setPriority: "
	              "{value: 1}, addCommunity: {value: '1:1'}, prependASPath: {prefix: [1]}}]}",
	              ".operations[1]: exactly one of addCommunity, prependASPath, setPriority "
	              "must be set (found 3)");
	rule_rejected("{action: Accept, operations: [{}]}",
	              ".operations[0]: exactly one of addCommunity, prependASPath, setPriority "
	              "must be set (found 0)");
	rule_rejected("{action: Accept, operations: []}", ".operations: must have 1..10 items");
	rule_rejected(
	    "{action: Accept, operations: [{setPriority: {value: 1}}, {setPriority: {value: "
	    "1}}, {setPriority: {value: 1}}, {setPriority: {value: 1}}, {setPriority: "
	    "{value: 1}}, {setPriority: {value: 1}}, {setPriority: {value: 1}}, "
	    "{setPriority: {value: 1}}, {setPriority: {value: 1}}, {setPriority: {value: "
	    "1}}, {setPriority: {value: 1}}]}",
	    ".operations: must have 1..10 items");
	rule_rejected("{action: Accept, operations: [{setPriority: {value: 0}}]}",
	              ".operations[0].setPriority.value: 0 is out of range (1..2147483646)");
	rule_rejected("{action: Accept, operations: [{setPriority: {}}]}",
	              ".operations[0].setPriority.value: required");
	rule_rejected("{action: Accept, operations: [{addCommunity: {}}]}",
	              ".operations[0].addCommunity.value: required");
	rule_rejected("{action: Accept, operations: [{prependASPath: {prefix: []}}]}",
	              ".operations[0].prependASPath.prefix: must have 1..10 AS numbers");
	rule_rejected("{action: Accept, operations: [{prependASPath: {prefix: "
	              "[1,2,3,4,5,6,7,8,9,10,11]}}]}",
	              ".operations[0].prependASPath.prefix: must have 1..10 AS numbers");
	rule_rejected("{action: Accept, operations: [{setPriority: {value: 1, extra: 2}}]}",
	              ".operations[0].setPriority.extra: unknown field");
	rule_accepted("{action: Accept, operations: [{prependASPath: {prefix: "
	              "[1,2,3,4,5,6,7,8,9,10]}}]}");
}

static void test_unknown_fields(void **state)
{
	assert_rejected(FILTER "spec:\n  exportv4: []\n",
	                "BGPFilter my-filter: spec.exportv4: unknown field");
	rule_rejected("{action: Accept, matchoperator: In}", ".matchoperator: unknown field");
	assert_rejected(FILTER "spec:\n  exportV4: {action: Accept}\n",
	                "BGPFilter my-filter: spec.exportV4: must be a list of rules");
	assert_rejected("kind: BGPFilter\nmetadata: {}\nspec: {}\n",
	                "BGPFilter without metadata.name");
	assert_rejected("kind: BGPFilter\nmetadata: {name: \"it's\"}\nspec: {}\n",
	                "BGPFilter it's: metadata.name: not a valid name (lower-case letters, "
	                "digits, '-' and '.', starting and ending with a letter or digit, at most "
	                "253)");
	assert_rejected("kind: BGPFilter\nmetadata: {name: Upper}\nspec: {}\n",
	                "BGPFilter Upper: metadata.name: not a valid name (lower-case letters, "
	                "digits, '-' and '.', starting and ending with a letter or digit, at most "
	                "253)");
}

/* Wrong JSON types are rejected with the field named, never trusted. */
static void test_wrong_types(void **state)
{
	rule_rejected("Accept", ": must be an object");
	rule_rejected("{action: 1}", ".action: must be a string");
	rule_rejected("{action: Accept, communities: {values: [65000]}}",
	              ".communities.values[0]: must be a string");
	rule_rejected("{action: Accept, communities: ['65000:1']}",
	              ".communities: must be an object with values");
	rule_rejected("{action: Accept, asPathPrefix: 65000}",
	              ".asPathPrefix: must be a list of AS numbers");
	rule_rejected("{action: Accept, asPathPrefix: [x]}",
	              ".asPathPrefix[0]: \"x\" is not an AS number (1..4294967295 or a.b)");
	rule_rejected("{action: Accept, priority: '512'}",
	              ".priority: must be an integer (1..2147483646)");
	rule_rejected("{action: Accept, operations: {setPriority: {value: 1}}}",
	              ".operations: must be a list");
	rule_rejected("{action: Accept, operations: [setPriority]}",
	              ".operations[0]: must be an object");
	rule_rejected("{action: Accept, operations: [{setPriority: 5}]}",
	              ".operations[0].setPriority: must be an object with a value");
	rule_rejected("{action: Accept, prefixLength: 24, matchOperator: In, cidr: 10.0.0.0/8}",
	              ".prefixLength: must be an object with min/max");
	assert_rejected(FILTER "spec: [1]\n", "BGPFilter my-filter: spec: must be an object");
	assert_rejected(PEER "spec: {peerIP: 10.0.0.1, asNumber: 1, filters: a}\n",
	                "BGPPeer p: spec.filters: must be a list of BGPFilter names");
	assert_rejected(PEER "spec: {peerIP: [10.0.0.1], asNumber: 1}\n",
	                "BGPPeer p: spec.peerIP: must be a string");
	assert_rejected("kind: BGPPeer\nmetadata: {name: p}\n", "BGPPeer p: spec: required");
	assert_rejected("apiVersion: v1\nkind: Node\nmetadata: {name: n, labels: {a: [1]}}\n",
	                "Node n: metadata.labels: value of a must be a string");
	assert_rejected("apiVersion: v1\nkind: Node\nmetadata: {name: n}\nstatus: {addresses: x}\n",
	                "Node n: status.addresses: must be a list");
}

static void test_seed_001_filter(void **state)
{
	struct bgp_filter f;
	struct herr err = {{0}};
	json_t *o =
	    parse1("apiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata:\n"
	           "  name: kubevirt-live-migration\nspec:\n  exportV4:\n"
	           "    - action: Accept\n      peerType: eBGP\n      priority: 512\n"
	           "      operations:\n        - addCommunity:\n            value: \"65000:100\"\n"
	           "  importV4:\n    - action: Accept\n      communities:\n"
	           "        values: [\"65000:100\"]\n      operations:\n"
	           "        - setPriority:\n            value: 512\n");

	assert_int_equal(bgp_filter_decode(o, &f, &err), 0);
	assert_string_equal(f.name, "kubevirt-live-migration");
	const struct bgp_rule_list *ex = &f.rules[BGP_V4][BGP_EXPORT];
	const struct bgp_rule_list *im = &f.rules[BGP_V4][BGP_IMPORT];
	assert_int_equal(ex->n, 1);
	assert_int_equal(ex->v[0].action, BGP_ACCEPT);
	assert_int_equal(ex->v[0].peer_type, BGP_PEER_EBGP);
	assert_int_equal(ex->v[0].priority, 512);
	assert_int_equal(ex->v[0].nops, 1);
	assert_int_equal(ex->v[0].ops[0].kind, BGP_OP_ADD_COMMUNITY);
	assert_int_equal(ex->v[0].ops[0].community.nparts, 2);
	assert_int_equal(ex->v[0].ops[0].community.v[0], 65000);
	assert_int_equal(ex->v[0].ops[0].community.v[1], 100);
	assert_int_equal(im->n, 1);
	assert_true(im->v[0].has_community);
	assert_int_equal(im->v[0].ops[0].kind, BGP_OP_SET_PRIORITY);
	assert_int_equal(im->v[0].ops[0].priority, 512);
	assert_int_equal(f.rules[BGP_V6][BGP_EXPORT].n, 0);
	bgp_filter_free(&f);
	json_decref(o);
}

static void test_peer(void **state)
{
	struct bgp_peer p;
	struct herr err = {{0}};
	json_t *o = parse1(PEER "spec: {peerIP: '[2001::1]:1179', asNumber: 64517, localASNumber: "
	                        "'1.10', filters: [a, b], keepaliveTime: 1m30s, nodeSelector: "
	                        "\"rack == 'r1'\"}\n");

	assert_int_equal(bgp_peer_decode(o, &p, &err), 0);
	assert_string_equal(p.peer_ip, "2001::1");
	assert_int_equal(p.port, 1179);
	assert_int_equal(p.as_number, 64517);
	assert_true(p.has_local_as);
	assert_int_equal(p.local_as, 65536 + 10);
	assert_int_equal(p.nfilters, 2);
	assert_string_equal(p.filters[1], "b");
	assert_int_equal(p.keepalive_s, 90);
	assert_string_equal(p.node_selector, "rack == 'r1'");
	bgp_peer_free(&p);
	json_decref(o);

	o = parse1(PEER "spec: {peerIP: '10.0.0.1:179', asNumber: 1}\n");
	assert_int_equal(bgp_peer_decode(o, &p, &err), 0);
	assert_string_equal(p.peer_ip, "10.0.0.1");
	assert_int_equal(p.port, 179);
	bgp_peer_free(&p);
	json_decref(o);

	assert_rejected(PEER
	                "spec: {node: a, nodeSelector: all(), peerIP: 10.0.0.1, asNumber: 1}\n",
	                "BGPPeer p: spec.nodeSelector: cannot be combined with spec.node");
	assert_rejected(PEER "spec: {peerIP: 10.0.0.1, peerSelector: all(), asNumber: 1}\n",
	                "BGPPeer p: spec.peerSelector: cannot be combined with spec.peerIP");
	assert_rejected(PEER "spec: {peerSelector: all(), asNumber: 1}\n",
	                "BGPPeer p: spec.asNumber: must be empty with peerSelector (the peers' own "
	                "AS is used)");
	assert_rejected(PEER "spec: {node: a}\n",
	                "BGPPeer p: spec.peerIP: one of peerIP or peerSelector is required");
	assert_rejected(PEER "spec: {peerIP: '<ToR IP>', asNumber: 1}\n",
	                "BGPPeer p: spec.peerIP: \"<ToR IP>\" is not an IP address, ip:port or "
	                "[ipv6]:port");
	assert_rejected(PEER "spec: {peerIP: '10.0.0.1:70000', asNumber: 1}\n",
	                "BGPPeer p: spec.peerIP: \"10.0.0.1:70000\" is not an IP address, ip:port "
	                "or [ipv6]:port");
	assert_rejected(PEER "spec: {peerIP: 10.0.0.1, asNumber: '<ToR AS number>'}\n",
	                "BGPPeer p: spec.asNumber: \"<ToR AS number>\" is not an AS number "
	                "(1..4294967295 or a.b)");
	assert_rejected(PEER "spec: {peerIP: 10.0.0.1, asNumber: 1, keepaliveTime: 1500ms}\n",
	                "BGPPeer p: spec.keepaliveTime: \"1500ms\" must be whole seconds, "
	                "1s..65535s");
	assert_rejected(PEER "spec: {peerIP: 10.0.0.1, asNumber: 1, keepaliveTime: soon}\n",
	                "BGPPeer p: spec.keepaliveTime: \"soon\" is not a duration such as 30s or "
	                "1m");
	assert_rejected(PEER "spec: {peerIP: 10.0.0.1, asNumber: 1, password: {secretKeyRef: "
	                     "{name: s}}}\n",
	                "BGPPeer p: spec.password.secretKeyRef.key: must be a non-empty string");
	assert_rejected(PEER "spec: {peerIP: 10.0.0.1, asNumber: 1, password: {value: x}}\n",
	                "BGPPeer p: spec.password.value: unknown field");
	assert_rejected(PEER "spec: {peerIP: 10.0.0.1, asNumber: 1, reachableBy: 'fd00::1'}\n",
	                "BGPPeer p: spec.reachableBy: \"fd00::1\" needs a peerIP of the same "
	                "address family");
	assert_rejected(PEER "spec: {peerIP: 10.0.0.1, asNumber: 1, reversePeering: Sometimes}\n",
	                "BGPPeer p: spec.reversePeering: \"Sometimes\" is not Auto or Manual");
	/* peerIP without asNumber: the cluster's AS (the reference matches the
	 * nodes of the global AS). */
	o = parse1(PEER "spec: {peerIP: 10.0.0.1, password: {secretKeyRef: {name: bgp-secrets, "
	                "key: rack1}}, reachableBy: 10.0.0.254, reversePeering: Manual}\n");
	assert_int_equal(bgp_peer_decode(o, &p, &err), 0);
	assert_false(p.has_as);
	assert_string_equal(p.password.name, "bgp-secrets");
	assert_string_equal(p.password.key, "rack1");
	assert_string_equal(p.reachable_by, "10.0.0.254");
	assert_true(p.reverse_manual);
	bgp_peer_free(&p);
	json_decref(o);
	o = parse1(PEER "spec: {peerIP: 10.0.0.1, asNumber: 1, sourceAddress: None, nextHopMode: "
	                "Self, numAllowedLocalASNumbers: 2, ttlSecurity: 3, maxRestartTime: 2m}\n");
	assert_int_equal(bgp_peer_decode(o, &p, &err), 0);
	assert_true(p.no_source_address);
	assert_int_equal(p.next_hop, BGP_NEXT_HOP_SELF);
	assert_int_equal(p.allow_local_as, 2);
	assert_int_equal(p.ttl_security, 3);
	assert_int_equal(p.restart_time_s, 120);
	bgp_peer_free(&p);
	json_decref(o);
	assert_rejected(PEER "spec: {peerIP: 10.0.0.1, asNumber: 1, sourceAddress: Loopback}\n",
	                "BGPPeer p: spec.sourceAddress: \"Loopback\" is not UseNodeIP or None");
	assert_rejected(PEER "spec: {peerIP: 10.0.0.1, asNumber: 1, nextHopMode: Peer}\n",
	                "BGPPeer p: spec.nextHopMode: \"Peer\" is not Auto, Self or Keep");
	assert_rejected(PEER "spec: {peerIP: 10.0.0.1, asNumber: 1, nextHopMode: Keep, "
	                     "keepOriginalNextHop: true}\n",
	                "BGPPeer p: spec.keepOriginalNextHop: cannot be combined with nextHopMode");
	assert_rejected(PEER "spec: {peerIP: 10.0.0.1, asNumber: 1, ttlSecurity: 256}\n",
	                "BGPPeer p: spec.ttlSecurity: 256 is out of range (0..255)");
	assert_rejected(PEER "spec: {peerIP: 10.0.0.1, asNumber: 1, maxRestartTime: 0s}\n",
	                "BGPPeer p: spec.maxRestartTime: \"0s\" must be whole seconds, 1s..65535s");
	assert_rejected(PEER "spec: {peerIP: 10.0.0.1, asNumber: 1, peerIp: 10.0.0.2}\n",
	                "BGPPeer p: spec.peerIp: unknown field");
	assert_rejected(PEER "spec: {peerSelector: 'has(x', filters: [a]}\n",
	                "BGPPeer p: spec.peerSelector: column 6: expected ')', found end of input");
	assert_rejected(PEER "spec: {peerIP: 10.0.0.1, asNumber: 1, filters: ['']}\n",
	                "BGPPeer p: spec.filters[0]: empty BGPFilter name");
}

#define CONFIG                                                                                     \
	"kind: BGPConfiguration\napiVersion: projectcalico.org/v3\nmetadata: {name: default}\n"

static void test_config(void **state)
{
	struct bgp_config c;
	struct herr err = {{0}};
	json_t *o = parse1(CONFIG "spec: {}\n");

	assert_int_equal(bgp_config_decode(o, &c, &err), 0);
	assert_true(c.mesh_enabled);
	assert_false(c.has_as);
	assert_int_equal(c.normal[BGP_V4], 1024);
	assert_int_equal(c.normal[BGP_V6], 1024);
	bgp_config_free(&c);
	json_decref(o);

	o = parse1(CONFIG "spec: {asNumber: 65001, nodeToNodeMeshEnabled: false, "
	                  "ipv4NormalRoutePriority: 5000, ipv6NormalRoutePriority: 80, listenPort: "
	                  "1179}\n");
	assert_int_equal(bgp_config_decode(o, &c, &err), 0);
	assert_false(c.mesh_enabled);
	assert_int_equal(c.as_number, 65001);
	assert_int_equal(c.normal[BGP_V4], 5000);
	assert_int_equal(c.normal[BGP_V6], 80);
	assert_int_equal(c.listen_port, 1179);
	bgp_config_free(&c);
	json_decref(o);

	assert_rejected(CONFIG "spec: {ipv4NormalRoutePriority: 0}\n",
	                "BGPConfiguration default: spec.ipv4NormalRoutePriority: 0 is out of "
	                "range (1..2147483646)");
	assert_rejected(CONFIG "spec: {ipv6NormalRoutePriority: 2147483647}\n",
	                "BGPConfiguration default: spec.ipv6NormalRoutePriority: 2147483647 is out "
	                "of range (1..2147483646)");
	assert_rejected(CONFIG "spec: {nodeToNodeMeshEnabled: 'no'}\n",
	                "BGPConfiguration default: spec.nodeToNodeMeshEnabled: must be true or "
	                "false");
	assert_rejected(CONFIG "spec: {serviceClusterIPs: [{cidr: 10.96.0.0/12}]}\n",
	                "BGPConfiguration default: spec.serviceClusterIPs: not supported by "
	                "handoff");
	assert_rejected(CONFIG "spec: {asnumber: 1}\n",
	                "BGPConfiguration default: spec.asnumber: unknown field");
}

static void test_nodes(void **state)
{
	struct bgp_resources set = {0};
	struct herr err = {{0}};
	json_t *v1 =
	    parse1("apiVersion: v1\nkind: Node\nmetadata: {name: n1, labels: {rack: r1}}\n"
	           "spec: {podCIDRs: [10.244.1.0/24, 'fd00:244:1::/64']}\n"
	           "status: {addresses: [{type: Hostname, address: n1}, {type: InternalIP, "
	           "address: 10.0.0.11}, {type: InternalIP, address: 'fd00::11'}, {type: "
	           "InternalIP, address: 10.0.0.99}]}\n");
	json_t *v3 = parse1("apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n1}\n"
	                    "spec: {bgp: {ipv4Address: 10.1.0.11/16, asNumber: 65010}}\n");

	assert_int_equal(bgp_resources_add(&set, v1, &err), 1);
	const struct bgp_node *n = bgp_resources_node(&set, "n1");
	assert_non_null(n);
	/* The first InternalIP of each family. */
	assert_string_equal(n->addr[BGP_V4], "10.0.0.11");
	assert_string_equal(n->addr[BGP_V6], "fd00::11");
	assert_int_equal(n->npod_cidrs, 2);
	assert_string_equal(labels_get(&n->labels, "rack"), "r1");

	/* The v3 Node of the same name: its address and AS win, the v1 Node's
	 * pod CIDRs, IPv6 address and labels stay. */
	assert_int_equal(bgp_resources_add(&set, v3, &err), 1);
	assert_int_equal(set.nnodes, 1);
	n = bgp_resources_node(&set, "n1");
	assert_string_equal(n->addr[BGP_V4], "10.1.0.11");
	assert_int_equal(n->prefix[BGP_V4], 16);
	assert_string_equal(n->addr[BGP_V6], "fd00::11");
	assert_true(n->has_as);
	assert_int_equal(n->as_number, 65010);
	assert_int_equal(n->npod_cidrs, 2);
	assert_string_equal(n->pod_cidrs[1], "fd00:244:1::/64");
	assert_string_equal(labels_get(&n->labels, "rack"), "r1");
	bgp_resources_free(&set);
	json_decref(v1);
	json_decref(v3);

	assert_rejected("apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n2}\n"
	                "spec: {bgp: {ipv4Address: '2001::1/64'}}\n",
	                "Node n2: spec.bgp.ipv4Address: \"2001::1/64\" is not an IPv4 address "
	                "(with optional /prefix)");
	assert_rejected(
	    "apiVersion: v1\nkind: Node\nmetadata: {name: n3}\n"
	    "status: {addresses: [{type: InternalIP, address: 10.0.0.300}]}\n",
	    "Node n3: status.addresses[0].address: \"10.0.0.300\" is not an IP address");
	assert_rejected("apiVersion: v1\nkind: Node\nmetadata: {name: n4}\n"
	                "spec: {podCIDRs: [10.244.0.0]}\n",
	                "Node n4: spec.podCIDRs[0]: \"10.244.0.0\" is not a CIDR");
	assert_rejected(
	    "apiVersion: crd.projectcalico.org/v1\nkind: BlockAffinity\n"
	    "metadata: {name: b}\nspec: {cidr: 10.0.0.0/24, node: n1, state: \"a\\nb\"}\n",
	    "BlockAffinity b: spec.state: \"a\nb\" is not a block affinity state");
	assert_rejected(
	    "apiVersion: v1\nkind: Node\nmetadata: {name: \"n\\nrouter id 1.1.1.1;\"}\n",
	    "Node n\nrouter id 1.1.1.1;: metadata.name: not a valid name (lower-case "
	    "letters, digits, '-' and '.', starting and ending with a letter or digit, "
	    "at most 253)");
	assert_rejected("apiVersion: crd.projectcalico.org/v1\nkind: BlockAffinity\n"
	                "metadata: {name: b}\nspec: {cidr: 10.0.0.0/40, node: n1}\n",
	                "BlockAffinity b: spec.cidr: \"10.0.0.0/40\" is not a CIDR");
}

static void test_set(void **state)
{
	struct bgp_resources set = {0};
	struct herr err = {{0}};
	json_t *a = parse1(FILTER "spec:\n  exportV4:\n    - {action: Accept}\n");
	json_t *b =
	    parse1(FILTER "spec:\n  exportV4:\n    - {action: Reject}\n    - {action: Accept}\n");
	json_t *bad = parse1(FILTER "spec:\n  exportV4:\n    - {action: Maybe}\n");
	json_t *pod = parse1("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n");

	assert_int_equal(bgp_resources_add(&set, a, &err), 1);
	/* Same name replaces. */
	assert_int_equal(bgp_resources_add(&set, b, &err), 1);
	assert_int_equal(set.nfilters, 1);
	assert_int_equal(bgp_resources_filter(&set, "my-filter")->rules[BGP_V4][BGP_EXPORT].n, 2);
	/* An invalid update is rejected and the previous object stays. */
	assert_int_equal(bgp_resources_add(&set, bad, &err), -EINVAL);
	assert_int_equal(bgp_resources_filter(&set, "my-filter")->rules[BGP_V4][BGP_EXPORT].n, 2);
	/* Other kinds are ignored. */
	assert_int_equal(bgp_resources_add(&set, pod, &err), 0);
	assert_int_equal(bgp_resources_remove(&set, "BGPFilter", "my-filter"), 1);
	assert_int_equal(set.nfilters, 0);
	assert_null(bgp_resources_filter(&set, "my-filter"));
	assert_int_equal(bgp_resources_remove(&set, "BGPFilter", "my-filter"), 0);
	bgp_resources_free(&set);
	json_decref(a);
	json_decref(b);
	json_decref(bad);
	json_decref(pod);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_action),        cmocka_unit_test(test_cidr_and_operator),
	    cmocka_unit_test(test_prefix_length), cmocka_unit_test(test_source_interface_peer_type),
	    cmocka_unit_test(test_communities),   cmocka_unit_test(test_as_path_and_priority),
	    cmocka_unit_test(test_operations),    cmocka_unit_test(test_unknown_fields),
	    cmocka_unit_test(test_wrong_types),   cmocka_unit_test(test_seed_001_filter),
	    cmocka_unit_test(test_peer),          cmocka_unit_test(test_config),
	    cmocka_unit_test(test_nodes),         cmocka_unit_test(test_set),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
