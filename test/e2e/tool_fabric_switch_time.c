/* tool_fabric_switch_time.c - how long until every node of a fabric routes
 * a VM's address to its new node (hack/bench-fabric.sh).
 *
 *   fabric_switch_time TARGET_NS DEV PREFIX METRIC VIA RUNS OBSERVER_NS...
 *
 * One process holds an rtnetlink socket in the target's namespace, where it
 * adds PREFIX on DEV (protocol 88, metric METRIC) as handoff's route syncer
 * does on a GARP, and one in each observer's namespace, subscribed to IPv4
 * route notifications. A run is timed from just before the add is sent until
 * the last observer has been notified that PREFIX goes via VIA at METRIC (the
 * priority BGP carried); then the route is deleted, every observer must see
 * another route for PREFIX, and a 100-300 ms pause keeps runs off BGP's
 * timers. All clocks are this process's: no process start-up is counted.
 *
 * Prints one line per run: "RUN FIRST_MS MEDIAN_MS LAST_MS", the first, the
 * median and the last observer's switch. Exit status 1 if a run timed out
 * (10 s; the observers still waiting are named on stderr). Needs root. */
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

#define WAIT_MS 10000

struct observer {
	const char *ns;
	struct nl_sock *sk;
	double at; /* when it switched in this run; 0 while waiting */
};

/* What the callbacks compare against (one run's goal, all observers). */
static struct nl_addr *g_prefix, *g_via;
static uint32_t g_metric;
static bool g_want; /* true: "via VIA metric METRIC"; false: anything else */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void enter_ns(const char *name)
{
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "fabric_switch_time: namespace %s: %s\n", name, strerror(errno));
		exit(2);
	}
	close(fd);
}

static int on_route(struct nl_msg *msg, void *arg)
{
	bool *seen = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct rtnl_route *r = NULL;

	if ((h->nlmsg_type != RTM_NEWROUTE && h->nlmsg_type != RTM_DELROUTE) ||
	    rtnl_route_parse(h, &r) < 0)
		return NL_OK;
	if (!nl_addr_cmp(rtnl_route_get_dst(r), g_prefix)) {
		struct nl_addr *gw = NULL;
		if (rtnl_route_get_nnexthops(r) > 0)
			gw = rtnl_route_nh_get_gateway(rtnl_route_nexthop_n(r, 0));
		bool elevated =
		    gw && !nl_addr_cmp(gw, g_via) && rtnl_route_get_priority(r) == g_metric;
		bool add = h->nlmsg_type == RTM_NEWROUTE;
		/* Switched away: another route added, or the elevated one gone
		 * (the source node keeps its own route, which BIRD does not
		 * program again). */
		if (g_want ? add && elevated : (add && !elevated) || (!add && elevated))
			*seen = true;
	}
	rtnl_route_put(r);
	return NL_OK;
}

static void drain(struct observer *o)
{
	bool ignored = false;

	nl_socket_modify_cb(o->sk, NL_CB_VALID, NL_CB_CUSTOM, on_route, &ignored);
	while (nl_recvmsgs_default(o->sk) >= 0)
		;
}

/* Wait until every observer has seen the goal; t0 is the run's start.
 * Returns 0, or -1 on timeout. */
static int await_all(struct observer *obs, int n, struct pollfd *pfd, double t0)
{
	int left = n;

	for (int i = 0; i < n; i++)
		obs[i].at = 0;
	while (left) {
		double rem = t0 + WAIT_MS - now_ms();
		if (rem <= 0 || poll(pfd, (nfds_t)n, (int)rem + 1) < 0)
			return -1;
		for (int i = 0; i < n; i++) {
			bool seen = false;
			if (!(pfd[i].revents & POLLIN))
				continue;
			double woke = now_ms();
			nl_socket_modify_cb(obs[i].sk, NL_CB_VALID, NL_CB_CUSTOM, on_route, &seen);
			while (nl_recvmsgs_default(obs[i].sk) >= 0)
				;
			if (seen && !obs[i].at) {
				obs[i].at = woke;
				left--;
			}
		}
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct nl_sock *tgt;
	struct rtnl_route *route;
	struct rtnl_nexthop *nh;
	int self, ifindex, runs, n, rc;

	if (argc < 8) {
		fprintf(stderr, "usage: fabric_switch_time TARGET_NS DEV PREFIX METRIC VIA RUNS "
		                "OBSERVER_NS...\n");
		return 2;
	}
	runs = atoi(argv[6]);
	if (nl_addr_parse(argv[3], AF_INET, &g_prefix) < 0 ||
	    nl_addr_parse(argv[5], AF_INET, &g_via) < 0 || runs <= 0) {
		fprintf(stderr, "fabric_switch_time: bad PREFIX, VIA or RUNS\n");
		return 2;
	}
	g_metric = (uint32_t)atol(argv[4]);
	n = argc - 7;
	struct observer *obs = calloc((size_t)n, sizeof(*obs));
	struct pollfd *pfd = calloc((size_t)n, sizeof(*pfd));
	double *at = calloc((size_t)n, sizeof(*at));
	if (!obs || !pfd || !at)
		return 2;
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	/* A netlink socket stays in the namespace it was created in. */
	enter_ns(argv[1]);
	tgt = nl_socket_alloc();
	if (!tgt || nl_connect(tgt, NETLINK_ROUTE) < 0)
		return 2;
	ifindex = (int)if_nametoindex(argv[2]);
	if (!ifindex) {
		fprintf(stderr, "fabric_switch_time: no %s in %s\n", argv[2], argv[1]);
		return 2;
	}
	for (int i = 0; i < n; i++) {
		obs[i].ns = argv[7 + i];
		enter_ns(obs[i].ns);
		obs[i].sk = nl_socket_alloc();
		if (!obs[i].sk || nl_connect(obs[i].sk, NETLINK_ROUTE) < 0 ||
		    nl_socket_add_membership(obs[i].sk, RTNLGRP_IPV4_ROUTE) < 0)
			return 2;
		nl_socket_disable_seq_check(obs[i].sk);
		nl_socket_set_nonblocking(obs[i].sk);
		nl_socket_set_buffer_size(obs[i].sk, 1 << 20, 0);
		pfd[i] = (struct pollfd){.fd = nl_socket_get_fd(obs[i].sk), .events = POLLIN};
	}
	if (setns(self, CLONE_NEWNET) < 0)
		return 2;
	close(self);

	route = rtnl_route_alloc();
	rtnl_route_set_family(route, AF_INET);
	rtnl_route_set_table(route, RT_TABLE_MAIN);
	rtnl_route_set_dst(route, g_prefix);
	rtnl_route_set_protocol(route, 88);
	rtnl_route_set_priority(route, g_metric);
	rtnl_route_set_scope(route, RT_SCOPE_LINK);
	nh = rtnl_route_nh_alloc();
	rtnl_route_nh_set_ifindex(nh, ifindex);
	rtnl_route_add_nexthop(route, nh);

	srand((unsigned)getpid());
	for (int r = 1; r <= runs; r++) {
		for (int i = 0; i < n; i++)
			drain(&obs[i]);
		g_want = true;
		double t0 = now_ms();
		rc = rtnl_route_add(tgt, route, NLM_F_EXCL);
		if (rc < 0) {
			fprintf(stderr, "fabric_switch_time: add: %s\n", nl_geterror(rc));
			return 1;
		}
		if (await_all(obs, n, pfd, t0) < 0) {
			fprintf(stderr, "fabric_switch_time: run %d: not switched within %d ms:", r,
			        WAIT_MS);
			for (int i = 0; i < n; i++)
				if (!obs[i].at)
					fprintf(stderr, " %s", obs[i].ns);
			fprintf(stderr, "\n");
			rtnl_route_delete(tgt, route, 0);
			return 1;
		}
		for (int i = 0; i < n; i++)
			at[i] = obs[i].at - t0;
		qsort(at, (size_t)n, sizeof(*at), cmp_double);
		printf("%d %.3f %.3f %.3f\n", r, at[0], at[n / 2], at[n - 1]);
		fflush(stdout);

		g_want = false;
		double t1 = now_ms();
		rc = rtnl_route_delete(tgt, route, 0);
		if (rc < 0 || await_all(obs, n, pfd, t1) < 0) {
			fprintf(stderr,
			        "fabric_switch_time: run %d: observers did not switch back\n", r);
			return 1;
		}
		nanosleep(&(struct timespec){.tv_nsec = (100 + rand() % 200) * 1000000L}, NULL);
	}
	rtnl_route_put(route);
	for (int i = 0; i < n; i++)
		nl_socket_free(obs[i].sk);
	nl_socket_free(tgt);
	nl_addr_put(g_prefix);
	nl_addr_put(g_via);
	free(obs);
	free(pfd);
	free(at);
	return 0;
}
