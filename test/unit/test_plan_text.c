/* test_plan_text.c - the plan's route, ARP and capture texts: every IPv4
 * octet value is written as inet_ntop writes it, IPv6 canonically, with the
 * host prefix length; long interface names and keys are cut as snprintf
 * would cut them. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/plan.h"

static void test_every_ipv4_octet(void **state)
{
	struct route_config cfg;
	char(*addrs)[HANDOFF_ADDRSIZ] = calloc(256, sizeof(*addrs));
	struct endpoint ep = {.key = "ns/pod", .addrs = addrs, .naddrs = 256};
	const struct endpoint *one = &ep;
	struct plan p = {0};

	route_config_defaults(&cfg);
	snprintf(ep.ifname, sizeof(ep.ifname), "ho0123456789ab");
	for (int v = 0; v < 256; v++)
		snprintf(addrs[v], HANDOFF_ADDRSIZ, "%d.%d.%d.%d", v, 255 - v, v % 10, v / 3);
	assert_int_equal(plan_compute(&one, 1, NULL, &cfg, &p), 0);
	assert_int_equal(p.nroutes, 256);
	assert_int_equal(p.narps, 1);
	assert_int_equal(p.arps[0].naddrs, 256);
	for (int v = 0; v < 256; v++) {
		unsigned char b[4] = {(unsigned char)v, (unsigned char)(255 - v),
		                      (unsigned char)(v % 10), (unsigned char)(v / 3)};
		char want[INET_ADDRSTRLEN + 3];
		inet_ntop(AF_INET, b, want, sizeof(want));
		assert_string_equal(p.arps[0].addrs[v], want);
		strcat(want, "/32");
		assert_non_null(plan_find_route(&p, want));
		assert_string_equal(plan_find_route(&p, want)->dst, want);
	}
	/* Sorted numerically: 0.255.0.0 first, 255.0.5.85 last. */
	assert_string_equal(p.routes[0].dst, "0.255.0.0/32");
	assert_string_equal(p.routes[255].dst, "255.0.5.85/32");
	plan_free(&p);
	free(addrs);
}

static void test_ipv6_and_long_names(void **state)
{
	struct route_config cfg;
	char addrs[2][HANDOFF_ADDRSIZ] = {"fd00:0:0:0:0:0:0:a",
	                                  "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"};
	char key[400];
	struct endpoint ep = {.key = key, .addrs = addrs, .naddrs = 2};
	const struct endpoint *one = &ep;
	struct plan p = {0};

	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	route_config_defaults(&cfg);
	snprintf(ep.ifname, sizeof(ep.ifname), "ho0123456789ab");
	assert_int_equal(plan_compute(&one, 1, NULL, &cfg, &p), 0);
	assert_int_equal(p.nroutes, 2);
	assert_string_equal(p.routes[0].dst, "fd00::a/128");
	/* A long IPv6 text, with its prefix length, fits. */
	assert_string_equal(p.routes[1].dst, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	assert_string_equal(p.routes[1].ifname, "ho0123456789ab");
	/* A key longer than any fixed field is kept whole. */
	assert_string_equal(p.routes[1].endpoint_key, key);
	assert_ptr_equal(p.routes[0].endpoint_key, p.routes[1].endpoint_key); /* stored once */
	assert_int_equal(p.narps, 0); /* IPv6 only: no ARP drops */
	plan_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_ipv4_octet),
	    cmocka_unit_test(test_ipv6_and_long_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
