/* tool_bgp_switch_time.c - time BGP's share of a switchover (hack/bench-bgp.sh).
 *
 *   bgp_switch_time TARGET_NS OBSERVER_NS DEV PREFIX METRIC VIA RUNS
 *
 * One process holds two rtnetlink sockets: one in the target node's
 * namespace, where it adds PREFIX on DEV (protocol 88, metric METRIC) as the
 * route syncer would, and one in the observer node's namespace, subscribed to
 * IPv4 route notifications. A run is timed from just before the add is sent
 * to the wake-up on the observer's notification that PREFIX now goes via VIA
 * at metric METRIC (the priority carried over BGP); then the route is deleted
 * and the tool waits until the observer's route is another one, and pauses 100-300 ms (so runs do
 * not line up with BGP keepalives). Both clocks are one process's, so no start-up cost is counted.
 *
 * Prints one line per run: "RUN T0 ACK_MS SWITCH_MS", T0 in seconds since the
 * epoch (to pair with packet captures), ACK_MS the kernel's acknowledgement of
 * the add, SWITCH_MS the observer's change. Exit status 1 if a run timed out
 * (5 s). Needs root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/route.h>

#define WAIT_MS 5000

struct watch {
	struct nl_addr *prefix;
	struct nl_addr *via;
	uint32_t metric;
	bool want; /* true: wait for "via VIA metric METRIC"; false: anything else */
	bool seen;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int enter_ns(const char *name)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "bgp_switch_time: namespace %s: %s\n", name, strerror(errno));
		exit(2);
	}
	close(fd);
	return 0;
}

/* Matches the observer's notifications against the awaited state. */
static int on_route(struct nl_msg *msg, void *arg)
{
	struct watch *w = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct rtnl_route *r = NULL;
	struct rtnl_nexthop *nh;
	struct nl_addr *gw;

	if (h->nlmsg_type != RTM_NEWROUTE || rtnl_route_parse(h, &r) < 0)
		return NL_OK;
	if (!nl_addr_cmp(rtnl_route_get_dst(r), w->prefix) && rtnl_route_get_nnexthops(r) > 0) {
		nh = rtnl_route_nexthop_n(r, 0);
		gw = rtnl_route_nh_get_gateway(nh);
		bool match =
		    gw && !nl_addr_cmp(gw, w->via) && rtnl_route_get_priority(r) == w->metric;
		if (match == w->want)
			w->seen = true;
	}
	rtnl_route_put(r);
	return NL_OK;
}

/* Wait for the awaited notification; returns the wake-up time or -1. */
static double await(struct nl_sock *obs, struct watch *w)
{
	struct pollfd p = {.fd = nl_socket_get_fd(obs), .events = POLLIN};
	double deadline = now_s() + WAIT_MS / 1000.0;

	w->seen = false;
	for (;;) {
		double left = deadline - now_s(), woke;

		if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) < 0)
			return -1;
		woke = now_s();
		while (nl_recvmsgs_default(obs) >= 0)
			;
		if (w->seen)
			return woke;
	}
}

static void drain(struct nl_sock *obs)
{
	while (nl_recvmsgs_default(obs) >= 0)
		;
}

int main(int argc, char **argv)
{
	struct nl_sock *tgt, *obs;
	struct rtnl_route *route;
	struct rtnl_nexthop *nh;
	struct watch w = {0};
	int self, ifindex, runs, rc;

	if (argc != 8) {
		fprintf(stderr,
		        "usage: bgp_switch_time TARGET_NS OBSERVER_NS DEV PREFIX METRIC VIA "
		        "RUNS\n");
		return 2;
	}
	runs = atoi(argv[7]);
	if (nl_addr_parse(argv[4], AF_INET, &w.prefix) < 0 ||
	    nl_addr_parse(argv[6], AF_INET, &w.via) < 0 || runs <= 0) {
		fprintf(stderr, "bgp_switch_time: bad PREFIX, VIA or RUNS\n");
		return 2;
	}
	w.metric = (uint32_t)atol(argv[5]);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	/* A netlink socket stays in the namespace it was created in. */
	enter_ns(argv[1]);
	tgt = nl_socket_alloc();
	if (!tgt || nl_connect(tgt, NETLINK_ROUTE) < 0)
		return 2;
	ifindex = (int)if_nametoindex(argv[3]);
	if (!ifindex) {
		fprintf(stderr, "bgp_switch_time: no %s in %s\n", argv[3], argv[1]);
		return 2;
	}
	enter_ns(argv[2]);
	obs = nl_socket_alloc();
	if (!obs || nl_connect(obs, NETLINK_ROUTE) < 0 ||
	    nl_socket_add_membership(obs, RTNLGRP_IPV4_ROUTE) < 0)
		return 2;
	nl_socket_disable_seq_check(obs);
	nl_socket_set_nonblocking(obs);
	nl_socket_set_buffer_size(obs, 1 << 20, 0);
	nl_socket_modify_cb(obs, NL_CB_VALID, NL_CB_CUSTOM, on_route, &w);
	if (setns(self, CLONE_NEWNET) < 0)
		return 2;
	close(self);

	route = rtnl_route_alloc();
	rtnl_route_set_family(route, AF_INET);
	rtnl_route_set_table(route, RT_TABLE_MAIN);
	rtnl_route_set_dst(route, w.prefix);
	rtnl_route_set_protocol(route, 88);
	rtnl_route_set_priority(route, w.metric);
	rtnl_route_set_scope(route, RT_SCOPE_LINK);
	nh = rtnl_route_nh_alloc();
	rtnl_route_nh_set_ifindex(nh, ifindex);
	rtnl_route_add_nexthop(route, nh);

	srand((unsigned)getpid());
	for (int i = 1; i <= runs; i++) {
		double t0, tack, t2;

		drain(obs);
		t0 = now_s();
		rc = rtnl_route_add(tgt, route, NLM_F_EXCL);
		tack = now_s();
		if (rc < 0) {
			fprintf(stderr, "bgp_switch_time: add: %s\n", nl_geterror(rc));
			return 1;
		}
		w.want = true;
		t2 = await(obs, &w);
		if (t2 < 0) {
			fprintf(stderr, "bgp_switch_time: run %d: no route via %s within %d ms\n",
			        i, argv[6], WAIT_MS);
			rtnl_route_delete(tgt, route, 0);
			return 1;
		}
		printf("%d %.6f %.3f %.3f\n", i, t0, (tack - t0) * 1e3, (t2 - t0) * 1e3);
		fflush(stdout);
		rc = rtnl_route_delete(tgt, route, 0);
		w.want = false;
		if (rc < 0 || await(obs, &w) < 0) {
			fprintf(stderr, "bgp_switch_time: run %d: observer did not switch back\n",
			        i);
			return 1;
		}
		nanosleep(&(struct timespec){.tv_nsec = (100 + rand() % 200) * 1000000L}, NULL);
	}
	rtnl_route_put(route);
	nl_addr_put(w.prefix);
	nl_addr_put(w.via);
	nl_socket_free(tgt);
	nl_socket_free(obs);
	return 0;
}
