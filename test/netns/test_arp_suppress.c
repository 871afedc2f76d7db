/* test_arp_suppress.c - the handoff-arp nftables table on a real kernel.
 *
 * Topology (created here, removed at the end), the B.8 situation:
 *   wl ns:     eth0 10.65.0.10/32, 10.65.0.11/32, default dev eth0
 *   node ns:   hsA<pid> (proxy_arp=1, proxy_delay=0), forwarding on,
 *              10.65.0.0/24 via hsR<pid> (another node holds the VM's route)
 *   remote ns: the other end of hsR (10.99.0.2)
 * A guest's ARP request for 10.65.0.20 or for its own 10.65.0.10 is answered
 * by the node's proxy ARP, because the node routes both elsewhere. The table
 * must drop the reply that claims the guest's own address and let the other
 * one through. The guest's arping exit status says whether a reply arrived;
 * the rule counters say that our rule is what dropped it. */
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

#include "core/plan.h"
#include "dataplane/arp_suppress.h"
#include "netns/nsutil.h"

static char node_ns[32], wl_ns[32], remote_ns[32];
static char if_a[16], if_r[16];
static int home_fd = -1;

static int setup(void **state)
{
	if (!ns_have_root()) {
		fprintf(stderr, "test_arp_suppress: needs root (network namespaces)\n");
		return -1;
	}
	ns_name(node_ns, "arpnode");
	ns_name(wl_ns, "arpwl");
	ns_name(remote_ns, "arpremote");
	snprintf(if_a, sizeof(if_a), "hsA%d", (int)getpid() % 1000000);
	snprintf(if_r, sizeof(if_r), "hsR%d", (int)getpid() % 1000000);
	if (ns_create(node_ns) || ns_create(wl_ns) || ns_create(remote_ns))
		return -1;
	if (sh("ip -n %s link add %s type veth peer name eth0 netns %s", node_ns, if_a, wl_ns) ||
	    sh("ip -n %s link add %s type veth peer name eth0 netns %s", node_ns, if_r,
	       remote_ns) ||
	    sh("ip netns exec %s sh -c 'sysctl -qw net.ipv4.ip_forward=1 "
	       "net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.%s.rp_filter=0 "
	       "net.ipv4.conf.%s.proxy_arp=1 net.ipv4.neigh.%s.proxy_delay=0'",
	       node_ns, if_a, if_a, if_a) ||
	    sh("ip -n %s link set %s up && ip -n %s addr add 10.99.0.1/24 dev %s && "
	       "ip -n %s link set %s up && ip -n %s route add 10.65.0.0/24 via 10.99.0.2",
	       node_ns, if_a, node_ns, if_r, node_ns, if_r, node_ns) ||
	    sh("ip -n %s addr add 10.99.0.2/24 dev eth0 && ip -n %s link set eth0 up", remote_ns,
	       remote_ns) ||
	    sh("ip -n %s addr add 10.65.0.10/32 dev eth0 && ip -n %s addr add 10.65.0.11/32 dev "
	       "eth0 && ip -n %s link set eth0 up && ip -n %s route add default dev eth0",
	       wl_ns, wl_ns, wl_ns, wl_ns))
		return -1;
	/* The nftables socket is opened by arp_suppress_sync() in the calling
	 * thread's namespace. */
	home_fd = ns_enter(node_ns);
	return home_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	ns_leave(home_fd);
	ns_delete(remote_ns);
	ns_delete(wl_ns);
	ns_delete(node_ns);
	return 0;
}

/* ---- plans ------------------------------------------------------------------ */

static char addrs_a[2][HANDOFF_ADDRSIZ] = {"10.65.0.10", "10.65.0.11"};
static char addrs_b[1][HANDOFF_ADDRSIZ] = {"10.66.0.10"};

/* Workload A (the real veth) and/or workload B (an interface that need not exist). */
static void make_plan(struct plan *p, struct plan_arp arps[2], bool with_a, bool with_b)
{
	memset(p, 0, sizeof(*p));
	memset(arps, 0, 2 * sizeof(arps[0]));
	size_t n = 0;
	if (with_a) {
		snprintf(arps[n].ifname, sizeof(arps[n].ifname), "%s", if_a);
		arps[n].addrs = addrs_a;
		arps[n].naddrs = 2;
		n++;
	}
	if (with_b) {
		snprintf(arps[n].ifname, sizeof(arps[n].ifname), "hoB%d", (int)getpid() % 1000000);
		arps[n].addrs = addrs_b;
		arps[n].naddrs = 1;
		n++;
	}
	p->arps = arps;
	p->narps = n;
}

static void sync_ok(const struct plan *p)
{
	struct herr err = {{0}};
	int r = arp_suppress_sync(p, &err);
	if (r != 0)
		fail_msg("arp_suppress_sync: %d %s", r, err.msg);
}

static void list_table(char *buf, int len)
{
	buf[0] = '\0';
	sh_out(buf, len, "nft list table arp %s 2>&1", ARP_SUPPRESS_TABLE);
}

/* Does the guest get an answer to its ARP request for `ip`? (arping exits 0
 * when a reply arrived within the deadline.) */
static bool guest_gets_reply(const char *ip)
{
	return sh("ip netns exec %s arping -q -c1 -w1 -I eth0 %s", wl_ns, ip) == 0;
}

/* The packet counter of the drop rule for `ip` in workload A's chain. */
static long drop_counter(const char *ip)
{
	char out[4096], pat[128];
	const char *at;

	sh_out(out, sizeof(out), "nft list chain arp %s " ARP_SUPPRESS_CHAIN_PREFIX "%s",
	       ARP_SUPPRESS_TABLE, if_a);
	snprintf(pat, sizeof(pat), "arp saddr ip %s counter packets ", ip);
	at = strstr(out, pat);
	if (!at)
		return -1;
	return strtol(at + strlen(pat), NULL, 10);
}

/* ---- tests -------------------------------------------------------------- */

static void table_has_expected_chains_and_map(void **state)
{
	struct plan p;
	struct plan_arp arps[2];
	char out[8192], want[256];

	make_plan(&p, arps, true, true);
	sync_ok(&p);
	list_table(out, sizeof(out));
	assert_non_null(strstr(out, "table arp " ARP_SUPPRESS_TABLE " {"));
	assert_non_null(strstr(out, "map " ARP_SUPPRESS_MAP " {\n\t\ttype ifname : verdict"));
	snprintf(want, sizeof(want), "\"%s\" : goto " ARP_SUPPRESS_CHAIN_PREFIX "%s", if_a, if_a);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "\"%s\" : goto " ARP_SUPPRESS_CHAIN_PREFIX "%s",
	         arps[1].ifname, arps[1].ifname);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(
	    out,
	    "chain " ARP_SUPPRESS_BASE_CHAIN " {\n\t\ttype filter hook "
	    "output priority filter; policy accept;\n\t\toifname vmap @" ARP_SUPPRESS_MAP "\n\t}"));
	snprintf(want, sizeof(want),
	         "chain " ARP_SUPPRESS_CHAIN_PREFIX "%s {\n"
	         "\t\tarp operation reply arp saddr ip 10.65.0.10 counter packets 0 bytes 0 drop\n"
	         "\t\tarp operation reply arp saddr ip 10.65.0.11 counter packets 0 bytes 0 drop\n"
	         "\t}",
	         if_a);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want),
	         "chain " ARP_SUPPRESS_CHAIN_PREFIX "%s {\n"
	         "\t\tarp operation reply arp saddr ip 10.66.0.10 counter packets 0 bytes 0 drop\n"
	         "\t}",
	         arps[1].ifname);
	assert_non_null(strstr(out, want));

	/* A second sync with the same plan gives the same table. */
	char again[8192];
	sync_ok(&p);
	list_table(again, sizeof(again));
	assert_string_equal(out, again);
}

static void reply_with_own_ip_dropped_other_passes(void **state)
{
	struct plan p;
	struct plan_arp arps[2];
	struct herr err = {{0}};

	/* Control: without the table, the node proxy-answers both requests. */
	assert_int_equal(arp_suppress_remove(&err), 0);
	assert_true(guest_gets_reply("10.65.0.20"));
	assert_true(guest_gets_reply("10.65.0.10"));

	make_plan(&p, arps, true, true);
	sync_ok(&p);
	/* The guest asks for its own address: the node's reply is dropped. */
	assert_false(guest_gets_reply("10.65.0.10"));
	assert_int_equal(drop_counter("10.65.0.10"), 1);
	assert_int_equal(drop_counter("10.65.0.11"), 0);
	/* A reply for another address passes, and is not counted. */
	assert_true(guest_gets_reply("10.65.0.20"));
	assert_int_equal(drop_counter("10.65.0.10"), 1);
	assert_int_equal(drop_counter("10.65.0.11"), 0);
	/* The second own address is covered too. */
	assert_false(guest_gets_reply("10.65.0.11"));
	assert_int_equal(drop_counter("10.65.0.11"), 1);
}

static void removing_workload_removes_chain_and_element(void **state)
{
	struct plan p;
	struct plan_arp arps[2];
	char out[8192], want[128];

	make_plan(&p, arps, true, true);
	sync_ok(&p);
	assert_false(guest_gets_reply("10.65.0.10"));

	make_plan(&p, arps, false, true);
	sync_ok(&p);
	list_table(out, sizeof(out));
	snprintf(want, sizeof(want), "\"%s\"", if_a);
	assert_null(strstr(out, want));
	snprintf(want, sizeof(want), "chain " ARP_SUPPRESS_CHAIN_PREFIX "%s", if_a);
	assert_null(strstr(out, want));
	assert_null(strstr(out, "10.65.0.10"));
	/* Workload B is untouched. */
	snprintf(want, sizeof(want), "\"%s\" : goto", arps[0].ifname);
	assert_non_null(strstr(out, want));
	/* And the guest's own-address ARP is answered again. */
	assert_true(guest_gets_reply("10.65.0.10"));

	/* No workloads at all: the base chain and an empty map stay. */
	sync_ok(NULL);
	list_table(out, sizeof(out));
	assert_non_null(strstr(out, "oifname vmap @" ARP_SUPPRESS_MAP));
	assert_null(strstr(out, "elements"));
	assert_null(strstr(out, "chain " ARP_SUPPRESS_CHAIN_PREFIX));
}

static void start_rebuilds_table_from_plan(void **state)
{
	struct plan p;
	struct plan_arp arps[2];
	char out[8192], want[128];

	/* A table left by an earlier run, with a workload that is gone and a
	 * rule nobody wants. */
	assert_int_equal(
	    sh("nft -f - <<'EOF'\n"
	       "table arp %s {\n"
	       "  map %s { type ifname : verdict; elements = { \"stale0\" : goto wl-stale0 } }\n"
	       "  chain wl-stale0 { arp operation reply arp saddr ip 10.1.1.1 drop; }\n"
	       "  chain %s { type filter hook output priority 0; oifname vmap @%s; }\n"
	       "  chain junk { drop; }\n"
	       "}\nEOF",
	       ARP_SUPPRESS_TABLE, ARP_SUPPRESS_MAP, ARP_SUPPRESS_BASE_CHAIN, ARP_SUPPRESS_MAP),
	    0);
	make_plan(&p, arps, true, false);
	sync_ok(&p);
	list_table(out, sizeof(out));
	assert_null(strstr(out, "stale0"));
	assert_null(strstr(out, "junk"));
	assert_null(strstr(out, "10.1.1.1"));
	snprintf(want, sizeof(want), "\"%s\" : goto " ARP_SUPPRESS_CHAIN_PREFIX "%s", if_a, if_a);
	assert_non_null(strstr(out, want));
	assert_false(guest_gets_reply("10.65.0.10"));
}

static void bad_plan_rejected_and_table_kept(void **state)
{
	struct plan p;
	struct plan_arp arps[2];
	struct herr err = {{0}};
	char before[8192], after[8192];
	char v6[1][HANDOFF_ADDRSIZ] = {"fd00::10"};
	char junk[1][HANDOFF_ADDRSIZ] = {"10.65.0.300"};

	make_plan(&p, arps, true, false);
	sync_ok(&p);
	list_table(before, sizeof(before));

	make_plan(&p, arps, true, true);
	arps[1].addrs = v6;
	assert_int_equal(arp_suppress_sync(&p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, arps[1].ifname));
	assert_non_null(strstr(err.msg, "fd00::10"));
	assert_non_null(strstr(err.msg, "IPv4"));

	arps[1].addrs = junk;
	assert_int_equal(arp_suppress_sync(&p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "10.65.0.300"));

	make_plan(&p, arps, true, true);
	snprintf(arps[1].ifname, sizeof(arps[1].ifname), "%s", if_a);
	assert_int_equal(arp_suppress_sync(&p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, if_a));
	assert_non_null(strstr(err.msg, "twice"));

	make_plan(&p, arps, true, true);
	arps[1].ifname[0] = '\0';
	assert_int_equal(arp_suppress_sync(&p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "interface name"));

	/* Nothing was applied: the kernel's table is what the last good sync made. */
	list_table(after, sizeof(after));
	assert_string_equal(before, after);
	assert_false(guest_gets_reply("10.65.0.10"));
}

static void remove_deletes_table(void **state)
{
	struct plan p;
	struct plan_arp arps[2];
	struct herr err = {{0}};
	char out[512];

	make_plan(&p, arps, true, false);
	sync_ok(&p);
	assert_int_equal(arp_suppress_remove(&err), 0);
	list_table(out, sizeof(out));
	assert_non_null(strstr(out, "No such file or directory"));
	assert_true(guest_gets_reply("10.65.0.10"));
	/* Removing an absent table is not an error. */
	assert_int_equal(arp_suppress_remove(&err), 0);
}

static void many_workloads_in_one_batch(void **state)
{
	/* 2000 workloads x 2 addresses: far more than one netlink page. */
	enum { N = 2000 };
	struct plan_arp *arps = calloc(N, sizeof(*arps));
	char(*addrs)[HANDOFF_ADDRSIZ] = calloc(2 * N, HANDOFF_ADDRSIZ);
	struct plan p = {0};
	char out[256];

	assert_non_null(arps);
	assert_non_null(addrs);
	for (int i = 0; i < N; i++) {
		snprintf(arps[i].ifname, sizeof(arps[i].ifname), "ho%012x", i);
		snprintf(addrs[2 * i], HANDOFF_ADDRSIZ, "10.70.%d.%d", i / 256, i % 256);
		snprintf(addrs[2 * i + 1], HANDOFF_ADDRSIZ, "10.71.%d.%d", i / 256, i % 256);
		arps[i].addrs = &addrs[2 * i];
		arps[i].naddrs = 2;
	}
	p.arps = arps;
	p.narps = N;
	sync_ok(&p);
	sh_out(out, sizeof(out), "nft list table arp %s | grep -c 'counter packets'",
	       ARP_SUPPRESS_TABLE);
	assert_int_equal(atoi(out), 2 * N);
	sh_out(out, sizeof(out), "nft list table arp %s | grep -c ': goto wl-'",
	       ARP_SUPPRESS_TABLE);
	assert_int_equal(atoi(out), N);
	free(addrs);
	free(arps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(table_has_expected_chains_and_map),
	    cmocka_unit_test(reply_with_own_ip_dropped_other_passes),
	    cmocka_unit_test(removing_workload_removes_chain_and_element),
	    cmocka_unit_test(start_rebuilds_table_from_plan),
	    cmocka_unit_test(bad_plan_rejected_and_table_kept),
	    cmocka_unit_test(remove_deletes_table),
	    cmocka_unit_test(many_workloads_in_one_batch),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
