/* bench_routes.c - route programming rate: the syncer against `ip -batch`.
 *
 *   bench_routes [N] [ROUNDS]      (root; default 10000 routes, 3 rounds)
 *
 * In a fresh network namespace with one veth, each round:
 *   1. syncer: apply a plan of N /32 routes at metric 1024 (create phase),
 *      then the same routes at 512 (change phase: N make-before-break adds and
 *      N deletes of the old routes), then drain its notifications; then 200
 *      single-route metric changes (what one GARP causes) with N and with 250
 *      routes planned, timing each apply;
 *   2. ip -batch, the kernel's own pace through iproute2: N `route add` lines,
 *      then N adds at the new metric plus N deletes of the old.
 * Every phase's result is checked by counting the kernel's routes. Prints
 * routes/s per phase and the time ratio syncer / ip-batch (target <= 1.5),
 * taking the median round, and the single-change latency (median, p99). Figures only: never
 * pass/fail on timing. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/plan.h"
#include "dataplane/routes.h"
#include "netns/nsutil.h"
#include "util/log.h"

static char ns[32];

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void addr_of(size_t i, char *out, size_t len)
{
	snprintf(out, len, "10.%zu.%zu.%zu", 100 + i / 65536, (i / 256) % 256, i % 256);
}

static long kernel_count(const char *proto, uint32_t metric)
{
	char out[64];

	if (sh_out(out, sizeof(out), "ip -n %s -4 route show table main proto %s metric %u | wc -l",
	           ns, proto, metric) != 0)
		return -1;
	return atol(out);
}

static void die(const char *what)
{
	fprintf(stderr, "bench_routes: %s\n", what);
	ns_delete(ns);
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double q)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	int i = (int)(q * n);
	return v[i < n ? i : n - 1];
}

static double median(double *v, int n)
{
	return pct(v, n, 0.5);
}

/* Syncer phases; returns the seconds of create, change, drain. */
static uint64_t drain_rereads;

/* Single-route changes (what a GARP causes): FLIPS applies that each move one
 * route's metric, with `n` routes planned; per-apply seconds into lat[]. */
#define FLIPS 200
#define SMALL 250
static double lat_big[16 * FLIPS], lat_small[16 * FLIPS];
static int nlat_big, nlat_small;

static void flips(struct route_syncer *rs, struct plan *p, size_t n, double *lat, int *nlat)
{
	struct herr err = {{0}};
	size_t saved = p->nroutes;

	p->nroutes = n;
	for (int f = 0; f < FLIPS; f++) {
		struct plan_route *r = &p->routes[(size_t)f * n / FLIPS];
		r->metric = r->metric == 512 ? 1024 : 512;
		double t0 = now_s();
		if (route_syncer_apply(rs, p, &err) != 0)
			die(err.msg);
		lat[(*nlat)++] = now_s() - t0;
	}
	p->nroutes = saved;
}

static void run_syncer(struct plan *p, size_t n, double t[3])
{
	uint64_t resyncs;
	struct route_syncer_stats st;
	struct herr err = {{0}};
	struct route_syncer *rs;
	double t0;
	int home = ns_enter(ns);

	if (home < 0)
		die("cannot enter the namespace");
	rs = route_syncer_new(NULL, &err);
	ns_leave(home);
	if (!rs)
		die(err.msg);

	for (size_t i = 0; i < n; i++)
		p->routes[i].metric = 1024;
	t0 = now_s();
	if (route_syncer_apply(rs, p, &err) != 0)
		die(err.msg);
	t[0] = now_s() - t0;
	if (kernel_count("88", 1024) != (long)n)
		die("create phase: wrong number of routes in the kernel");

	for (size_t i = 0; i < n; i++)
		p->routes[i].metric = 512;
	t0 = now_s();
	if (route_syncer_apply(rs, p, &err) != 0)
		die(err.msg);
	t[1] = now_s() - t0;
	if (kernel_count("88", 512) != (long)n || kernel_count("88", 1024) != 0)
		die("change phase: wrong routes in the kernel");

	/* The watcher reads the notifications of its own changes too. */
	route_syncer_get_stats(rs, &st);
	resyncs = st.resyncs;
	t0 = now_s();
	if (route_syncer_handle_events(rs, &err) != 0)
		die(err.msg);
	t[2] = now_s() - t0;
	route_syncer_get_stats(rs, &st);
	if (st.added != 2 * n || st.deleted != n || st.errors)
		die("syncer counters do not match the work done");
	drain_rereads += st.resyncs - resyncs;

	flips(rs, p, n, lat_big, &nlat_big);
	if (n > SMALL) {
		struct plan small = {.routes = p->routes, .nroutes = SMALL};
		if (route_syncer_apply(rs, &small, &err) != 0) /* drops the other routes */
			die(err.msg);
		flips(rs, p, SMALL, lat_small, &nlat_small);
	}
	route_syncer_handle_events(rs, &err);
	route_syncer_free(rs);
	if (sh("ip -n %s route flush table main proto 88", ns) != 0)
		die("flush failed");
}

/* ip -batch phases, protocol 89 so that nothing mixes with the syncer's. */
static void run_ip_batch(size_t n, const char *dir, double t[2])
{
	char f1[512], f2[512], a[32];
	FILE *f;
	double t0;

	snprintf(f1, sizeof(f1), "%s/create.batch", dir);
	snprintf(f2, sizeof(f2), "%s/change.batch", dir);
	f = fopen(f1, "w");
	if (!f)
		die("cannot write the batch file");
	for (size_t i = 0; i < n; i++) {
		addr_of(i, a, sizeof(a));
		fprintf(f, "route add %s/32 dev hv0 scope link metric 1024 proto 89\n", a);
	}
	fclose(f);
	f = fopen(f2, "w");
	if (!f)
		die("cannot write the batch file");
	for (size_t i = 0; i < n; i++) { /* make-before-break, route by route */
		addr_of(i, a, sizeof(a));
		fprintf(f, "route add %s/32 dev hv0 scope link metric 512 proto 89\n", a);
		fprintf(f, "route del %s/32 dev hv0 scope link metric 1024 proto 89\n", a);
	}
	fclose(f);

	t0 = now_s();
	if (sh("ip -n %s -batch %s", ns, f1) != 0)
		die("ip -batch create failed");
	t[0] = now_s() - t0;
	if (kernel_count("89", 1024) != (long)n)
		die("ip create phase: wrong number of routes");
	t0 = now_s();
	if (sh("ip -n %s -batch %s", ns, f2) != 0)
		die("ip -batch change failed");
	t[1] = now_s() - t0;
	if (kernel_count("89", 512) != (long)n || kernel_count("89", 1024) != 0)
		die("ip change phase: wrong routes");
	if (sh("ip -n %s route flush table main proto 89", ns) != 0)
		die("flush failed");
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? (size_t)atol(argv[1]) : 10000;
	int rounds = argc > 2 ? atoi(argv[2]) : 3;
	char dir[] = "/tmp/bench_routes.XXXXXX";
	double sc[16], sm[16], sd[16], ic[16], im[16];
	struct plan p = {0};

	if (!ns_have_root()) {
		fprintf(stderr, "bench_routes: needs root (network namespaces)\n");
		return 2;
	}
	if (n == 0 || n > 1000000 || rounds < 1 || rounds > 16) {
		fprintf(stderr, "usage: bench_routes [N (1..1000000)] [ROUNDS (1..16)]\n");
		return 2;
	}
	hlog_set_level(HLOG_WARN);
	ns_name(ns, "rtbench");
	if (!mkdtemp(dir) || ns_create(ns) ||
	    sh("ip -n %s link add hv0 type veth peer name pv0 && ip -n %s link set hv0 up && "
	       "ip -n %s link set pv0 up",
	       ns, ns, ns))
		die("cannot create the namespace");

	p.routes = calloc(n, sizeof(*p.routes));
	p.nroutes = n;
	if (!p.routes)
		die("out of memory");
	for (size_t i = 0; i < n; i++) {
		char a[32];
		addr_of(i, a, sizeof(a));
		p.routes[i].family = 4;
		snprintf(p.routes[i].dst, sizeof(p.routes[i].dst), "%s/32", a);
		snprintf(p.routes[i].ifname, sizeof(p.routes[i].ifname), "hv0");
	}

	printf("bench_routes: %zu /32 routes, %d rounds, median shown\n", n, rounds);
	for (int r = 0; r < rounds; r++) {
		double t[3], u[2];
		run_syncer(&p, n, t);
		run_ip_batch(n, dir, u);
		sc[r] = t[0], sm[r] = t[1], sd[r] = t[2], ic[r] = u[0], im[r] = u[1];
		printf("  round %d: syncer create %.1f ms change %.1f ms drain %.1f ms | "
		       "ip-batch create %.1f ms change %.1f ms\n",
		       r + 1, t[0] * 1e3, t[1] * 1e3, t[2] * 1e3, u[0] * 1e3, u[1] * 1e3);
	}
	double c = median(sc, rounds), m = median(sm, rounds), d = median(sd, rounds);
	double ipc = median(ic, rounds), ipm = median(im, rounds);
	printf("create  (N adds):            syncer %8.0f routes/s (%7.1f ms)   ip-batch %8.0f "
	       "routes/s (%7.1f ms)   time ratio syncer/ip %.2f\n",
	       (double)n / c, c * 1e3, (double)n / ipc, ipc * 1e3, c / ipc);
	printf("change  (N adds + N deletes): syncer %8.0f routes/s (%7.1f ms)   ip-batch %8.0f "
	       "routes/s (%7.1f ms)   time ratio syncer/ip %.2f\n",
	       (double)n / m, m * 1e3, (double)n / ipm, ipm * 1e3, m / ipm);
	printf("drain   (syncer reads the %zu notifications of its changes): %.1f ms; kernel "
	       "re-read after a notification overflow in %llu of %d rounds\n",
	       3 * n, d * 1e3, (unsigned long long)drain_rereads, rounds);
	printf("one route's metric changed (make-before-break), %d applies per round:\n", FLIPS);
	printf("  with %6zu routes planned: median %.3f ms  p99 %.3f ms\n", n,
	       median(lat_big, nlat_big) * 1e3, pct(lat_big, nlat_big, 0.99) * 1e3);
	if (nlat_small)
		printf("  with %6d routes planned: median %.3f ms  p99 %.3f ms\n", SMALL,
		       median(lat_small, nlat_small) * 1e3, pct(lat_small, nlat_small, 0.99) * 1e3);
	printf("target: time ratio <= 1.50 (the syncer within 1.5x of ip -batch)\n");

	free(p.routes);
	ns_delete(ns);
	sh("rm -rf %s", dir);
	return 0;
}
