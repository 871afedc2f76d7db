/* bench_garp_route - GARP on the wire -> elevated route in the kernel.
 *
 *   bench_garp_route [--fifo] [RUNS]     (root; default 200 runs)
 *
 * --fifo runs both threads under SCHED_FIFO, to tell scheduler queueing on a
 * loaded machine apart from what remains (the kernel's rtnl lock, shared by
 * every namespace on the host, is the other source of tail latency). The
 * watcher runs as an ordinary process: the default figures are the real ones.
 *
 * The watcher's real hot path, single-threaded around one epoll loop, in a
 * "node" network namespace with a workload veth whose peer is in a "wl"
 * namespace:
 *   capture set fd readable -> capture_set_dispatch (libpcap) -> report ->
 *   lm_monitor_garp (Target -> Live) -> plan_compute -> route_syncer_apply
 *   (libnl: 10.65.0.10/32 metric 512) -> capture_set_sync (capture closed).
 * Before each run the endpoint is put back in Target (fresh FSM, route
 * suppressed, capture open). t0 is taken just before the GARP frame is
 * injected with pcap_inject from inside the workload namespace; the end is
 * when an observer thread, blocked on its own rtnetlink socket, receives
 * RTM_NEWROUTE for 10.65.0.10/32 with metric 512.
 *
 * Prints figures only; it never fails on timing. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/fsm.h"
#include "core/model.h"
#include "core/plan.h"
#include "dataplane/capture.h"
#include "dataplane/routes.h"
#include "netns/nsutil.h"
#include "util/log.h"

#define VM_IP    "10.65.0.10"
#define VM_KEY   "bench/vm"
#define ELEVATED 512

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the observer: its own rtnetlink socket, its own thread ------------- */

struct observer {
	struct mnl_socket *nl;
	int done_fd;             /* eventfd: the route was seen */
	int stop_fd;             /* eventfd: the benchmark is over */
	atomic_int armed;        /* 1 while a run waits for its route */
	_Atomic uint64_t t_seen; /* ns */
	uint32_t want_dst;
};

static int route_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (type <= RTA_MAX)
		tb[type] = a;
	return MNL_CB_OK;
}

static void *observe(void *arg)
{
	struct observer *o = arg;
	char buf[MNL_SOCKET_BUFFER_SIZE];

	for (;;) {
		struct pollfd pfd[2] = {{.fd = mnl_socket_get_fd(o->nl), .events = POLLIN},
		                        {.fd = o->stop_fd, .events = POLLIN}};
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			return NULL;
		if (pfd[1].revents)
			return NULL;
		if (!pfd[0].revents)
			continue;
		ssize_t n = mnl_socket_recvfrom(o->nl, buf, sizeof(buf));
		uint64_t t = now_ns();
		if (n < 0) {
			if (errno == ENOBUFS || errno == EINTR)
				continue;
			return NULL;
		}
		int len = (int)n;
		for (struct nlmsghdr *nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len)) {
			const struct rtmsg *rt = mnl_nlmsg_get_payload(nlh);
			const struct nlattr *tb[RTA_MAX + 1] = {0};
			if (nlh->nlmsg_type != RTM_NEWROUTE || rt->rtm_family != AF_INET ||
			    rt->rtm_dst_len != 32)
				continue;
			mnl_attr_parse(nlh, sizeof(*rt), route_attr, tb);
			if (!tb[RTA_DST] || !tb[RTA_PRIORITY] ||
			    mnl_attr_get_u32(tb[RTA_DST]) != o->want_dst ||
			    mnl_attr_get_u32(tb[RTA_PRIORITY]) != ELEVATED)
				continue;
			int one = 1;
			if (atomic_compare_exchange_strong(&o->armed, &one, 0)) {
				uint64_t v = 1;
				atomic_store(&o->t_seen, t);
				if (write(o->done_fd, &v, sizeof(v)) < 0)
					return NULL;
			}
		}
	}
}

/* ---- the watcher side -------------------------------------------------- */

struct node {
	struct lm_monitor *mon;
	struct route_config cfg;
	struct endpoint ep;
	const struct endpoint *eps[1];
	struct plan plan;
	struct route_syncer *rs;
	struct capture_set *cs;
	int ep_fd; /* the loop's epoll */
	bool reported;
	uint64_t t_report, t_applied;
};

static char node_ns[32], wl_ns[32];

/* Whatever happens, the namespaces go. */
static void remove_namespaces(void)
{
	if (wl_ns[0])
		ns_delete(wl_ns);
	if (node_ns[0])
		ns_delete(node_ns);
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "bench_garp_route: %s: %s\n", what, msg);
	exit(1);
}

static uint64_t now_ms(void)
{
	return now_ns() / 1000000ull;
}

/* Recompute the plan from the FSM and apply it: routes, then captures. */
static void replan(struct node *n)
{
	struct herr err = {{0}};

	plan_free(&n->plan);
	if (plan_compute(n->eps, 1, n->mon, &n->cfg, &n->plan) < 0)
		die("plan_compute", "out of memory");
	if (route_syncer_apply(n->rs, &n->plan, &err) < 0)
		die("route_syncer_apply", err.msg);
	n->t_applied = now_ns();
	if (capture_set_sync(n->cs, &n->plan, &err) < 0)
		die("capture_set_sync", err.msg);
}

static void on_garp(const char *key, const char *ifname, void *arg)
{
	struct node *n = arg;
	struct lm_transitions tr = {0};

	n->t_report = now_ns();
	lm_monitor_garp(n->mon, key, now_ms(), &tr);
	if (tr.n != 1 || tr.v[0].to != LM_LIVE)
		die("lm_monitor_garp", "no Target -> Live transition");
	lm_transitions_free(&tr);
	replan(n);
	n->reported = true;
}

/* The endpoint back in Target: fresh FSM, route suppressed, capture open. */
static void reset_to_target(struct node *n)
{
	struct lm_transitions tr = {0};

	lm_monitor_free(n->mon);
	n->mon = lm_monitor_new(n->cfg.convergence_ms);
	if (!n->mon)
		die("lm_monitor_new", "out of memory");
	lm_monitor_role(n->mon, VM_KEY, LM_ROLE_TARGET, "bench-uid", now_ms(), &tr);
	if (tr.n != 1 || tr.v[0].to != LM_TARGET)
		die("lm_monitor_role", "no Base -> Target transition");
	lm_transitions_free(&tr);
	replan(n);
	if (capture_set_len(n->cs) != 1 || capture_set_at(n->cs, 0).fd < 0)
		die("capture_set_sync", "the capture is not open");
}

/* One turn of the loop: wait for the capture set or the route syncer. */
static void loop_once(struct node *n, int timeout_ms)
{
	struct epoll_event evs[4];
	struct herr err = {{0}};
	int k = epoll_wait(n->ep_fd, evs, 4, timeout_ms);

	for (int i = 0; i < k; i++) {
		if (evs[i].data.u32 == 1)
			capture_set_dispatch(n->cs, on_garp, n);
		else if (route_syncer_handle_events(n->rs, &err) < 0)
			die("route_syncer_handle_events", err.msg);
	}
}

/* The machine's load, printed with the figures (the tail depends on it). */
static void read_loadavg(char *buf, size_t len)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double l1 = 0;

	if (f && fscanf(f, "%lf", &l1) == 1)
		snprintf(buf, len, "%.2f", l1);
	else
		snprintf(buf, len, "?");
	if (f)
		fclose(f);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void print_stats(const char *what, uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	int p99 = (99 * n + 99) / 100 - 1; /* nearest rank */
	printf("%-44s median %8.1f us  p99 %8.1f us  min %8.1f us  max %8.1f us\n", what,
	       v[n / 2] / 1e3, v[p99] / 1e3, v[0] / 1e3, v[n - 1] / 1e3);
}

int main(int argc, char **argv)
{
	bool fifo = argc > 1 && !strcmp(argv[1], "--fifo");
	int runs = argc > 1 + fifo ? atoi(argv[1 + fifo]) : 200;
	char hostif[16], eb[PCAP_ERRBUF_SIZE];
	struct herr err = {{0}};
	struct node n = {0};
	struct observer o = {0};
	char addrs[1][HANDOFF_ADDRSIZ] = {VM_IP};
	const uint8_t mac[6] = {0x52, 0x54, 0x00, 0xbe, 0x00, 0x01};
	uint8_t garp[42];
	pthread_t th;

	if (runs < 1)
		die("RUNS", "must be a positive number");
	if (!ns_have_root())
		die("setup", "needs root (network namespaces)");
	hlog_set_level(HLOG_WARN); /* one info line per capture would skew the figures */

	ns_name(node_ns, "bgnode");
	ns_name(wl_ns, "bgwl");
	atexit(remove_namespaces);
	snprintf(hostif, sizeof(hostif), "hb%d", (int)getpid() % 10000000);
	if (ns_create(node_ns) || ns_create(wl_ns) ||
	    sh("ip -n %s link add %s type veth peer name eth0 netns %s", node_ns, hostif, wl_ns) ||
	    sh("ip -n %s link set %s up", node_ns, hostif) ||
	    sh("ip -n %s link set eth0 address 52:54:00:be:00:01 up && "
	       "ip -n %s addr add " VM_IP "/32 dev eth0",
	       wl_ns, wl_ns))
		die("setup", "creating the namespaces and the veth failed");

	/* The injector lives in the workload namespace (the VM's side). */
	int home = ns_enter(wl_ns);
	pcap_t *inj = pcap_open_live("eth0", 64, 0, 1, eb);
	ns_leave(home);
	if (!inj)
		die("pcap_open_live eth0", eb);
	memset(garp, 0, sizeof(garp));
	memset(garp, 0xff, 6);
	memcpy(garp + 6, mac, 6);
	garp[12] = 0x08, garp[13] = 0x06;
	uint8_t *a = garp + 14;
	a[1] = 1, a[2] = 0x08, a[4] = 6, a[5] = 4, a[7] = 1; /* Ethernet, IPv4, request */
	memcpy(a + 8, mac, 6);
	inet_pton(AF_INET, VM_IP, a + 14); /* SPA */
	inet_pton(AF_INET, VM_IP, a + 24); /* TPA = SPA: gratuitous */

	/* Everything else lives in the node namespace, like the watcher. */
	if (ns_enter(node_ns) < 0)
		die("setns", node_ns);
	route_config_defaults(&n.cfg);
	n.ep.key = VM_KEY;
	n.ep.addrs = addrs;
	n.ep.naddrs = 1;
	snprintf(n.ep.ifname, sizeof(n.ep.ifname), "%s", hostif);
	n.eps[0] = &n.ep;
	n.rs = route_syncer_new(NULL, &err);
	if (!n.rs)
		die("route_syncer_new", err.msg);
	n.cs = capture_set_new();
	n.ep_fd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1};
	epoll_ctl(n.ep_fd, EPOLL_CTL_ADD, capture_set_fd(n.cs), &ev);
	ev.data.u32 = 2;
	epoll_ctl(n.ep_fd, EPOLL_CTL_ADD, route_syncer_fd(n.rs), &ev);

	o.nl = mnl_socket_open(NETLINK_ROUTE);
	if (!o.nl || mnl_socket_bind(o.nl, RTMGRP_IPV4_ROUTE, MNL_SOCKET_AUTOPID) < 0)
		die("observer", strerror(errno));
	o.done_fd = eventfd(0, EFD_CLOEXEC);
	o.stop_fd = eventfd(0, EFD_CLOEXEC);
	inet_pton(AF_INET, VM_IP, &o.want_dst);
	if (pthread_create(&th, NULL, observe, &o) != 0)
		die("pthread_create", "observer thread");
	if (fifo) {
		struct sched_param sp = {.sched_priority = 10};
		if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) != 0 ||
		    pthread_setschedparam(th, SCHED_FIFO, &sp) != 0)
			die("--fifo", "cannot set SCHED_FIFO");
	}
	char load0[64] = "", load1[64] = "";
	read_loadavg(load0, sizeof(load0));

	uint64_t *total = calloc((size_t)runs, sizeof(uint64_t));
	uint64_t *to_report = calloc((size_t)runs, sizeof(uint64_t));
	uint64_t *to_applied = calloc((size_t)runs, sizeof(uint64_t));
	int warmup = 5, lost = 0;
	for (int i = -warmup; i < runs; i++) {
		reset_to_target(&n);
		/* Let the syncer see its own deletes before the clock starts. */
		loop_once(&n, 0);
		n.reported = false;
		atomic_store(&o.armed, 1);
		uint64_t t0 = now_ns();
		if (pcap_inject(inj, garp, sizeof(garp)) != (int)sizeof(garp))
			die("pcap_inject", pcap_geterr(inj));
		uint64_t deadline = t0 + 2000000000ull;
		while (!n.reported && now_ns() < deadline)
			loop_once(&n, 100);
		struct pollfd pfd = {.fd = o.done_fd, .events = POLLIN};
		uint64_t v;
		if (!n.reported || poll(&pfd, 1, 2000) != 1 || read(o.done_fd, &v, sizeof(v)) < 0) {
			atomic_store(&o.armed, 0);
			lost++;
			i--; /* a lost frame is reported, not averaged in */
			if (lost > 10)
				die("run", "GARP or route notification lost more than 10 times");
			continue;
		}
		if (i < 0)
			continue;
		total[i] = atomic_load(&o.t_seen) - t0;
		to_report[i] = n.t_report - t0;
		to_applied[i] = n.t_applied - t0;
	}

	read_loadavg(load1, sizeof(load1));
	printf("GARP -> elevated route: %d runs (+%d warm-up) in namespaces, route syncer "
	       "src/dataplane/routes.c, %s scheduling, loadavg before %s, after %s\n",
	       runs, warmup, fifo ? "SCHED_FIFO" : "normal", load0, load1);
	print_stats("GARP injected -> RTM_NEWROUTE metric 512 seen", total, runs);
	print_stats("  GARP injected -> capture reported", to_report, runs);
	print_stats("  GARP injected -> route_syncer_apply done", to_applied, runs);
	if (lost)
		printf("retried runs (frame or notification lost): %d\n", lost);

	uint64_t one = 1;
	if (write(o.stop_fd, &one, sizeof(one)) < 0)
		die("stopping the observer", strerror(errno));
	pthread_join(th, NULL);
	close(o.stop_fd);
	mnl_socket_close(o.nl);
	close(o.done_fd);
	free(total);
	free(to_report);
	free(to_applied);
	plan_free(&n.plan);
	lm_monitor_free(n.mon);
	capture_set_free(n.cs);
	route_syncer_free(n.rs);
	close(n.ep_fd);
	pcap_close(inj);
	return 0; /* remove_namespaces() runs at exit */
}
