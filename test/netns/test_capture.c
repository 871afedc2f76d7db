/* test_capture.c - GARP/RARP capture on a real veth (root, network namespaces).
 *
 * Topology (all created here, removed at the end):
 *   node ns: hcA<pid> (10.65.0.1/24) <-> wl ns:  eth0 (10.65.0.10/24)
 *            hcB<pid> (10.66.0.1/24) <-> wl2 ns: eth0 (10.66.0.10/24)
 * The captures live in the node ns, on the host side, as in the watcher.
 *
 * Negative cases need proof that the frame reached the interface before we
 * assert "not detected": a second, plain pcap ("witness") on the same link
 * sees every inbound ARP/IPv4 frame; once it has read the frame, the capture's
 * socket has it too (the kernel hands a frame to every packet socket of the
 * link in the same pass). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/plan.h"
#include "dataplane/capture.h"
#include "netns/nsutil.h"

static char node_ns[32], wl_ns[32], wl2_ns[32];
static char if_a[16], if_b[16], if_c[16];
static char rarp_tool[512];
static int home_fd = -1;

static int setup(void **state)
{
	const char *bd = getenv("HANDOFF_BUILD_DIR");

	if (!ns_have_root()) {
		fprintf(stderr, "test_capture: needs root (network namespaces)\n");
		return -1;
	}
	snprintf(rarp_tool, sizeof(rarp_tool), "%s/test/netns/tool_send_rarp", bd ? bd : ".");
	if (access(rarp_tool, X_OK) != 0) {
		fprintf(stderr,
		        "test_capture: %s missing (set HANDOFF_BUILD_DIR, build tool_send_rarp)\n",
		        rarp_tool);
		return -1;
	}
	ns_name(node_ns, "capnode");
	ns_name(wl_ns, "capwl");
	ns_name(wl2_ns, "capwl2");
	snprintf(if_a, sizeof(if_a), "hcA%d", (int)getpid() % 1000000);
	snprintf(if_b, sizeof(if_b), "hcB%d", (int)getpid() % 1000000);
	snprintf(if_c, sizeof(if_c), "hcC%d", (int)getpid() % 1000000);
	if (ns_create(node_ns) || ns_create(wl_ns) || ns_create(wl2_ns))
		return -1;
	if (sh("ip -n %s link add %s type veth peer name eth0 netns %s", node_ns, if_a, wl_ns) ||
	    sh("ip -n %s link add %s type veth peer name eth0 netns %s", node_ns, if_b, wl2_ns) ||
	    sh("ip -n %s addr add 10.65.0.1/24 dev %s && ip -n %s link set %s up", node_ns, if_a,
	       node_ns, if_a) ||
	    sh("ip -n %s addr add 10.66.0.1/24 dev %s && ip -n %s link set %s up", node_ns, if_b,
	       node_ns, if_b) ||
	    sh("ip -n %s addr add 10.65.0.10/24 dev eth0 && ip -n %s link set eth0 address "
	       "52:54:00:00:00:0a up",
	       wl_ns, wl_ns) ||
	    sh("ip -n %s addr add 10.66.0.10/24 dev eth0 && ip -n %s link set eth0 up", wl2_ns,
	       wl2_ns))
		return -1;
	/* The captures and witnesses are opened from inside the node ns. */
	home_fd = ns_enter(node_ns);
	return home_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	ns_leave(home_fd);
	ns_delete(wl2_ns);
	ns_delete(wl_ns);
	ns_delete(node_ns);
	return 0;
}

/* ---- witness: a plain inbound pcap that says when a frame has arrived ---- */

struct witness {
	pcap_t *p;
	uint16_t want; /* EtherType waited for */
	int seen;
};

static void witness_frame(u_char *user, const struct pcap_pkthdr *h, const u_char *b)
{
	struct witness *w = (struct witness *)user;

	if (h->caplen >= 14 && (uint16_t)(b[12] << 8 | b[13]) == w->want)
		w->seen++;
}

static void witness_open(struct witness *w, const char *ifname, pcap_direction_t dir)
{
	char eb[PCAP_ERRBUF_SIZE];
	struct bpf_program prog;

	memset(w, 0, sizeof(*w));
	w->p = pcap_create(ifname, eb);
	assert_non_null(w->p);
	assert_int_equal(pcap_set_immediate_mode(w->p, 1), 0);
	assert_int_equal(pcap_set_snaplen(w->p, 128), 0);
	assert_int_equal(pcap_activate(w->p), 0);
	assert_int_equal(pcap_setdirection(w->p, dir), 0);
	assert_int_equal(
	    pcap_compile(w->p, &prog, "arp or ip or ether proto 0x8035", 1, PCAP_NETMASK_UNKNOWN),
	    0);
	assert_int_equal(pcap_setfilter(w->p, &prog), 0);
	pcap_freecode(&prog);
	assert_int_equal(pcap_setnonblock(w->p, 1, eb), 0);
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Wait (at most 3 s) until the witness has read a frame of `ethertype`. */
static void witness_wait(struct witness *w, uint16_t ethertype)
{
	long deadline = now_ms() + 3000;

	w->want = ethertype;
	w->seen = 0;
	while (!w->seen) {
		struct pollfd pfd = {.fd = pcap_get_selectable_fd(w->p), .events = POLLIN};
		long left = deadline - now_ms();
		assert_true(left > 0); /* the frame never arrived: the test setup is broken */
		poll(&pfd, 1, (int)left);
		assert_true(pcap_dispatch(w->p, -1, witness_frame, (u_char *)w) >= 0);
	}
}

static void witness_close(struct witness *w)
{
	pcap_close(w->p);
}

/* Wait (at most 3 s) for the capture's fd, then poll it. */
static int poll_capture_within(struct garp_capture *c, int ms)
{
	struct pollfd pfd = {.fd = garp_capture_fd(c), .events = POLLIN};
	if (poll(&pfd, 1, ms) < 0)
		return -errno;
	return garp_capture_poll(c);
}

static struct garp_capture *open_capture(const char *ifname)
{
	struct herr err = {{0}};
	struct garp_capture *c = garp_capture_open(ifname, &err);
	if (!c)
		fail_msg("garp_capture_open(%s): %s", ifname, err.msg);
	/* Drain anything from link setup (IPv6 is filtered; ARP should not be there). */
	assert_int_equal(garp_capture_poll(c), 0);
	return c;
}

/* ---- tests -------------------------------------------------------------- */

static void garp_from_workload_is_detected_once(void **state)
{
	struct garp_capture *c = open_capture(if_a);

	assert_false(garp_capture_done(c));
	assert_int_equal(sh("ip netns exec %s arping -q -U -c1 -I eth0 10.65.0.10", wl_ns), 0);
	assert_int_equal(poll_capture_within(c, 3000), 1);
	assert_true(garp_capture_done(c));
	/* One-shot: a second GARP is read (drained) but not reported again. */
	assert_int_equal(sh("ip netns exec %s arping -q -U -c1 -I eth0 10.65.0.10", wl_ns), 0);
	assert_int_equal(poll_capture_within(c, 3000), 0);
	assert_true(garp_capture_done(c));
	garp_capture_close(c);
}

static void gratuitous_reply_is_detected(void **state)
{
	/* arping -A: a gratuitous ARP *reply*; B.7 does not look at the opcode. */
	struct garp_capture *c = open_capture(if_a);

	assert_int_equal(sh("ip netns exec %s arping -q -A -c1 -I eth0 10.65.0.10", wl_ns), 0);
	assert_int_equal(poll_capture_within(c, 3000), 1);
	garp_capture_close(c);
}

static void qemu_rarp_is_detected(void **state)
{
	struct garp_capture *c = open_capture(if_a);

	assert_int_equal(sh("ip netns exec %s %s eth0 52:54:00:00:00:0a", wl_ns, rarp_tool), 0);
	assert_int_equal(poll_capture_within(c, 3000), 1);
	garp_capture_close(c);
}

static void ordinary_arp_and_ipv4_are_not_detected(void **state)
{
	struct garp_capture *c = open_capture(if_a);
	struct witness w;

	witness_open(&w, if_a, PCAP_D_IN);
	/* An ARP request for the gateway (SPA 10.65.0.10 != TPA 10.65.0.1). */
	assert_int_equal(sh("ip netns exec %s arping -q -c1 -w2 -I eth0 10.65.0.1", wl_ns), 0);
	witness_wait(&w, 0x0806);
	assert_int_equal(garp_capture_poll(c), 0);
	/* IPv4 (and the kernel's own ARP resolution before it). */
	assert_int_equal(sh("ip netns exec %s ping -q -c1 -W2 10.65.0.1 >/dev/null", wl_ns), 0);
	witness_wait(&w, 0x0800);
	assert_int_equal(garp_capture_poll(c), 0);
	assert_false(garp_capture_done(c));
	witness_close(&w);
	garp_capture_close(c);
}

static void garp_on_another_interface_is_not_detected(void **state)
{
	struct garp_capture *c = open_capture(if_a);
	struct garp_capture *other = open_capture(if_b);

	assert_int_equal(sh("ip netns exec %s arping -q -U -c1 -I eth0 10.66.0.10", wl2_ns), 0);
	/* The capture on the other interface proves the frame arrived. */
	assert_int_equal(poll_capture_within(other, 3000), 1);
	assert_int_equal(garp_capture_poll(c), 0);
	garp_capture_close(other);
	garp_capture_close(c);
}

static void hosts_own_garp_is_not_detected(void **state)
{
	/* Only what comes from the VM counts: the host announcing itself on
	 * the workload interface must not end the Target state. */
	struct garp_capture *c = open_capture(if_a);
	struct witness w;
	int home = ns_enter(wl_ns);

	assert_true(home >= 0);
	witness_open(&w, "eth0", PCAP_D_IN);
	ns_leave(home);
	assert_int_equal(sh("ip netns exec %s arping -q -U -c1 -I %s 10.65.0.1", node_ns, if_a), 0);
	witness_wait(&w, 0x0806);
	assert_int_equal(garp_capture_poll(c), 0);
	witness_close(&w);
	garp_capture_close(c);
}

static void open_names_missing_interface(void **state)
{
	struct herr err = {{0}};

	errno = 0;
	assert_null(garp_capture_open("nosuch0", &err));
	assert_int_equal(errno, ENODEV);
	assert_non_null(strstr(err.msg, "nosuch0"));
	assert_null(garp_capture_open("", &err));
	assert_int_equal(errno, EINVAL);
	assert_null(garp_capture_open("a-name-much-too-long-for-linux", &err));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err.msg, "a-name-much-too-long-for-linux"));
}

struct reports {
	int n;
	char key[256];
};

static void on_report(const char *key, const char *ifname, void *arg)
{
	struct reports *r = arg;
	r->n++;
	snprintf(r->key, sizeof(r->key), "%s", key);
}

/* Wait for the set's single fd, then dispatch. */
static int dispatch_within(struct capture_set *s, struct reports *r, int ms)
{
	struct pollfd pfd = {.fd = capture_set_fd(s), .events = POLLIN};
	poll(&pfd, 1, ms);
	return capture_set_dispatch(s, on_report, r);
}

static void capture_set_follows_plan_and_links(void **state)
{
	struct capture_set *s = capture_set_new();
	struct plan_capture pcs[2];
	struct plan p = {0};
	struct herr err = {{0}};
	struct reports r = {0};

	assert_non_null(s);
	memset(pcs, 0, sizeof(pcs));
	/* wl/a on an existing link, wl/c on one that does not exist yet. */
	snprintf(pcs[0].ifname, sizeof(pcs[0].ifname), "%s", if_a);
	pcs[0].endpoint_key = "ns1/wl-a";
	snprintf(pcs[1].ifname, sizeof(pcs[1].ifname), "%s", if_c);
	pcs[1].endpoint_key = "ns1/wl-c";
	p.captures = pcs;
	p.ncaptures = 2;
	assert_int_equal(capture_set_sync(s, &p, &err), 0);
	assert_int_equal(capture_set_len(s), 2);
	assert_true(capture_set_at(s, 0).fd >= 0);
	assert_int_equal(capture_set_at(s, 1).fd, -1);
	assert_string_equal(capture_set_at(s, 1).endpoint_key, "ns1/wl-c");
	int fd_a = capture_set_at(s, 0).fd;

	/* A link event for an unrelated interface opens nothing. */
	assert_int_equal(capture_set_link_up(s, if_b, &err), 0);
	/* The link appears (the watcher learns it from netlink). */
	assert_int_equal(sh("ip link add %s type veth peer name eth1 netns %s && ip link set %s up",
	                    if_c, wl2_ns, if_c),
	                 0);
	assert_int_equal(sh("ip -n %s addr add 10.67.0.10/24 dev eth1 && ip -n %s link set eth1 up",
	                    wl2_ns, wl2_ns),
	                 0);
	assert_int_equal(capture_set_link_up(s, if_c, &err), 1);
	assert_true(capture_set_at(s, 1).fd >= 0);

	/* A GARP on if_c reports wl-c, through the set's single fd. */
	assert_int_equal(sh("ip netns exec %s arping -q -U -c1 -I eth1 10.67.0.10", wl2_ns), 0);
	assert_int_equal(dispatch_within(s, &r, 3000), 1);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.key, "ns1/wl-c");
	assert_true(capture_set_at(s, 1).reported);
	assert_false(capture_set_at(s, 0).reported);

	/* Re-syncing with the same plan keeps the open capture (same fd) and
	 * does not re-arm the one that reported. */
	assert_int_equal(capture_set_sync(s, &p, &err), 0);
	assert_int_equal(capture_set_at(s, 0).fd, fd_a);
	assert_true(capture_set_at(s, 1).reported);
	assert_int_equal(sh("ip netns exec %s arping -q -U -c1 -I eth1 10.67.0.10", wl2_ns), 0);
	r.n = 0;
	assert_int_equal(dispatch_within(s, &r, 300), 0);
	assert_int_equal(r.n, 0);

	/* wl-a leaves Target: its capture is closed; wl-c stays. */
	p.captures = &pcs[1];
	p.ncaptures = 1;
	assert_int_equal(capture_set_sync(s, &p, &err), 0);
	assert_int_equal(capture_set_len(s), 1);
	assert_string_equal(capture_set_at(s, 0).endpoint_key, "ns1/wl-c");
	/* Its GARP is no longer reported by anyone. */
	assert_int_equal(sh("ip netns exec %s arping -q -U -c1 -I eth0 10.65.0.10", wl_ns), 0);
	r.n = 0;
	assert_int_equal(dispatch_within(s, &r, 300), 0);
	assert_int_equal(r.n, 0);

	/* Back to Target later: a fresh capture that reports again. */
	p.captures = pcs;
	p.ncaptures = 2;
	assert_int_equal(capture_set_sync(s, &p, &err), 0);
	assert_int_equal(sh("ip netns exec %s arping -q -U -c1 -I eth0 10.65.0.10", wl_ns), 0);
	assert_int_equal(dispatch_within(s, &r, 3000), 1);
	assert_string_equal(r.key, "ns1/wl-a");

	/* Empty plan: everything closed. */
	assert_int_equal(capture_set_sync(s, NULL, &err), 0);
	assert_int_equal(capture_set_len(s), 0);
	assert_int_equal(sh("ip link del %s", if_c), 0);
	capture_set_free(s);
}

static void capture_set_reopens_after_link_is_recreated(void **state)
{
	struct capture_set *s = capture_set_new();
	struct plan_capture pc;
	struct plan p = {0};
	struct herr err = {{0}};
	struct reports r = {0};

	sh("ip link del %s 2>/dev/null", if_c); /* left over by a failed test above */
	memset(&pc, 0, sizeof(pc));
	snprintf(pc.ifname, sizeof(pc.ifname), "%s", if_c);
	pc.endpoint_key = "ns1/wl-c";
	p.captures = &pc;
	p.ncaptures = 1;
	assert_int_equal(sh("ip link add %s type veth peer name eth1 netns %s && ip link set %s up",
	                    if_c, wl2_ns, if_c),
	                 0);
	assert_int_equal(capture_set_sync(s, &p, &err), 0);
	assert_true(capture_set_at(s, 0).fd >= 0);
	/* The pod is recreated: same interface name, new link. */
	assert_int_equal(sh("ip link del %s", if_c), 0);
	assert_int_equal(sh("ip link add %s type veth peer name eth1 netns %s && ip link set %s up",
	                    if_c, wl2_ns, if_c),
	                 0);
	assert_int_equal(sh("ip -n %s addr add 10.67.0.10/24 dev eth1 && ip -n %s link set eth1 up",
	                    wl2_ns, wl2_ns),
	                 0);
	/* Whether the dead capture's error or the link event comes first, the
	 * set ends up capturing on the new link. */
	capture_set_dispatch(s, on_report, &r);
	assert_true(capture_set_link_up(s, if_c, &err) >= 0);
	assert_true(capture_set_at(s, 0).fd >= 0);
	assert_int_equal(sh("ip netns exec %s arping -q -U -c1 -I eth1 10.67.0.10", wl2_ns), 0);
	assert_int_equal(dispatch_within(s, &r, 3000), 1);
	assert_string_equal(r.key, "ns1/wl-c");
	capture_set_free(s);
	assert_int_equal(sh("ip link del %s", if_c), 0);
}

static void capture_set_survives_link_down_up(void **state)
{
	struct capture_set *s = capture_set_new();
	struct plan_capture pc;
	struct plan p = {0};
	struct herr err = {{0}};
	struct reports r = {0};

	memset(&pc, 0, sizeof(pc));
	snprintf(pc.ifname, sizeof(pc.ifname), "%s", if_a);
	pc.endpoint_key = "ns1/wl-a";
	p.captures = &pc;
	p.ncaptures = 1;
	assert_int_equal(capture_set_sync(s, &p, &err), 0);
	assert_true(capture_set_at(s, 0).fd >= 0);
	/* The link flaps; the watcher dispatches whatever the fd says, then
	 * passes on the link event. */
	assert_int_equal(sh("ip link set %s down", if_a), 0);
	assert_int_equal(dispatch_within(s, &r, 200), 0);
	assert_int_equal(sh("ip link set %s up", if_a), 0);
	assert_true(capture_set_link_up(s, if_a, &err) >= 0);
	assert_true(capture_set_at(s, 0).fd >= 0);
	/* veth carrier comes back asynchronously: wait until the workload side
	 * can send (bounded). */
	assert_int_equal(sh("for i in $(seq 50); do ip -n %s link show eth0 | grep -q LOWER_UP && "
	                    "exit 0; sleep 0.1; done; exit 1",
	                    wl_ns),
	                 0);
	assert_int_equal(sh("ip netns exec %s arping -q -U -c1 -I eth0 10.65.0.10", wl_ns), 0);
	assert_int_equal(dispatch_within(s, &r, 3000), 1);
	assert_string_equal(r.key, "ns1/wl-a");
	capture_set_free(s);
}

/* The report callback recomputes the plan and re-syncs (what the watcher does). */
struct resync_ctx {
	struct capture_set *s;
	int calls;
	char key[256];
};

static void resync_on_report(const char *key, const char *ifname, void *arg)
{
	struct resync_ctx *c = arg;
	struct herr err = {{0}};

	c->calls++;
	assert_int_equal(capture_set_sync(c->s, NULL, &err), 0); /* Live: no capture */
	/* The key handed to us stays readable after the sync. */
	snprintf(c->key, sizeof(c->key), "%s", key);
}

static void report_callback_may_resync(void **state)
{
	struct resync_ctx c = {0};
	struct plan_capture pc;
	struct plan p = {0};
	struct herr err = {{0}};

	c.s = capture_set_new();
	memset(&pc, 0, sizeof(pc));
	snprintf(pc.ifname, sizeof(pc.ifname), "%s", if_a);
	pc.endpoint_key = "ns1/wl-a";
	p.captures = &pc;
	p.ncaptures = 1;
	assert_int_equal(capture_set_sync(c.s, &p, &err), 0);
	assert_int_equal(sh("ip netns exec %s arping -q -U -c1 -I eth0 10.65.0.10", wl_ns), 0);
	struct pollfd pfd = {.fd = capture_set_fd(c.s), .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 3000), 1);
	assert_int_equal(capture_set_dispatch(c.s, resync_on_report, &c), 1);
	assert_int_equal(c.calls, 1);
	assert_string_equal(c.key, "ns1/wl-a");
	assert_int_equal(capture_set_len(c.s), 0);
	capture_set_free(c.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(garp_from_workload_is_detected_once),
	    cmocka_unit_test(gratuitous_reply_is_detected),
	    cmocka_unit_test(qemu_rarp_is_detected),
	    cmocka_unit_test(ordinary_arp_and_ipv4_are_not_detected),
	    cmocka_unit_test(garp_on_another_interface_is_not_detected),
	    cmocka_unit_test(hosts_own_garp_is_not_detected),
	    cmocka_unit_test(open_names_missing_interface),
	    cmocka_unit_test(capture_set_follows_plan_and_links),
	    cmocka_unit_test(capture_set_reopens_after_link_is_recreated),
	    cmocka_unit_test(capture_set_survives_link_down_up),
	    cmocka_unit_test(report_callback_may_resync),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
