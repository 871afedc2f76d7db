/* bench_watch_events - watch events per second through the watcher's whole
 * per-event path, and resident memory with many endpoints and migrations.
 *
 *   bench_watch_events stream [FILE [EVENTS [PODS [PER_ITERATION [ROUNDS]]]]]
 *       FILE: the recorded stream (written once if absent; default
 *       /tmp/handoff-watch-100k.ndjson), EVENTS 100000, PODS 2000 local VMs,
 *       PER_ITERATION 64 events per emulated loop iteration. ROUNDS (3)
 *       times, side by side: the parse floor with malloc, the parse floor
 *       with the arena, the pipeline; then the range of each and of the
 *       ratio pipeline / floor with malloc.
 *   bench_watch_events pipeline [FILE [EVENTS [PODS [PER_ITERATION]]]]
 *       the pipeline alone, once (what hack/bench-watch.sh profiles).
 *   bench_watch_events floor|floor-arena [FILE [EVENTS]]
 *       the parse floor alone, with malloc or with the arena (for profilers
 *       that count instructions, e.g. callgrind, which load does not change).
 *   bench_watch_events verify [FILE [EVENTS [PODS [PER_ITERATION]]]]
 *       the stream run, checking every plan against one made from scratch
 *       (exit 1 on a difference): the test unit_engine_plan_stream.
 *   BENCH_EXPECT="DECISIONS GARPS": pipeline and verify exit 1 unless the run
 *       made exactly these (the test unit_watch_stream_decisions).
 *   bench_watch_events memory [ENDPOINTS [MIGRATIONS]]
 *       default 10000 local endpoints and 1000 concurrent LiveMigrations.
 *
 * The stream is newline-delimited JSON watch events as the API server sends
 * them: KubeVirt virt-launcher Pods of one node (the watcher's field selector)
 * and projectcalico.org/v3 LiveMigrations with KubeVirt-style target
 * selectors and workload sources, ADDED/MODIFIED/DELETED. Migrations run
 * concurrently (up to 64 in flight), in and out of this node, between pod
 * status updates; a deterministic generator makes the same file every time.
 *
 * Replay runs in one thread, on the path of `handoff-watcher run` without the
 * kernel: file read in 16 KiB pieces (a libcurl write) -> line_splitter ->
 * json_loadb into the watch's arena (util/arena.h; kube/watch.c's
 * watch_data and on_line; BENCH_NO_ARENA=1 parses with malloc instead) ->
 * the watch's digest cache, Pods and LiveMigrations digested by
 * endpoint_pod_digest and live_migration_digest as watcher/source_kube.c
 * sets it -> intake (watcher/intake.c's dispatch,
 * reproduced below: Pods through the pod store (core/pods.h: decoded once),
 * endpoint_with_record and engine_endpoint_upsert/delete; LiveMigrations
 * through engine_apply/delete)
 * -> decisions; and every PER_ITERATION events, what watcher/sync.c does once
 * per loop iteration before touching the kernel: log the decisions, compute
 * the plan (engine_plan), re-arm the FSM timer. The clock is virtual (5 ms per
 * event) so convergence timers fire as in a real stream; a target pod's GARP
 * is reported when its migration reaches Running. Log lines go to /dev/null.
 *
 * The "floor" lines are splitting and json_loadb alone over the same file: the
 * most any consumer of jansson trees can reach on this stream, with malloc
 * (json_decref after each line) and with the arena (a reset after each
 * line). Times are CPU time of this process (getrusage), so that other
 * processes on a shared machine count less; the ratio is measured side by
 * side in each round. The memory run
 * prints VmRSS, VmHWM and VmRSS after malloc_trim(0) (live data without the
 * free pages malloc keeps).
 *
 * Figures only, no verdict. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "decisions.h"
#include "watch_stream.h"
#include "core/engine.h"
#include "core/digest.h"
#include "core/pods.h"
#include "kube/cache.h"
#include "kube/client.h"
#include "util/arena.h"
#include "util/log.h"

#define MAX_LINE   (16u << 20)
#define READ_PIECE 16384 /* what one libcurl write callback delivers at most */
#define EVENT_MS   5     /* virtual time between two events */

/* ---- the watcher's per-event path, without the kernel ----------------------------- */

struct bench {
	struct obj_cache *pod_watch, *lm_watch; /* each watch's own cache (kube/watch.c) */
	struct pod_store *pods;                 /* intake's decoded Pods of this node */
	struct obj_cache *records;              /* CNI endpoint records (none here) */
	struct engine *engine;
	struct decisions decisions;
	uint64_t now;
	bool plan_dirty;
	struct arena *arena; /* the watch's arena; NULL: malloc (BENCH_NO_ARENA) */
	bool verify;         /* check every plan against one made from scratch */
	long lines, events, malformed, rejected, decisions_logged, garps, iterations, plans;
	unsigned per_iteration;
	uint64_t plan_ns, routes_in_plans;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static const char *meta(const json_t *obj, const char *field)
{
	const char *s = json_string_value(json_object_get(json_object_get(obj, "metadata"), field));
	return s ? s : "";
}

/* As intake.c's refresh_endpoint(): the engine's view of ns/name from the
 * stored Pod and the CNI record. */
static void refresh_endpoint(struct bench *b, const char *ns, const char *name)
{
	char key[600];
	const struct endpoint *pod;
	struct endpoint ep;

	snprintf(key, sizeof(key), "%s/%s", ns, name);
	pod = pod_store_get(b->pods, key);
	if (!pod) {
		engine_endpoint_delete(b->engine, key, b->now, &b->decisions);
		b->plan_dirty = true;
		return;
	}
	char rkey[600];
	snprintf(rkey, sizeof(rkey), "EndpointRecord/%s/%s", ns, name);
	const json_t *rec = obj_cache_get(b->records, rkey);
	if (!rec) { /* the Pod's endpoint as it is: no copy */
		engine_endpoint_upsert(b->engine, pod, b->now, &b->decisions);
		b->plan_dirty = true;
		return;
	}
	if (endpoint_with_record(pod, rec, &ep) < 0)
		abort();
	engine_endpoint_upsert(b->engine, &ep, b->now, &b->decisions);
	endpoint_free(&ep);
	b->plan_dirty = true;
}

/* As intake.c's intake_object() for the kinds in the stream. */
static void intake(void *arg, enum obj_event ev, const json_t *obj)
{
	struct bench *b = arg;
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	struct herr err = {{0}};
	int r;

	if (!kind)
		return;
	if (hlog_enabled(HLOG_DEBUG))
		hlog(HLOG_DEBUG, "Object event", "event=%s kind=%s namespace=%s name=%s",
		     obj_event_name(ev), kind, meta(obj, "namespace"), meta(obj, "name"));
	if (!strcmp(kind, "Pod")) {
		const char *node =
		    json_string_value(json_object_get(json_object_get(obj, "spec"), "nodeName"));
		const char *ns = *meta(obj, "namespace") ? meta(obj, "namespace") : "default";
		char key[600];
		if (ev != OBJ_DELETED && node && !strcmp(node, NODE)) {
			if (pod_store_upsert(b->pods, obj, &err) < 0) {
				b->rejected++;
				return;
			}
		} else {
			snprintf(key, sizeof(key), "%s/%s", ns, meta(obj, "name"));
			if (pod_store_delete(b->pods, key) < 0)
				return;
		}
		refresh_endpoint(b, ns, meta(obj, "name"));
		return;
	}
	if (ev == OBJ_DELETED)
		r = engine_delete(b->engine, kind, meta(obj, "namespace"), meta(obj, "name"),
		                  b->now, &b->decisions, &err);
	else
		r = engine_apply(b->engine, obj, b->now, &b->decisions, &err);
	if (r < 0)
		b->rejected++;
	else if (r == 0)
		b->plan_dirty = true;
}

/* The VM resumes on this node when its migration reaches Running (the
 * LiveMigration's MODIFIED event in this stream): the capture would report
 * its GARP in one of the next iterations. Done from the stream, not from
 * intake: the watch passes on only the LiveMigrations whose content changed
 * (live_migration_digest), and this one changes only its resourceVersion. */
static void garp_when_running(struct bench *b, const json_t *obj)
{
	struct herr err = {{0}};
	const char *sel = json_string_value(
	    json_object_get(json_object_get(json_object_get(obj, "spec"), "target"), "selector"));
	char key[600];
	unsigned vm;
	/* Find the target pod this bench created: virt-launcher-vm-N-(gen+1). */
	const char *src = json_string_value(json_object_get(
	    json_object_get(json_object_get(json_object_get(obj, "spec"), "source"), "workload"),
	    "workloadID"));
	unsigned gen;
	if (sel && src && strrchr(src, '/') &&
	    sscanf(strrchr(src, '/') + 1, "virt-launcher-vm-%u-%u", &vm, &gen) == 2) {
		snprintf(key, sizeof(key), "%s/virt-launcher-vm-%u-%u", meta(obj, "namespace"), vm,
		         gen + 1);
		if (pod_store_get(b->pods, key)) {
			if (engine_garp(b->engine, key, NULL, b->now, &b->decisions, &err) == 0)
				b->garps++;
			b->plan_dirty = true;
		}
	}
}

/* verify mode: engine_plan() (built from each endpoint's kept part) must equal
 * plan_compute() over every endpoint from scratch, at every iteration. */
static long verify_failures;

static bool same_plan(const struct plan *a, const struct plan *b)
{
	if (a->nroutes != b->nroutes || a->narps != b->narps || a->ncaptures != b->ncaptures)
		return false;
	for (size_t i = 0; i < a->nroutes; i++) {
		const struct plan_route *x = &a->routes[i], *y = &b->routes[i];
		if (x->family != y->family || strcmp(x->dst, y->dst) ||
		    strcmp(x->ifname, y->ifname) || x->metric != y->metric ||
		    strcmp(x->endpoint_key, y->endpoint_key))
			return false;
	}
	for (size_t i = 0; i < a->narps; i++) {
		if (strcmp(a->arps[i].ifname, b->arps[i].ifname) ||
		    a->arps[i].naddrs != b->arps[i].naddrs)
			return false;
		for (size_t j = 0; j < a->arps[i].naddrs; j++)
			if (strcmp(a->arps[i].addrs[j], b->arps[i].addrs[j]))
				return false;
	}
	for (size_t i = 0; i < a->ncaptures; i++)
		if (strcmp(a->captures[i].ifname, b->captures[i].ifname) ||
		    strcmp(a->captures[i].endpoint_key, b->captures[i].endpoint_key))
			return false;
	return true;
}

static void verify_plan(struct bench *b, const struct plan *kept)
{
	const struct endpoint *const *eps;
	size_t n = engine_endpoints(b->engine, &eps);
	struct plan fresh;

	if (plan_compute(eps, n, engine_monitor(b->engine), engine_route_config(b->engine),
	                 &fresh) < 0)
		abort();
	if (!same_plan(kept, &fresh) && verify_failures++ < 5)
		fprintf(stderr,
		        "verify: iteration %ld: engine_plan has %zu routes, %zu ARP entries, "
		        "%zu captures; from scratch %zu, %zu, %zu (or a field differs)\n",
		        b->iterations, kept->nroutes, kept->narps, kept->ncaptures, fresh.nroutes,
		        fresh.narps, fresh.ncaptures);
	plan_free(&fresh);
}

/* What sync.c does once per loop iteration, up to the kernel. */
static void iteration(struct bench *b)
{
	uint64_t due;

	b->iterations++;
	/* Logged exactly as the watcher logs them (watcher/decisions.c). */
	for (size_t i = 0; i < b->decisions.n; i++)
		decision_log(&b->decisions.v[i]);
	b->decisions_logged += (long)b->decisions.n;
	if (b->decisions.n)
		b->plan_dirty = true;
	decisions_clear(&b->decisions);
	if (b->plan_dirty) {
		struct plan p = {0};
		uint64_t t0 = mono_ns();
		if (engine_plan(b->engine, &p) == 0) {
			b->plan_ns += mono_ns() - t0;
			b->routes_in_plans += p.nroutes;
			if (b->verify)
				verify_plan(b, &p);
			plan_free(&p);
		}
		b->plans++;
	}
	b->plan_dirty = false;
	engine_next_deadline(b->engine, &due);
	/* The loop writes an iteration's log lines together (util/loop.c). */
	hlog_release();
	hlog_hold();
}

/* As kube/watch.c's on_line() and on_event_line(). */
static void on_line(void *arg, const char *line, size_t len)
{
	struct bench *b = arg;
	json_error_t je;
	json_t *ev;

	b->lines++;
	if (!line || !(ev = json_loadb(line, len, 0, &je))) {
		b->malformed++;
		return;
	}
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	struct obj_cache *c = kind && !strcmp(kind, "Pod") ? b->pod_watch : b->lm_watch;
	struct herr err = {{0}};
	int rc;

	b->now += EVENT_MS;
	if (!type || !json_is_object(obj)) {
		b->malformed++;
	} else {
		/* Not trimmed: the Pod watch has a digest function (watch.c). */
		if (type[0] == 'D')
			rc = obj_cache_delete(c, obj, intake, b, &err);
		else
			rc = obj_cache_upsert(c, obj, intake, b, &err);
		if (rc < 0)
			b->malformed++;
		else
			b->events++;
		if (rc == 0 && c == b->lm_watch && !strcmp(type, "MODIFIED"))
			garp_when_running(b, obj);
	}
	if (b->arena && json_arena_current() == b->arena)
		arena_reset(b->arena);
	else
		json_decref(ev);
	if (b->per_iteration && b->lines % b->per_iteration == 0)
		iteration(b);
}

static int bench_init(struct bench *b, unsigned per_iteration)
{
	memset(b, 0, sizeof(*b));
	/* As source_kube.c sets up its watches: digests only. */
	b->pod_watch = obj_cache_new_digests();
	b->lm_watch = obj_cache_new_digests();
	if (b->pod_watch)
		obj_cache_set_digest(b->pod_watch, endpoint_pod_digest);
	if (b->lm_watch)
		obj_cache_set_digest(b->lm_watch, live_migration_digest);
	b->arena = getenv("BENCH_NO_ARENA") ? NULL : arena_new(0, 0);
	b->pods = pod_store_new();
	b->records = obj_cache_new();
	b->engine = engine_new(NODE);
	b->now = 1800000000000ull;
	b->per_iteration = per_iteration;
	hlog_hold(); /* released and held again by every iteration, as the loop does */
	return b->pod_watch && b->lm_watch && b->pods && b->records && b->engine &&
	               (b->arena || getenv("BENCH_NO_ARENA"))
	           ? 0
	           : -1;
}

static void bench_fini(struct bench *b)
{
	hlog_release();
	engine_free(b->engine);
	decisions_free(&b->decisions);
	pod_store_free(b->pods);
	obj_cache_free(b->records);
	obj_cache_free(b->pod_watch);
	obj_cache_free(b->lm_watch);
	arena_free(b->arena);
}

/* A piece of the stream as one libcurl write: in arena mode throughout, as
 * kube/watch.c's watch_data(). */
static void feed(struct line_splitter *ls, struct arena *a, const char *data, size_t len)
{
	if (a && json_arena_begin(a) < 0)
		abort();
	line_splitter_feed(ls, data, len);
	if (a)
		json_arena_end();
}

/* The floor of the path: splitting and JSON parsing alone, nothing applied;
 * each tree dropped as the pipeline drops it with the same allocator. */
struct floor {
	struct arena *arena; /* NULL: malloc */
	long parsed;
};

static void parse_only(void *arg, const char *line, size_t len)
{
	struct floor *f = arg;
	json_error_t je;
	json_t *ev = line ? json_loadb(line, len, 0, &je) : NULL;

	f->parsed += ev != NULL;
	if (f->arena)
		arena_reset(f->arena);
	else
		json_decref(ev);
}

/* Events per CPU second, or -1. */
static double parse_floor(const char *path, bool arena)
{
	struct floor f = {.arena = arena ? arena_new(0, 0) : NULL};
	struct line_splitter *ls = line_splitter_new(MAX_LINE, parse_only, &f);
	char buf[READ_PIECE];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0 || !ls || (arena && !f.arena)) {
		line_splitter_free(ls);
		arena_free(f.arena);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	double cpu0 = cpu_seconds();
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		feed(ls, f.arena, buf, (size_t)n);
	double cpu = cpu_seconds() - cpu0;
	close(fd);
	line_splitter_free(ls);
	arena_free(f.arena);
	return (double)f.parsed / (cpu > 0 ? cpu : 1e-9);
}

enum mode { MODE_STREAM, MODE_PIPELINE, MODE_VERIFY, MODE_FLOOR, MODE_FLOOR_ARENA };

/* What one pass of the pipeline made. */
struct result {
	double rate; /* events per CPU second */
	long decisions, garps;
	bool failed; /* verify found a difference, or an event was refused */
};

/* One pass of the pipeline over the file; `show` prints what it did. */
static int pipeline(const char *path, long per, bool verify, bool show, struct result *res)
{
	struct bench b;
	char buf[READ_PIECE];
	ssize_t n;
	long bytes = 0;
	int fd = open(path, O_RDONLY);
	struct line_splitter *ls = NULL;

	if (fd < 0 || bench_init(&b, (unsigned)per) < 0 ||
	    !(ls = line_splitter_new(MAX_LINE, on_line, &b))) {
		fprintf(stderr, "bench_watch_events: %s: %s\n", path, strerror(errno));
		return -1;
	}
	b.verify = verify;
	verify_failures = 0;
	double cpu0 = cpu_seconds();
	uint64_t t0 = mono_ns();
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		feed(ls, b.arena, buf, (size_t)n);
		bytes += n;
	}
	iteration(&b); /* the last partial iteration */
	double wall = (double)(mono_ns() - t0) / 1e9, cpu = cpu_seconds() - cpu0;
	close(fd);

	res->rate = (double)b.events / (cpu > 0 ? cpu : 1e-9);
	res->decisions = b.decisions_logged;
	res->garps = b.garps;
	res->failed = verify_failures || !b.plans || b.rejected || b.malformed;
	if (show) {
		struct arena_stats as = {0};
		if (b.arena)
			arena_get_stats(b.arena, &as);
		printf("stream: %s, %ld bytes, %ld lines, %ld events applied, %ld malformed, "
		       "%ld rejected\n",
		       path, bytes, b.lines, b.events, b.malformed, b.rejected);
		printf("pipeline: %ld decisions, %ld GARPs, %ld loop iterations (%ld events "
		       "each), %ld plans, %zu endpoints at the end\n",
		       b.decisions_logged, b.garps, b.iterations, per, b.plans,
		       engine_endpoints(b.engine, &(const struct endpoint *const *){NULL}));
		printf("events/s: wall %.3f s -> %.0f events/s; CPU %.3f s -> %.0f events/s on "
		       "one core (%s)\n",
		       wall, (double)b.events / wall, cpu, res->rate,
		       b.arena ? "trees in the arena" : "trees with malloc, BENCH_NO_ARENA");
		printf("plan step: %.3f s of the wall time (%.1f%%), %.1f us per plan, %.0f "
		       "routes per plan on average\n",
		       (double)b.plan_ns / 1e9, 100.0 * (double)b.plan_ns / 1e9 / wall,
		       b.plans ? (double)b.plan_ns / 1e3 / (double)b.plans : 0.0,
		       b.plans ? (double)b.routes_in_plans / (double)b.plans : 0.0);
		if (b.arena)
			printf("arena: at most %.1f KiB for one event's tree, %.1f KiB held "
			       "between events\n",
			       (double)as.peak / 1024, (double)as.reserved / 1024);
	}
	line_splitter_free(ls);
	bench_fini(&b);
	if (verify)
		printf("verify: %ld plans checked against plan_compute from scratch, %ld "
		       "different\n",
		       b.plans, verify_failures);
	return 0;
}

static void range(double *v, int n, double *lo, double *hi)
{
	*lo = *hi = v[0];
	for (int i = 1; i < n; i++) {
		*lo = v[i] < *lo ? v[i] : *lo;
		*hi = v[i] > *hi ? v[i] : *hi;
	}
}

/* BENCH_EXPECT="DECISIONS GARPS": 1 (and why) when the run made others. */
static int check_expected(const struct result *r)
{
	const char *e = getenv("BENCH_EXPECT");
	long d, g;

	if (!e || !*e)
		return 0;
	if (sscanf(e, "%ld %ld", &d, &g) != 2) {
		fprintf(stderr,
		        "bench_watch_events: BENCH_EXPECT=\"%s\" is not \"DECISIONS "
		        "GARPS\"\n",
		        e);
		return 1;
	}
	if (r->decisions == d && r->garps == g) {
		printf("expected: %ld decisions and %ld GARPs, as made\n", d, g);
		return 0;
	}
	fprintf(stderr, "bench_watch_events: %ld decisions and %ld GARPs, expected %ld and %ld\n",
	        r->decisions, r->garps, d, g);
	return 1;
}

#define MAX_ROUNDS 20

static int run_stream(int argc, char **argv, enum mode mode)
{
	const char *path = argc > 0 ? argv[0] : "/tmp/handoff-watch-100k.ndjson";
	long events = argc > 1 ? atol(argv[1]) : 100000;
	long pods = argc > 2 ? atol(argv[2]) : 2000;
	long per = argc > 3 ? atol(argv[3]) : 64;
	int rounds = mode == MODE_STREAM && argc > 4 ? atoi(argv[4]) : 3;
	double fm[MAX_ROUNDS], fa[MAX_ROUNDS], pl[MAX_ROUNDS], ratio[MAX_ROUNDS],
	    ratio_a[MAX_ROUNDS];
	struct result r, first = {0};

	if (events < 1 || pods < 1 || per < 1 || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr,
		        "usage: bench_watch_events stream [FILE [EVENTS [PODS "
		        "[PER_ITERATION [ROUNDS <= %d]]]]]\n",
		        MAX_ROUNDS);
		return 2;
	}
	if (access(path, R_OK) != 0 && write_stream(path, events, (unsigned)pods) < 0)
		return 1;
	if (mode == MODE_FLOOR || mode == MODE_FLOOR_ARENA) {
		double rate = parse_floor(path, mode == MODE_FLOOR_ARENA);
		printf("floor with %s: %.0f events/s\n",
		       mode == MODE_FLOOR ? "malloc" : "the arena", rate);
		return rate < 0;
	}
	if (mode != MODE_STREAM) {
		if (pipeline(path, per, mode == MODE_VERIFY, true, &r) < 0)
			return 1;
		return (mode == MODE_VERIFY && r.failed) | check_expected(&r);
	}
	/* Side by side, round after round: the machine's load changes all three. */
	for (int i = 0; i < rounds; i++) {
		fm[i] = parse_floor(path, false);
		fa[i] = parse_floor(path, true);
		if (fm[i] < 0 || fa[i] < 0 || pipeline(path, per, false, i == 0, &r) < 0)
			return 1;
		if (i == 0)
			first = r;
		else if (r.decisions != first.decisions || r.garps != first.garps)
			fprintf(stderr, "round %d: %ld decisions, %ld GARPs: not as round 1\n",
			        i + 1, r.decisions, r.garps);
		pl[i] = r.rate;
		ratio[i] = pl[i] / fm[i];
		ratio_a[i] = pl[i] / fa[i];
		printf("round %d: floor with malloc %.0f events/s, floor with the arena %.0f "
		       "events/s, pipeline %.0f events/s: pipeline / floor with malloc %.2f, / "
		       "floor with the arena %.2f\n",
		       i + 1, fm[i], fa[i], pl[i], ratio[i], ratio_a[i]);
	}
	double lo, hi;
	printf("summary over %d rounds, events per CPU second on one core:\n", rounds);
	range(pl, rounds, &lo, &hi);
	printf("  pipeline                     %.0f - %.0f\n", lo, hi);
	range(fm, rounds, &lo, &hi);
	printf("  parse floor, malloc          %.0f - %.0f\n", lo, hi);
	range(fa, rounds, &lo, &hi);
	printf("  parse floor, arena           %.0f - %.0f\n", lo, hi);
	range(ratio, rounds, &lo, &hi);
	printf("  pipeline / floor with malloc %.2f - %.2f (target >= 0.80)\n", lo, hi);
	range(ratio_a, rounds, &lo, &hi);
	printf("  pipeline / floor with arena  %.2f - %.2f\n", lo, hi);
	return check_expected(&first);
}

/* ---- resident memory ------------------------------------------------------------ */

/* "VmRSS" or "VmHWM" from /proc/self/status, in KiB. */
static long proc_status_kib(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t fl = strlen(field);

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, fl) && line[fl] == ':')
			v = atol(line + fl + 1);
	if (f)
		fclose(f);
	return v;
}

/* Feed lines to the splitter in network-sized pieces, as they are generated. */
struct feeder {
	struct line_splitter *ls;
	struct arena *arena;
	char buf[1 << 16];
	size_t len;
};

static void feed_line(struct feeder *f, const char *line, int n)
{
	if (f->len + (size_t)n > sizeof(f->buf)) {
		feed(f->ls, f->arena, f->buf, f->len);
		f->len = 0;
	}
	memcpy(f->buf + f->len, line, (size_t)n);
	f->len += (size_t)n;
}

static int run_memory(int argc, char **argv)
{
	long neps = argc > 0 ? atol(argv[0]) : 10000;
	long nlms = argc > 1 ? atol(argv[1]) : 1000;
	static struct feeder f;
	struct bench b;
	char line[8192], job[40];

	if (neps < 1 || nlms < 0 || nlms > neps) {
		fprintf(stderr, "usage: bench_watch_events memory [ENDPOINTS [MIGRATIONS <= "
		                "ENDPOINTS]]\n");
		return 2;
	}
	long rss0 = proc_status_kib("VmRSS");
	if (bench_init(&b, 64) < 0 || !(f.ls = line_splitter_new(MAX_LINE, on_line, &b)))
		return 1;
	f.arena = b.arena;
	double cpu0 = cpu_seconds();
	/* Every LM_STRIDE-th endpoint is the target pod of a migration in
	 * progress (its job label set); each LiveMigration's source is the VM's
	 * pod on another node. */
	long stride = nlms ? neps / nlms : neps + 1;
	unsigned rv = 1;
	for (long i = 0; i < neps; i++) {
		bool target = nlms && i % stride == 0 && i / stride < nlms;
		if (target)
			uid_of(job, "m", (unsigned)(i / stride), (unsigned)i);
		int n = pod_event(line, sizeof(line), "ADDED", (unsigned)i, 1, target ? job : NULL,
		                  true, rv++);
		feed_line(&f, line, n);
	}
	for (long k = 0; k < nlms; k++) {
		int n = lm_event(line, sizeof(line), "ADDED", (unsigned)(k * stride), 0,
		                 (unsigned)k, rv++);
		feed_line(&f, line, n);
	}
	feed(f.ls, f.arena, f.buf, f.len);
	iteration(&b);
	double cpu = cpu_seconds() - cpu0;

	long rss = proc_status_kib("VmRSS"), hwm = proc_status_kib("VmHWM");
	size_t captures = 0;
	struct plan p = {0};
	if (engine_plan(b.engine, &p) == 0)
		captures = p.ncaptures;
	printf("memory: %zu local endpoints, %ld LiveMigrations (%zu targets suppressed and "
	       "captured), %ld events, %ld rejected, loaded in %.3f s CPU\n",
	       engine_endpoints(b.engine, &(const struct endpoint *const *){NULL}), nlms, captures,
	       b.events, b.rejected, cpu);
	plan_free(&p);
	/* What the live data needs, without the free pages malloc keeps. */
	malloc_trim(0);
	long trimmed = proc_status_kib("VmRSS");
	printf("RSS: before %.1f MiB, after loading %.1f MiB (VmRSS), peak %.1f MiB (VmHWM), "
	       "%.1f MiB after malloc_trim(0)\n",
	       (double)rss0 / 1024, (double)rss / 1024, (double)hwm / 1024, (double)trimmed / 1024);
	line_splitter_free(f.ls);
	bench_fini(&b);
	return 0;
}

int main(int argc, char **argv)
{
	FILE *devnull = fopen("/dev/null", "w");

	if (!devnull)
		return 1;
	hlog_set_stream(devnull); /* logged, as the watcher does, but not shown */
	if (argc > 1 && !strcmp(argv[1], "stream"))
		return run_stream(argc - 2, argv + 2, MODE_STREAM);
	if (argc > 1 && !strcmp(argv[1], "pipeline"))
		return run_stream(argc - 2, argv + 2, MODE_PIPELINE);
	if (argc > 1 && !strcmp(argv[1], "floor"))
		return run_stream(argc - 2, argv + 2, MODE_FLOOR);
	if (argc > 1 && !strcmp(argv[1], "floor-arena"))
		return run_stream(argc - 2, argv + 2, MODE_FLOOR_ARENA);
	if (argc > 1 && !strcmp(argv[1], "verify"))
		return run_stream(argc - 2, argv + 2, MODE_VERIFY);
	if (argc > 1 && !strcmp(argv[1], "memory"))
		return run_memory(argc - 2, argv + 2);
	fprintf(stderr, "usage: bench_watch_events stream [FILE [EVENTS [PODS "
	                "[PER_ITERATION [ROUNDS]]]]]\n"
	                "       bench_watch_events pipeline|verify|floor|floor-arena [FILE [EVENTS "
	                "[PODS "
	                "[PER_ITERATION]]]]\n"
	                "       bench_watch_events memory [ENDPOINTS [MIGRATIONS]]\n");
	return 2;
}
