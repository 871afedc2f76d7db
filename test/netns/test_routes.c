/* test_routes.c - the route syncer against a real kernel (root, network namespaces).
 *
 * Each test gets a fresh namespace holding a veth pair hv0 <-> pv0 (both up):
 * hv0 plays a workload's host-side interface. The syncer's sockets are opened
 * inside the namespace; everything is checked by reading the kernel back with
 * `ip route` (never the syncer's memory), and where the order or absence of
 * kernel changes matters, with a netlink monitor opened in the namespace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/plan.h"
#include "dataplane/routes.h"
#include "netns/nsutil.h"
#include "util/log.h"

#define PROTO "88"

static char ns[32];
static int home_fd = -1;

static int setup(void **state)
{
	if (!ns_have_root()) {
		fprintf(stderr, "test_routes: needs root (network namespaces)\n");
		return -1;
	}
	ns_name(ns, "rtsync");
	if (ns_create(ns) ||
	    sh("ip -n %s link add hv0 type veth peer name pv0 && ip -n %s link set hv0 up && "
	       "ip -n %s link set pv0 up",
	       ns, ns, ns))
		return -1;
	home_fd = ns_enter(ns);
	return home_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	ns_leave(home_fd);
	home_fd = -1;
	ns_delete(ns);
	return 0;
}

/* ---- helpers -------------------------------------------------------------------- */

/* The metrics of the kernel's routes to exactly `dst` with protocol `proto`,
 * ascending, comma-separated ("" when none). */
static const char *metrics(const char *dst, const char *proto)
{
	static char out[256];
	size_t n;

	sh_out(out, sizeof(out),
	       "ip -n %s %s route show table main exact %s proto %s | "
	       "sed -n 's/.* metric \\([0-9]*\\).*/\\1/p' | sort -n | paste -sd, -",
	       ns, strchr(dst, ':') ? "-6" : "-4", dst, proto);
	n = strlen(out);
	while (n && out[n - 1] == '\n')
		out[--n] = '\0';
	return out;
}

/* The interface of our route to dst at `metric`. */
static const char *route_dev(const char *dst, uint32_t metric)
{
	static char out[64];
	size_t n;

	sh_out(out, sizeof(out),
	       "ip -n %s %s route show table main exact %s proto " PROTO " metric %u | "
	       "sed -n 's/.* dev \\([^ ]*\\).*/\\1/p'",
	       ns, strchr(dst, ':') ? "-6" : "-4", dst, metric);
	n = strlen(out);
	while (n && out[n - 1] == '\n')
		out[--n] = '\0';
	return out;
}

struct plan_buf {
	struct plan_route r[8];
	char keys[8][24];
	struct plan p;
};

static struct plan *plan_of(struct plan_buf *b, size_t n, ...)
{
	va_list ap;

	memset(b, 0, sizeof(*b));
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		const char *dst = va_arg(ap, const char *);
		const char *ifn = va_arg(ap, const char *);
		uint32_t metric = va_arg(ap, uint32_t);
		b->r[i].family = strchr(dst, ':') ? 6 : 4;
		snprintf(b->r[i].dst, sizeof(b->r[i].dst), "%s", dst);
		snprintf(b->r[i].ifname, sizeof(b->r[i].ifname), "%s", ifn);
		b->r[i].metric = metric;
		snprintf(b->keys[i], sizeof(b->keys[i]), "ep-%zu", i);
		b->r[i].endpoint_key = b->keys[i];
	}
	va_end(ap);
	b->p.routes = b->r;
	b->p.nroutes = n;
	return &b->p;
}

static void apply_ok(struct route_syncer *rs, struct plan *p)
{
	struct herr err = {{0}};
	int r = route_syncer_apply(rs, p, &err);
	if (r != 0)
		fail_msg("route_syncer_apply: %d %s", r, err.msg);
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Drive the syncer from its fd (poll, no sleeping) until `done` holds or 3 s pass. */
static bool pump_until(struct route_syncer *rs, bool (*done)(void *), void *arg)
{
	long deadline = now_ms() + 3000;
	struct herr err = {{0}};

	while (!done(arg)) {
		long left = deadline - now_ms();
		struct pollfd pfd = {.fd = route_syncer_fd(rs), .events = POLLIN};
		if (left <= 0)
			return false;
		if (poll(&pfd, 1, (int)left) > 0 && route_syncer_handle_events(rs, &err) < 0)
			fail_msg("route_syncer_handle_events: %s", err.msg);
	}
	return true;
}

struct expect {
	const char *dst, *proto, *metrics;
};

static bool metrics_are(void *arg)
{
	struct expect *e = arg;
	return !strcmp(metrics(e->dst, e->proto), e->metrics);
}

/* A netlink monitor of route changes in the test namespace: the sequence of
 * (new|del, metric) for one destination, in kernel order. */
struct mon {
	int fd;
};

static void mon_open(struct mon *m)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
	                         .nl_groups = RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE};
	int big = 4 << 20;

	m->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	assert_true(m->fd >= 0);
	setsockopt(m->fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	assert_int_equal(bind(m->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

/* "+1024 -512" for dst (protocol ours), from everything queued so far. */
static const char *mon_read(struct mon *m, const char *dst)
{
	static char out[512];
	char buf[65536];
	uint8_t want[16];
	int family = strchr(dst, ':') ? AF_INET6 : AF_INET;
	char addr[64];
	ssize_t n;

	snprintf(addr, sizeof(addr), "%s", dst);
	*strchr(addr, '/') = '\0';
	assert_int_equal(inet_pton(family, addr, want), 1);
	out[0] = '\0';
	while ((n = recv(m->fd, buf, sizeof(buf), 0)) > 0) {
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			struct rtmsg *rtm = NLMSG_DATA(h);
			struct rtattr *a = RTM_RTA(rtm);
			int len = (int)RTM_PAYLOAD(h);
			bool match = false;
			uint32_t metric = 0;

			if ((h->nlmsg_type != RTM_NEWROUTE && h->nlmsg_type != RTM_DELROUTE) ||
			    rtm->rtm_family != family || rtm->rtm_protocol != atoi(PROTO))
				continue;
			for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
				if (a->rta_type == RTA_DST)
					match =
					    !memcmp(RTA_DATA(a), want, family == AF_INET ? 4 : 16);
				if (a->rta_type == RTA_PRIORITY)
					metric = *(uint32_t *)RTA_DATA(a);
			}
			if (match)
				snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%c%u",
				         out[0] ? " " : "",
				         h->nlmsg_type == RTM_NEWROUTE ? '+' : '-', metric);
		}
	}
	return out;
}

static struct route_syncer *syncer(void)
{
	struct herr err = {{0}};
	struct route_syncer *rs = route_syncer_new(NULL, &err);
	if (!rs)
		fail_msg("route_syncer_new: %s", err.msg);
	return rs;
}

/* ---- tests ------------------------------------------------------------------------ */

/* normal -> suppressed -> elevated -> normal, each read back from the kernel;
 * the metric changes are make-before-break (add seen before delete). */
static void walk(const char *dst)
{
	struct route_syncer *rs = syncer();
	struct route_syncer_stats st;
	struct plan_buf b;
	struct mon m;

	mon_open(&m);
	apply_ok(rs, plan_of(&b, 1, dst, "hv0", 1024));
	assert_string_equal(metrics(dst, PROTO), "1024");
	assert_string_equal(route_dev(dst, 1024), "hv0");

	apply_ok(rs, plan_of(&b, 1, dst, "hv0", 0)); /* Target: suppressed */
	assert_string_equal(metrics(dst, "all"), "");

	apply_ok(rs, plan_of(&b, 1, dst, "hv0", 512)); /* Live: elevated */
	assert_string_equal(metrics(dst, PROTO), "512");

	apply_ok(rs, plan_of(&b, 1, dst, "hv0", 1024)); /* TimeWait over: normal */
	assert_string_equal(metrics(dst, PROTO), "1024");
	assert_string_equal(mon_read(&m, dst), "+1024 -1024 +512 +1024 -512");

	apply_ok(rs, plan_of(&b, 0)); /* the endpoint went away */
	assert_string_equal(metrics(dst, "all"), "");

	route_syncer_get_stats(rs, &st);
	assert_int_equal(st.added, 3);
	assert_int_equal(st.deleted, 3);
	assert_int_equal(st.errors, 0);
	close(m.fd);
	route_syncer_free(rs);
}

static void test_walk_v4(void **state)
{
	walk("10.65.0.10/32");
}

static void test_walk_v6(void **state)
{
	walk("fd00:65::a/128");
}

/* Routes of another protocol, to another prefix and to the same prefix at
 * another metric, survive every step. */
static void test_foreign_untouched(void **state)
{
	struct route_syncer *rs = syncer();
	struct plan_buf b;

	assert_int_equal(
	    sh("ip -n %s route add 10.65.0.20/32 dev hv0 metric 1024 proto static", ns), 0);
	assert_int_equal(sh("ip -n %s route add 10.65.0.10/32 dev hv0 metric 100 proto static", ns),
	                 0);
	assert_int_equal(
	    sh("ip -n %s -6 route add fd00:65::a/128 dev hv0 metric 100 proto static", ns), 0);
	apply_ok(rs, plan_of(&b, 2, "10.65.0.10/32", "hv0", 1024, "fd00:65::a/128", "hv0", 1024));
	apply_ok(rs, plan_of(&b, 2, "10.65.0.10/32", "hv0", 512, "fd00:65::a/128", "hv0", 512));
	apply_ok(rs, plan_of(&b, 0));
	assert_string_equal(metrics("10.65.0.10/32", PROTO), "");
	assert_string_equal(metrics("10.65.0.10/32", "static"), "100");
	assert_string_equal(metrics("10.65.0.20/32", "static"), "1024");
	assert_string_equal(metrics("fd00:65::a/128", "static"), "100");
	route_syncer_free(rs);
}

/* A new syncer (a restarted watcher) keeps the wanted elevated route as it is
 * (no delete, no re-add) and deletes the stale one. */
static void test_restart_reconciles(void **state)
{
	struct route_syncer *rs = syncer();
	struct pollfd pfd = {.events = POLLIN};
	struct herr err = {{0}};
	struct route_syncer_stats st;
	struct plan_buf b;
	struct mon m;

	apply_ok(rs, plan_of(&b, 4, "10.65.0.10/32", "hv0", 512, "10.65.0.11/32", "hv0", 1024,
	                     "10.65.0.12/32", "hv0", 1024, "fd00:65::a/128", "hv0", 512));
	route_syncer_free(rs);

	mon_open(&m);
	rs = syncer();
	/* Kernel changes before the first plan do not make it act on an empty one. */
	assert_int_equal(sh("ip -n %s route del 10.65.0.12/32 proto " PROTO " metric 1024", ns), 0);
	pfd.fd = route_syncer_fd(rs);
	assert_int_equal(poll(&pfd, 1, 3000), 1);
	assert_int_equal(route_syncer_handle_events(rs, &err), 0);
	assert_string_equal(metrics("10.65.0.10/32", PROTO), "512");
	assert_string_equal(metrics("10.65.0.11/32", PROTO), "1024");

	apply_ok(rs, plan_of(&b, 2, "10.65.0.10/32", "hv0", 512, "fd00:65::a/128", "hv0", 512));
	assert_string_equal(metrics("10.65.0.10/32", PROTO), "512");
	assert_string_equal(metrics("fd00:65::a/128", PROTO), "512");
	assert_string_equal(metrics("10.65.0.11/32", "all"), "");
	assert_string_equal(mon_read(&m, "10.65.0.10/32"), ""); /* never touched */
	assert_string_equal(mon_read(&m, "fd00:65::a/128"), "");
	route_syncer_get_stats(rs, &st);
	assert_int_equal(st.added, 0);
	assert_int_equal(st.deleted, 1);
	close(m.fd);
	route_syncer_free(rs);
}

/* bird-notes "Collision on the target": our elevated route exists, the
 * kernel holds another protocol's route at the normal metric, the plan drops
 * us to normal. The add collides (EEXIST): the foreign route is kept, our
 * elevated route is held, the wait is reported; once the foreign route is
 * deleted the notification completes the change. */
static void collision(const char *dst)
{
	const char *v6 = strchr(dst, ':') ? "-6" : "-4";
	struct route_syncer *rs = syncer();
	struct route_syncer_stats st;
	struct plan_buf b;
	struct expect e = {dst, PROTO, "1024"};

	apply_ok(rs, plan_of(&b, 1, dst, "hv0", 512));
	assert_int_equal(
	    sh("ip -n %s %s route add %s dev pv0 metric 1024 proto static", ns, v6, dst), 0);
	apply_ok(rs, plan_of(&b, 1, dst, "hv0", 1024));
	route_syncer_get_stats(rs, &st);
	assert_int_equal(st.waiting_conflict, 1);
	assert_int_equal(route_syncer_route_state(rs, strchr(dst, ':') ? 6 : 4, dst),
	                 ROUTE_WAITING_CONFLICT);
	assert_string_equal(metrics(dst, "static"), "1024"); /* not overwritten */
	assert_string_equal(metrics(dst, PROTO), "512");     /* elevated held */

	/* Nothing changes on unrelated events. */
	assert_int_equal(sh("ip -n %s route add 10.99.0.1/32 dev pv0 proto static", ns), 0);
	assert_int_equal(sh("ip -n %s route del 10.99.0.1/32 dev pv0 proto static", ns), 0);

	assert_int_equal(
	    sh("ip -n %s %s route del %s dev pv0 metric 1024 proto static", ns, v6, dst), 0);
	assert_true(pump_until(rs, metrics_are, &e));
	assert_string_equal(metrics(dst, "all"), "1024");
	assert_string_equal(route_dev(dst, 1024), "hv0");
	route_syncer_get_stats(rs, &st);
	assert_int_equal(st.waiting_conflict, 0);
	assert_int_equal(route_syncer_route_state(rs, strchr(dst, ':') ? 6 : 4, dst),
	                 ROUTE_IN_PLACE);
	route_syncer_free(rs);
}

static void test_collision_v4(void **state)
{
	collision("10.65.0.10/32");
}

static void test_collision_v6(void **state)
{
	collision("fd00:65::a/128");
}

/* A route whose interface does not exist yet is programmed when it appears;
 * a link down (IPv4 routes flushed silently) then up brings it back. */
static void test_link_appears(void **state)
{
	struct route_syncer *rs = syncer();
	struct route_syncer_stats st;
	struct plan_buf b;
	struct expect v4 = {"10.65.0.30/32", PROTO, "1024"},
	              v6 = {"fd00:65::1e/128", PROTO, "1024"};
	struct expect gone = {"10.65.0.30/32", PROTO, ""};

	apply_ok(rs, plan_of(&b, 2, "10.65.0.30/32", "hv1", 1024, "fd00:65::1e/128", "hv1", 1024));
	route_syncer_get_stats(rs, &st);
	assert_int_equal(st.waiting_link, 2);
	assert_int_equal(route_syncer_route_state(rs, 4, "10.65.0.30/32"), ROUTE_WAITING_LINK);
	assert_int_equal(route_syncer_route_state(rs, 4, "10.65.0.31/32"), ROUTE_NOT_WANTED);
	assert_string_equal(metrics("10.65.0.30/32", "all"), "");

	assert_int_equal(
	    sh("ip -n %s link add hv1 type veth peer name pv1 && ip -n %s link set pv1 "
	       "up && ip -n %s link set hv1 up",
	       ns, ns, ns),
	    0);
	assert_true(pump_until(rs, metrics_are, &v4));
	assert_true(pump_until(rs, metrics_are, &v6));
	assert_string_equal(route_dev("10.65.0.30/32", 1024), "hv1");

	assert_int_equal(sh("ip -n %s link set hv1 down", ns), 0);
	assert_true(pump_until(rs, metrics_are, &gone));
	assert_int_equal(sh("ip -n %s link set hv1 up", ns), 0);
	assert_true(pump_until(rs, metrics_are, &v4));
	assert_true(pump_until(rs, metrics_are, &v6));
	route_syncer_get_stats(rs, &st);
	assert_int_equal(st.waiting_link, 0);
	route_syncer_free(rs);
}

/* The pod's interface is made (by the CNI) while the syncer runs, and only
 * later does a plan name it: the syncer's link cache must have caught up, so
 * the route goes in at once instead of waiting for a link event that already
 * happened (the demo found this). */
static void test_link_made_before_plan(void **state)
{
	struct route_syncer *rs = syncer();
	struct route_syncer_stats st;
	struct plan_buf b;
	struct herr err = {{0}};

	apply_ok(rs, plan_of(&b, 1, "10.65.0.40/32", "hv0", 1024)); /* some other pod */
	assert_int_equal(
	    sh("ip -n %s link add hv3 type veth peer name pv3 && ip -n %s link set pv3 up && "
	       "ip -n %s link set hv3 up",
	       ns, ns, ns),
	    0);
	/* The notifications are read before the plan changes, as in the watcher's loop. */
	struct pollfd pfd = {.fd = route_syncer_fd(rs), .events = POLLIN};
	while (poll(&pfd, 1, 200) > 0)
		assert_int_equal(route_syncer_handle_events(rs, &err), 0);
	apply_ok(rs, plan_of(&b, 1, "10.65.0.41/32", "hv3", 1024));
	/* Programmed by the apply itself, with no further event pumped. */
	assert_int_equal(route_syncer_route_state(rs, 4, "10.65.0.41/32"), ROUTE_IN_PLACE);
	assert_string_equal(metrics("10.65.0.41/32", PROTO), "1024");
	route_syncer_get_stats(rs, &st);
	assert_int_equal(st.waiting_link, 0);
	route_syncer_free(rs);
}

/* Links coming up are passed on (the watcher opens waiting GARP captures). */
static void record_link(void *arg, const char *ifname)
{
	char *seen = arg;
	if (!strcmp(ifname, "hv2"))
		strcpy(seen, ifname);
}

static bool link_seen(void *arg)
{
	return ((char *)arg)[0] != '\0';
}

static void test_link_up_callback(void **state)
{
	char seen[16] = "";
	struct herr err = {{0}};
	struct route_syncer_opts o = {.on_link_up = record_link, .on_link_up_arg = seen};
	struct route_syncer *rs = route_syncer_new(&o, &err);

	assert_non_null(rs);
	assert_int_equal(sh("ip -n %s link add hv2 type veth peer name pv2", ns), 0);
	/* Created but down: not reported. */
	struct pollfd pfd = {.fd = route_syncer_fd(rs), .events = POLLIN};
	while (poll(&pfd, 1, 100) > 0)
		assert_int_equal(route_syncer_handle_events(rs, &err), 0);
	assert_string_equal(seen, "");
	assert_int_equal(sh("ip -n %s link set hv2 up", ns), 0);
	assert_true(pump_until(rs, link_seen, seen));
	assert_string_equal(seen, "hv2");
	route_syncer_free(rs);
}

/* Someone deletes our route: the notification puts it back. */
static void test_deleted_under_us(void **state)
{
	struct route_syncer *rs = syncer();
	struct plan_buf b;
	struct expect e = {"10.65.0.10/32", PROTO, "512"};

	apply_ok(rs, plan_of(&b, 1, "10.65.0.10/32", "hv0", 512));
	assert_int_equal(sh("ip -n %s route del 10.65.0.10/32 proto " PROTO " metric 512", ns), 0);
	assert_string_equal(metrics("10.65.0.10/32", PROTO), "");
	assert_true(pump_until(rs, metrics_are, &e));
	route_syncer_free(rs);
}

/* Notifications lost (the socket overflowed): the kernel is re-read and a
 * route deleted among the lost changes is put back. */
static void test_overflow_rereads(void **state)
{
	struct route_syncer *rs = syncer();
	struct plan_buf b;
	struct expect e = {"10.65.0.10/32", PROTO, "1024"};
	char path[64], *logbuf = NULL;
	size_t loglen = 0;
	FILE *f, *log = open_memstream(&logbuf, &loglen);

	apply_ok(rs, plan_of(&b, 1, "10.65.0.10/32", "hv0", 1024));
	/* 30,000 foreign route changes, then our route deleted: more notifications
	 * than the syncer's socket holds. */
	snprintf(path, sizeof(path), "/tmp/test_routes_%d.batch", (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 30000; i++)
		fprintf(f, "route add 10.%d.%d.%d/32 dev pv0 proto static\n", 100 + i / 65536,
		        (i / 256) % 256, i % 256);
	fprintf(f, "route del 10.65.0.10/32 proto " PROTO " metric 1024\n");
	fclose(f);
	assert_int_equal(sh("ip -n %s -batch %s", ns, path), 0);
	unlink(path);
	assert_string_equal(metrics("10.65.0.10/32", PROTO), "");

	hlog_set_stream(log);
	assert_true(pump_until(rs, metrics_are, &e));
	hlog_set_stream(NULL);
	fclose(log);
	assert_non_null(strstr(logbuf, "overflowed"));
	free(logbuf);
	route_syncer_free(rs);
}

/* A malformed plan entry is rejected with a message naming it and its field;
 * the others are still applied. A reserved protocol number is refused. */
static void test_bad_input(void **state)
{
	struct route_syncer *rs = syncer();
	struct route_syncer_opts o = {.protocol = 12};
	struct herr err = {{0}};
	struct plan_buf b;

	assert_int_equal(route_syncer_apply(rs,
	                                    plan_of(&b, 2, "10.65.0.0/24", "hv0", 1024,
	                                            "10.65.0.10/32", "hv0", 1024),
	                                    &err),
	                 -EINVAL);
	assert_non_null(strstr(err.msg, "10.65.0.0/24"));
	assert_non_null(strstr(err.msg, "field dst"));
	assert_string_equal(metrics("10.65.0.10/32", PROTO), "1024");
	assert_string_equal(metrics("10.65.0.0/24", "all"), "");

	assert_int_equal(route_syncer_apply(rs, plan_of(&b, 1, "10.65.0.10/32", "", 1024), &err),
	                 -EINVAL);
	assert_non_null(strstr(err.msg, "field ifname"));
	route_syncer_free(rs);

	assert_null(route_syncer_new(&o, &err));
	assert_non_null(strstr(err.msg, "field protocol"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_walk_v4, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_walk_v6, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_untouched, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restart_reconciles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_collision_v4, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_collision_v6, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_link_appears, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_link_made_before_plan, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deleted_under_us, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_link_up_callback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_overflow_rereads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
