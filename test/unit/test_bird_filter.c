/* test_bird_filter.c - BGPFilter -> BIRD 1.x functions, every rule of
 * calico-semantics D.4: operators, prefixLength clamping, source, interface,
 * communities, AS-path prefix, priority, condition order, operations,
 * peerType wrappers and signatures, name truncation, family selection and
 * ordering. Expected text is the reference implementation's. */
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

/* Decode every document of `yaml` as a BGPFilter (all must be valid) and
 * render the family's filter section. */
static char *render(const char *yaml, enum bgp_family family)
{
	struct yaml_docs docs = {0};
	struct herr err = {{0}};
	struct bgp_filter f[8];
	char *text = NULL;

	if (yaml_parse(yaml, strlen(yaml), &docs, &err) < 0)
		fail_msg("yaml: %s", err.msg);
	assert_true(docs.n <= 8);
	for (size_t i = 0; i < docs.n; i++)
		if (bgp_filter_decode(docs.v[i], &f[i], &err) < 0)
			fail_msg("decode: %s", err.msg);
	assert_int_equal(bird_render_filters(f, docs.n, family, &text, &err), 0);
	for (size_t i = 0; i < docs.n; i++)
		bgp_filter_free(&f[i]);
	yaml_docs_free(&docs);
	return text;
}

static void assert_text(char *got, const char *want)
{
	if (strcmp(got, want))
		fail_msg("rendered:\n%s\nexpected:\n%s", got, want);
	free(got);
}

#define HEAD "kind: BGPFilter\napiVersion: projectcalico.org/v3\nmetadata: {name: f}\nspec:\n"

/* One v4 export rule (YAML flow mapping) -> the single body line. */
static void assert_export_rule_v4(const char *rule, const char *line)
{
	char yaml[1024], want[1024];

	snprintf(yaml, sizeof(yaml), HEAD "  exportV4:\n    - %s\n", rule);
	snprintf(want, sizeof(want),
	         "# v4 BGPFilter f\nfunction 'bgp_f_exportFilterV4'() {\n  %s\n}\n", line);
	assert_text(render(yaml, BGP_V4), want);
}

static void assert_import_rule_v6(const char *rule, const char *line)
{
	char yaml[1024], want[1024];

	snprintf(yaml, sizeof(yaml), HEAD "  importV6:\n    - %s\n", rule);
	snprintf(want, sizeof(want),
	         "# v6 BGPFilter f\nfunction 'bgp_f_importFilterV6'() {\n  %s\n}\n", line);
	assert_text(render(yaml, BGP_V6), want);
}

static void test_match_operators(void **state)
{
	assert_export_rule_v4("{action: Accept, matchOperator: Equal, cidr: 77.2.0.0/16}",
	                      "if ((net = 77.2.0.0/16)) then { accept; }");
	assert_export_rule_v4("{action: Reject, matchOperator: NotEqual, cidr: 77.3.0.0/16}",
	                      "if ((net != 77.3.0.0/16)) then { reject; }");
	assert_export_rule_v4("{action: Accept, matchOperator: In, cidr: 77.0.0.0/16}",
	                      "if ((net ~ 77.0.0.0/16)) then { accept; }");
	assert_export_rule_v4("{action: Reject, matchOperator: NotIn, cidr: 77.1.0.0/16}",
	                      "if ((net !~ 77.1.0.0/16)) then { reject; }");
}

static void test_cidr_verbatim(void **state)
{
	/* Not canonicalised: 9000:0::0/64 stays as written. */
	assert_import_rule_v6("{action: Accept, matchOperator: In, cidr: '9000:0::0/64'}",
	                      "if ((net ~ 9000:0::0/64)) then { accept; }");
}

static void test_prefix_length(void **state)
{
	assert_export_rule_v4("{action: Accept, matchOperator: In, cidr: 10.0.0.0/16, "
	                      "prefixLength: {min: 24, max: 28}}",
	                      "if ((net ~ [ 10.0.0.0/16{24,28} ])) then { accept; }");
	/* min only: max defaults to the family maximum. */
	assert_export_rule_v4("{action: Accept, matchOperator: In, cidr: 10.0.0.0/16, "
	                      "prefixLength: {min: 20}}",
	                      "if ((net ~ [ 10.0.0.0/16{20,32} ])) then { accept; }");
	/* max only: min defaults to the mask. */
	assert_export_rule_v4("{action: Accept, matchOperator: In, cidr: 10.0.0.0/16, "
	                      "prefixLength: {max: 24}}",
	                      "if ((net ~ [ 10.0.0.0/16{16,24} ])) then { accept; }");
	/* min below the mask is raised to the mask. */
	assert_export_rule_v4("{action: Reject, matchOperator: Equal, cidr: 10.0.0.0/16, "
	                      "prefixLength: {min: 8, max: 24}}",
	                      "if ((net = [ 10.0.0.0/16{16,24} ])) then { reject; }");
	/* Works with every operator, and for IPv6 (max 128). */
	assert_import_rule_v6("{action: Accept, matchOperator: NotEqual, cidr: '7000:1::0/64', "
	                      "prefixLength: {max: 96}}",
	                      "if ((net != [ 7000:1::0/64{64,96} ])) then { accept; }");
	assert_import_rule_v6("{action: Accept, matchOperator: NotIn, cidr: 'fd00::/8', "
	                      "prefixLength: {min: 48}}",
	                      "if ((net !~ [ fd00::/8{48,128} ])) then { accept; }");
}

static void test_source_interface(void **state)
{
	assert_export_rule_v4("{action: Accept, source: RemotePeers}",
	                      "if (((defined(source))&&(source ~ [ RTS_BGP ]))) then { accept; }");
	assert_export_rule_v4("{action: Reject, interface: 'eth*'}",
	                      "if (((defined(ifname))&&(ifname ~ \"eth*\"))) then { reject; }");
}

static void test_communities(void **state)
{
	assert_export_rule_v4("{action: Accept, communities: {values: ['65000:100']}}",
	                      "if (((65000, 100) ~ bgp_community)) then { accept; }");
	assert_export_rule_v4("{action: Accept, communities: {values: ['4294967295:0:7']}}",
	                      "if (((4294967295, 0, 7) ~ bgp_large_community)) then { accept; }");
	assert_export_rule_v4("{action: Accept, communities: {values: ['0:0']}}",
	                      "if (((0, 0) ~ bgp_community)) then { accept; }");
}

static void test_as_path_and_priority(void **state)
{
	assert_export_rule_v4("{action: Accept, asPathPrefix: [65000, 65001]}",
	                      "if ((bgp_path ~ [= 65000 65001 * =])) then { accept; }");
	assert_export_rule_v4(
	    "{action: Accept, priority: 512}",
	    "if ((defined(bgp_local_pref)&&(bgp_local_pref = 2147483135))) then { accept; }");
	assert_export_rule_v4(
	    "{action: Accept, priority: 100}",
	    "if ((defined(bgp_local_pref)&&(bgp_local_pref = 2147483547))) then { accept; }");
	assert_export_rule_v4(
	    "{action: Accept, priority: 200}",
	    "if ((defined(bgp_local_pref)&&(bgp_local_pref = 2147483447))) then { accept; }");
	assert_export_rule_v4(
	    "{action: Accept, priority: 256}",
	    "if ((defined(bgp_local_pref)&&(bgp_local_pref = 2147483391))) then { accept; }");
}

static void test_condition_order(void **state)
{
	/* Written in reverse order; rendered cidr, source, interface, community,
	 * AS path, priority, joined by && without spaces. */
	assert_export_rule_v4(
	    "{priority: 512, asPathPrefix: [65000], communities: {values: ['65000:1']}, "
	    "interface: 'eth0', source: RemotePeers, cidr: 10.0.0.0/8, matchOperator: In, "
	    "action: Accept}",
	    "if ((net ~ 10.0.0.0/8)&&((defined(source))&&(source ~ [ RTS_BGP ]))"
	    "&&((defined(ifname))&&(ifname ~ \"eth0\"))&&((65000, 1) ~ bgp_community)"
	    "&&(bgp_path ~ [= 65000 * =])"
	    "&&(defined(bgp_local_pref)&&(bgp_local_pref = 2147483135))) then { accept; }");
}

static void test_bare_action(void **state)
{
	assert_export_rule_v4("{action: Reject}", "reject;");
	assert_export_rule_v4("{action: Accept}", "accept;");
	/* Operations without conditions: a bare statement list. */
	assert_export_rule_v4("{action: Accept, operations: [{setPriority: {value: 512}}]}",
	                      "bgp_local_pref = 2147483135; accept;");
}

static void test_operations(void **state)
{
	assert_export_rule_v4(
	    "{action: Accept, communities: {values: ['65000:42']}, operations: ["
	    "{addCommunity: {value: '65001:200'}}, {prependASPath: {prefix: [65000]}}]}",
	    "if (((65000, 42) ~ bgp_community)) then { bgp_community.add((65001, 200)); "
	    "bgp_path.prepend(65000); accept; }");
	assert_export_rule_v4("{action: Accept, priority: 512, operations: ["
	                      "{addCommunity: {value: '65000:100:1'}}]}",
	                      "if ((defined(bgp_local_pref)&&(bgp_local_pref = 2147483135))) then "
	                      "{ bgp_large_community.add((65000, 100, 1)); accept; }");
	/* prependASPath [a, b, c] prepends c, b, a so the path starts a b c. */
	assert_export_rule_v4(
	    "{action: Accept, operations: [{prependASPath: {prefix: [1, 2, 3]}}]}",
	    "bgp_path.prepend(3); bgp_path.prepend(2); bgp_path.prepend(1); "
	    "accept;");
	/* Operations keep list order. */
	assert_export_rule_v4("{action: Accept, operations: [{setPriority: {value: 100}}, "
	                      "{addCommunity: {value: '1:2'}}, {prependASPath: {prefix: [7]}}]}",
	                      "bgp_local_pref = 2147483547; bgp_community.add((1, 2)); "
	                      "bgp_path.prepend(7); accept;");
	assert_import_rule_v6("{action: Accept, communities: {values: ['65000:100']}, "
	                      "operations: [{setPriority: {value: 100}}]}",
	                      "if (((65000, 100) ~ bgp_community)) then { bgp_local_pref = "
	                      "2147483547; accept; }");
}

static void test_peer_type(void **state)
{
	/* The peer_type reference case: peerType in export only for v4 import
	 * with iBGP; signatures follow per direction. */
	assert_text(render(HEAD "  importV4:\n"
	                        "    - {action: Accept, peerType: iBGP, communities: {values: "
	                        "['65000:100']}, operations: [{setPriority: {value: 100}}]}\n"
	                        "    - {action: Accept}\n"
	                        "  exportV4:\n"
	                        "    - {action: Accept, peerType: eBGP, matchOperator: In, cidr: "
	                        "10.0.0.0/8}\n"
	                        "    - {action: Reject, peerType: iBGP, matchOperator: In, cidr: "
	                        "172.16.0.0/12}\n"
	                        "    - {action: Reject}\n",
	                   BGP_V4),
	            "# v4 BGPFilter f\n"
	            "function 'bgp_f_importFilterV4'(bool is_same_as) {\n"
	            "  if (is_same_as) then { if (((65000, 100) ~ bgp_community)) then { "
	            "bgp_local_pref = 2147483547; accept; } }\n"
	            "  accept;\n"
	            "}\n"
	            "function 'bgp_f_exportFilterV4'(bool is_same_as) {\n"
	            "  if (!is_same_as) then { if ((net ~ 10.0.0.0/8)) then { accept; } }\n"
	            "  if (is_same_as) then { if ((net ~ 172.16.0.0/12)) then { reject; } }\n"
	            "  reject;\n"
	            "}\n");
	/* A bare rule with a peerType is still wrapped. */
	assert_text(render(HEAD "  exportV4:\n    - {action: Reject, peerType: eBGP}\n"
	                        "  importV4:\n    - {action: Accept}\n",
	                   BGP_V4),
	            "# v4 BGPFilter f\n"
	            "function 'bgp_f_importFilterV4'() {\n  accept;\n}\n"
	            "function 'bgp_f_exportFilterV4'(bool is_same_as) {\n"
	            "  if (!is_same_as) then { reject; }\n}\n");
}

static void test_name_truncation(void **state)
{
	char name[65];

	bird_filter_function_name("45characters.exactly.so.should.not.truncate-1", BGP_IMPORT,
	                          BGP_V4, name);
	assert_string_equal(name,
	                    "bgp_45characters.exactly.so.should.not.truncate-1_importFilterV4");
	assert_int_equal(strlen(name), 64);
	bird_filter_function_name("46characters.exactly.so.should.truncate-123456", BGP_EXPORT,
	                          BGP_V6, name);
	assert_string_equal(name,
	                    "bgp_46characters.exactly.so.shou_9615CBDC00BAC628_exportFilterV6");
	bird_filter_function_name(
	    "greater-than-64-characters.so.this.should.definitely.truncate-1234567890", BGP_IMPORT,
	    BGP_V4, name);
	assert_string_equal(name,
	                    "bgp_greater-than-64-characters.s_4C5DB3273E544641_importFilterV4");
	/* The same name at definition sites. */
	char *t = render(
	    "kind: BGPFilter\nmetadata: {name: 46characters.exactly.so.should.truncate-123456}\n"
	    "spec:\n  exportV4:\n    - {action: Reject}\n",
	    BGP_V4);
	assert_non_null(strstr(t, "# v4 BGPFilter 46characters.exactly.so.should.truncate-123456\n"
	                          "function 'bgp_46characters.exactly.so.shou_9615CBDC00BAC628_"
	                          "exportFilterV4'() {\n"));
	free(t);
}

static void test_family_and_order(void **state)
{
	const char *yaml = "kind: BGPFilter\nmetadata: {name: zeta}\nspec:\n"
	                   "  exportV4:\n    - {action: Reject}\n"
	                   "---\nkind: BGPFilter\nmetadata: {name: only-v6}\nspec:\n"
	                   "  importV6:\n    - {action: Accept}\n"
	                   "---\nkind: BGPFilter\nmetadata: {name: alpha}\nspec:\n"
	                   "  importV4:\n    - {action: Accept}\n"
	                   "---\nkind: BGPFilter\nmetadata: {name: empty}\nspec: {}\n";

	/* Sorted by name; a filter without rules for the family is left out. */
	assert_text(render(yaml, BGP_V4),
	            "# v4 BGPFilter alpha\nfunction 'bgp_alpha_importFilterV4'() {\n  accept;\n}\n"
	            "# v4 BGPFilter zeta\nfunction 'bgp_zeta_exportFilterV4'() {\n  reject;\n}\n");
	assert_text(render(yaml, BGP_V6),
	            "# v6 BGPFilter only-v6\nfunction 'bgp_only-v6_importFilterV6'() {\n"
	            "  accept;\n}\n");
	assert_text(render(HEAD "  exportV4:\n    - {action: Reject}\n", BGP_V6),
	            "# No v6 BGPFilters configured\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match_operators), cmocka_unit_test(test_cidr_verbatim),
	    cmocka_unit_test(test_prefix_length),   cmocka_unit_test(test_source_interface),
	    cmocka_unit_test(test_communities),     cmocka_unit_test(test_as_path_and_priority),
	    cmocka_unit_test(test_condition_order), cmocka_unit_test(test_bare_action),
	    cmocka_unit_test(test_operations),      cmocka_unit_test(test_peer_type),
	    cmocka_unit_test(test_name_truncation), cmocka_unit_test(test_family_and_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
