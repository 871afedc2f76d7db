/* test_priority_check.c - FelixConfiguration priorities against the
 * BGPConfiguration and BGPFilters that must agree with them (seed 001). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <string.h>

#include "priority_check.h"
#include "util/yaml_json.h"

static void load(struct bgp_resources *set, const char *yaml)
{
	struct yaml_docs d = {0};
	struct herr err = {{0}};

	if (yaml_parse(yaml, strlen(yaml), &d, &err) < 0)
		fail_msg("%s", err.msg);
	for (size_t i = 0; i < d.n; i++)
		if (bgp_resources_add(set, d.v[i], &err) < 0)
			fail_msg("%s", err.msg);
	yaml_docs_free(&d);
}

/* The seed's filter: export priority 512 tagged, import community -> 512. */
static const char *FILTER =
    "apiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata: {name: kubevirt-lm}\n"
    "spec:\n"
    "  exportV4: [{action: Accept, peerType: eBGP, priority: 512,\n"
    "              operations: [{addCommunity: {value: '65000:100'}}]}]\n"
    "  importV4: [{action: Accept, communities: {values: ['65000:100']},\n"
    "              operations: [{setPriority: {value: 512}}]}]\n";

static void consistent_resources_say_nothing(void **state)
{
	struct bgp_resources set = {0};
	struct route_config rc;
	char **w;

	route_config_defaults(&rc); /* 1024 / 512 */
	load(&set, FILTER);
	assert_int_equal(priority_check(&rc, &set, &w), 0);
	priority_check_free(w, 0);
	bgp_resources_free(&set);
}

static void disagreements_are_named(void **state)
{
	struct bgp_resources set = {0};
	struct route_config rc;
	char **w;

	/* Felix moved to 2000 / 1000 for IPv4; nothing else followed. */
	route_config_defaults(&rc);
	rc.normal[AF_IDX_V4] = 2000;
	rc.elevated[AF_IDX_V4] = 1000;
	load(&set, FILTER);
	load(&set, "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\n"
	           "metadata: {name: default}\nspec: {ipv6NormalRoutePriority: 1024}\n");
	int n = priority_check(&rc, &set, &w);
	assert_int_equal(n, 3);
	assert_string_equal(w[0], "BGPConfiguration default: ipv4NormalRoutePriority 1024 differs "
	                          "from FelixConfiguration's IPv4 normal route priority 2000 (they "
	                          "must be equal)");
	assert_string_equal(w[1], "BGPFilter kubevirt-lm: importV4[0].operations.setPriority 512 "
	                          "is neither the normal (2000) nor the elevated (1000) IPv4 route "
	                          "priority of FelixConfiguration");
	assert_string_equal(w[2], "BGPFilter kubevirt-lm: exportV4[0].priority 512 is neither the "
	                          "normal (2000) nor the elevated (1000) IPv4 route priority of "
	                          "FelixConfiguration");
	priority_check_free(w, (size_t)n);
	bgp_resources_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(consistent_resources_say_nothing),
	    cmocka_unit_test(disagreements_are_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
