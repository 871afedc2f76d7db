/* test_link.c - host interface setup and veth creation on a real kernel
 * (root, network namespaces).
 *
 * Topology (created per test, removed after):
 *   node ns: hv0 <-> wl ns: eth0 (10.65.0.10/32, default route via hv0)
 *            up0 (192.0.2.1/24, default route via 192.0.2.2) <-> upp0
 * up0 gives the node a route to the gateway address 169.254.1.1 that does not
 * go back out of hv0, which is when the kernel answers ARP by proxy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/link.h"
#include "netns/nsutil.h"

static char node_ns[32], wl_ns[32];
static int home_fd = -1;

static int setup(void **state)
{
	if (!ns_have_root()) {
		fprintf(stderr, "test_link: needs root (network namespaces)\n");
		return -1;
	}
	ns_name(node_ns, "lknode");
	ns_name(wl_ns, "lkwl");
	if (ns_create(node_ns) || ns_create(wl_ns))
		return -1;
	if (sh("ip -n %s link add hv0 type veth peer name eth0 netns %s", node_ns, wl_ns) ||
	    sh("ip -n %s link add up0 type veth peer name upp0", node_ns) ||
	    sh("ip -n %s link set upp0 up && ip -n %s link set up0 up && "
	       "ip -n %s addr add 192.0.2.1/24 dev up0 && "
	       "ip -n %s route add default via 192.0.2.2 dev up0",
	       node_ns, node_ns, node_ns, node_ns) ||
	    sh("ip -n %s addr add 10.65.0.10/32 dev eth0 && ip -n %s link set eth0 up && "
	       "ip -n %s route add 169.254.1.1 dev eth0 && "
	       "ip -n %s route add default via 169.254.1.1 dev eth0",
	       wl_ns, wl_ns, wl_ns, wl_ns))
		return -1;
	home_fd = ns_enter(node_ns);
	return home_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	ns_leave(home_fd);
	home_fd = -1;
	ns_delete(wl_ns);
	ns_delete(node_ns);
	return 0;
}

static const char *out_of(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *out_of(const char *fmt, ...)
{
	static char out[4096];
	char cmd[1024];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out[0] = '\0';
	sh_out(out, sizeof(out), "%s", cmd);
	n = strlen(out);
	while (n && out[n - 1] == '\n')
		out[--n] = '\0';
	return out;
}

static const char *node_sysctl(const char *key)
{
	return out_of("ip netns exec %s cat /proc/sys/%s", node_ns, key);
}

/* The guest's ARP for its gateway: arping's reply lines ("Unicast reply from
 * 169.254.1.1 [EE:EE:...]"), empty when nobody answered within a second. */
static const char *arp_gateway(void)
{
	return out_of("ip netns exec %s arping -c 1 -w 1 -I eth0 -s 10.65.0.10 169.254.1.1 | "
	              "grep -i 'reply from' | tr A-F a-f",
	              wl_ns);
}

static void test_setup_host_iface(void **state)
{
	struct herr err = {{0}};

	/* Before: no proxy ARP, so the guest's gateway does not answer. */
	assert_string_equal(arp_gateway(), "");

	if (link_setup_host_iface("hv0", NULL, &err) != 0)
		fail_msg("link_setup_host_iface: %s", err.msg);
	assert_string_equal(out_of("ip -n %s -br link show hv0 | awk '{print $3}'", node_ns),
	                    "ee:ee:ee:ee:ee:ee");
	assert_non_null(strstr(out_of("ip -n %s link show hv0", node_ns), ",UP"));
	assert_string_equal(node_sysctl("net/ipv4/conf/hv0/proxy_arp"), "1");
	assert_string_equal(node_sysctl("net/ipv4/neigh/hv0/proxy_delay"), "0");
	assert_string_equal(node_sysctl("net/ipv4/conf/hv0/rp_filter"), "0");
	assert_string_equal(node_sysctl("net/ipv4/conf/hv0/forwarding"), "1");
	assert_string_equal(node_sysctl("net/ipv6/conf/hv0/accept_ra"), "0");
	assert_string_equal(node_sysctl("net/ipv6/conf/hv0/forwarding"), "1");

	/* After: the gateway answers with the fixed host MAC. */
	assert_non_null(strstr(arp_gateway(), "[ee:ee:ee:ee:ee:ee]"));

	/* Idempotent, and another MAC can be chosen. */
	assert_int_equal(link_setup_host_iface("hv0", NULL, &err), 0);
	assert_int_equal(link_setup_host_iface("hv0", "02:00:5e:00:00:01", &err), 0);
	assert_string_equal(out_of("ip -n %s -br link show hv0 | awk '{print $3}'", node_ns),
	                    "02:00:5e:00:00:01");
}

static void test_setup_bad_input(void **state)
{
	struct herr err = {{0}};

	assert_int_equal(link_setup_host_iface("hv0", "01:00:5e:00:00:01", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "field mac"));
	assert_non_null(strstr(err.msg, "multicast"));
	assert_int_equal(link_setup_host_iface("hv0", "ee:ee:ee:ee:ee", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "field mac"));
	assert_int_equal(link_setup_host_iface("nosuchif0", NULL, &err), -ENODEV);
	assert_non_null(strstr(err.msg, "nosuchif0"));
	assert_int_equal(link_setup_host_iface("../all", NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "field ifname"));
	/* Nothing was changed by the rejected calls. */
	assert_string_equal(node_sysctl("net/ipv4/conf/hv0/proxy_arp"), "0");

	assert_int_equal(link_sysctl_write("net/ipv4/conf/nosuchif0/proxy_arp", "1", &err),
	                 -ENOENT);
	assert_non_null(strstr(err.msg, "nosuchif0"));
}

static void test_veth_into_namespace(void **state)
{
	struct herr err = {{0}};
	int fd = link_netns_open(wl_ns, &err);

	assert_true(fd >= 0);
	if (link_veth_create("hv1", "eth1", fd, &err) != 0)
		fail_msg("link_veth_create: %s", err.msg);
	assert_non_null(strstr(out_of("ip -n %s -d link show hv1", node_ns), "veth"));
	assert_non_null(strstr(out_of("ip -n %s -d link show eth1", wl_ns), "veth"));
	assert_int_not_equal(sh("ip -n %s link show eth1 >/dev/null 2>&1", node_ns), 0);

	/* The name is taken: a clear EEXIST, nothing else created. */
	assert_int_equal(link_veth_create("hv1", "eth2", fd, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "hv1"));
	assert_int_not_equal(sh("ip -n %s link show eth2 >/dev/null 2>&1", wl_ns), 0);

	assert_int_equal(link_veth_create("averyveryverylongname", "eth3", fd, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "field host_if"));
	close(fd);

	/* Without a namespace both ends stay here. */
	assert_int_equal(link_veth_create("hv2", "pv2", -1, &err), 0);
	assert_int_equal(sh("ip -n %s link show pv2 >/dev/null", node_ns), 0);

	assert_int_equal(link_delete("hv1", &err), 0);
	assert_int_not_equal(sh("ip -n %s link show eth1 >/dev/null 2>&1", wl_ns), 0);
	assert_int_equal(link_delete("hv1", &err), -ENODEV);

	assert_true(link_netns_open("no-such-ns-handoff", &err) < 0);
	assert_non_null(strstr(err.msg, "no-such-ns-handoff"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_setup_host_iface, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_setup_bad_input, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_veth_into_namespace, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
