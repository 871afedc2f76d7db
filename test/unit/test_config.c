/* test_config.c - route priority resolution (calico-semantics C.1) and
 * Kubernetes durations. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>

#include "core/config.h"
#include "core/engine.h"

static struct felix_config fc(const char *name, unsigned set, uint32_t v4n, uint32_t v4e,
                              uint32_t v6n, uint32_t v6e, uint64_t conv)
{
	return (struct felix_config){.name = (char *)name,
	                             .set = set,
	                             .ipv4_normal = v4n,
	                             .ipv4_elevated = v4e,
	                             .ipv6_normal = v6n,
	                             .ipv6_elevated = v6e,
	                             .convergence_ms = conv};
}

static void assert_rc(const struct route_config *rc, uint32_t v4n, uint32_t v4e, uint32_t v6n,
                      uint32_t v6e, uint64_t conv)
{
	assert_int_equal(rc->normal[AF_IDX_V4], v4n);
	assert_int_equal(rc->elevated[AF_IDX_V4], v4e);
	assert_int_equal(rc->normal[AF_IDX_V6], v6n);
	assert_int_equal(rc->elevated[AF_IDX_V6], v6e);
	assert_int_equal(rc->convergence_ms, conv);
}

static void test_defaults(void **state)
{
	struct route_config rc;
	struct herr warn;

	memset(&rc, 0xff, sizeof(rc));
	route_config_defaults(&rc);
	assert_rc(&rc, 1024, 512, 1024, 512, 30000);

	/* Nothing known: the defaults, no warning. */
	memset(&warn, 'x', sizeof(warn));
	route_config_resolve(NULL, 0, "n1", &rc, &warn);
	assert_rc(&rc, 1024, 512, 1024, 512, 30000);
	assert_string_equal(warn.msg, "");
}

static void test_precedence_field_by_field(void **state)
{
	struct felix_config def = fc("default", FC_IPV4_NORMAL | FC_IPV4_ELEVATED | FC_CONVERGENCE,
	                             2000, 1000, 0, 0, 8000);
	struct felix_config node =
	    fc("node.n1", FC_IPV4_ELEVATED | FC_IPV6_NORMAL, 0, 900, 3000, 0, 0);
	struct felix_config other = fc("node.n2", FC_IPV4_NORMAL | FC_CONVERGENCE, 5, 0, 0, 0, 1);
	struct felix_config unrelated = fc("somethingelse", FC_IPV6_ELEVATED, 0, 0, 0, 7, 0);
	struct route_config rc;
	struct herr warn;

	/* Node object listed first: order of the input does not matter. */
	const struct felix_config *objs[] = {&node, &other, &unrelated, NULL, &def};
	route_config_resolve(objs, 5, "n1", &rc, &warn);
	/* v4 normal from default, v4 elevated from node, v6 normal from node,
	 * v6 elevated stays default, convergence from default. */
	assert_rc(&rc, 2000, 900, 3000, 512, 8000);
	assert_string_equal(warn.msg, "");

	/* Another node sees its own object, not n1's. */
	route_config_resolve(objs, 5, "n2", &rc, &warn);
	assert_rc(&rc, 5, 1000, 1024, 512, 1);
	/* ...and that makes v4 elevated >= normal: warned, still applied. */
	assert_non_null(strstr(warn.msg, "IPv4 elevated route priority 1000 is not below normal "
	                                 "priority 5"));
	assert_null(strstr(warn.msg, "IPv6"));

	/* No node name: only `default` applies. */
	route_config_resolve(objs, 5, NULL, &rc, &warn);
	assert_rc(&rc, 2000, 1000, 1024, 512, 8000);
	route_config_resolve(objs, 5, "", &rc, &warn);
	assert_rc(&rc, 2000, 1000, 1024, 512, 8000);

	/* Only a node object, no default. */
	const struct felix_config *only_node[] = {&node};
	route_config_resolve(only_node, 1, "n1", &rc, NULL);
	assert_rc(&rc, 1024, 900, 3000, 512, 30000);
}

static void test_elevated_not_below_normal_warns(void **state)
{
	struct felix_config def = fc(
	    "default", FC_IPV4_ELEVATED | FC_IPV6_NORMAL | FC_IPV6_ELEVATED, 0, 1024, 100, 100, 0);
	const struct felix_config *objs[] = {&def};
	struct route_config rc;
	struct herr warn;

	route_config_resolve(objs, 1, "n1", &rc, &warn);
	/* Applied as configured (Calico does not enforce the order). */
	assert_rc(&rc, 1024, 1024, 100, 100, 30000);
	assert_non_null(strstr(warn.msg, "IPv4 elevated route priority 1024 is not below normal "
	                                 "priority 1024"));
	assert_non_null(strstr(warn.msg, "IPv6 elevated route priority 100 is not below normal "
	                                 "priority 100"));
}

static void test_durations_valid(void **state)
{
	static const struct {
		const char *text;
		uint64_t ms;
	} ok[] = {
	    {"30s", 30000},
	    {"1m30s", 90000},
	    {"500ms", 500},
	    {"1h", 3600000},
	    {"1.5s", 1500},
	    {"0s", 0},
	    {"0", 0},
	    {"1h1m1s1ms", 3661001},
	    {"0.5m", 30000},
	    {".5s", 500},
	    {"1.s", 1000},
	    {"2m", 120000},
	    {"1.0009s", 1000},
	    {"90s", 90000},
	    {"1s500ms", 1500},
	    {"0.0001ms", 0},
	    {"8760h", 31536000000ull},
	};
	struct herr err;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t ms = 12345;
		if (parse_k8s_duration(ok[i].text, &ms, &err) != 0)
			fail_msg("\"%s\" rejected: %s", ok[i].text, err.msg);
		if (ms != ok[i].ms)
			fail_msg("\"%s\" -> %llu ms, want %llu", ok[i].text, (unsigned long long)ms,
			         (unsigned long long)ok[i].ms);
	}
}

static void test_durations_invalid(void **state)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
	    {"30x", "\"30x\" is not a duration (expected e.g. 30s, 1m30s, 500ms)"},
	    {"30", "\"30\" is not a duration"},
	    {"", "\"\" is not a duration"},
	    {"s", "\"s\" is not a duration"},
	    {".s", "\".s\" is not a duration"},
	    {"1m 30s", "\"1m 30s\" is not a duration"},
	    {"30S", "\"30S\" is not a duration"},
	    {"10us", "\"10us\" is not a duration"},
	    {"1d", "\"1d\" is not a duration"},
	    {"+5s", "\"+5s\" is not a duration"},
	    {"-5s", "\"-5s\" is negative"},
	    {"-0s", "\"-0s\" is negative"},
	    {"99999999999999999999h", "is too large"},
	    {"5124095576030431h", "is too large"},
	};
	struct herr err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t ms = 777;
		int r = parse_k8s_duration(bad[i].text, &ms, &err);
		if (r != -EINVAL)
			fail_msg("\"%s\" gave %d (%llu ms), want -EINVAL", bad[i].text, r,
			         (unsigned long long)ms);
		if (!strstr(err.msg, bad[i].want))
			fail_msg("\"%s\": message \"%s\" lacks \"%s\"", bad[i].text, err.msg,
			         bad[i].want);
		assert_int_equal(ms, 777); /* untouched on failure */
	}
}

/* The engine resolves from every FelixConfiguration it holds, however many:
 * `default` arriving 70th still counts (the engine once read only 64). */
static void engine_reads_default_after_many_others(void **state)
{
	struct engine *e = engine_new("n1");
	struct decisions d = {0};
	struct herr err = {{0}};
	char name[32];

	for (int i = 0; i < 70; i++) {
		snprintf(name, sizeof(name), "other-%02d", i);
		json_t *o =
		    json_pack("{s:s,s:s,s:{s:s},s:{s:i}}", "apiVersion", "projectcalico.org/v3",
		              "kind", "FelixConfiguration", "metadata", "name", name, "spec",
		              "ipv4NormalRoutePriority", 100 + i);
		assert_int_equal(engine_apply(e, o, 1000, &d, &err), 0);
		json_decref(o);
	}
	json_t *def =
	    json_pack("{s:s,s:s,s:{s:s},s:{s:i,s:i}}", "apiVersion", "projectcalico.org/v3", "kind",
	              "FelixConfiguration", "metadata", "name", "default", "spec",
	              "ipv4NormalRoutePriority", 2000, "ipv4ElevatedRoutePriority", 1500);
	assert_int_equal(engine_apply(e, def, 1000, &d, &err), 0);
	json_decref(def);
	assert_rc(engine_route_config(e), 2000, 1500, 1024, 512, 30000);
	decisions_free(&d);
	engine_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_precedence_field_by_field),
	    cmocka_unit_test(test_elevated_not_below_normal_warns),
	    cmocka_unit_test(test_durations_valid),
	    cmocka_unit_test(test_durations_invalid),
	    cmocka_unit_test(engine_reads_default_after_many_others),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
