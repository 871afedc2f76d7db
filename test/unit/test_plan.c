/* test_plan.c - routes, ARP-reply drops and captures from endpoints and FSM
 * states (calico-semantics B.5, B.8). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/plan.h"
#include "core/plan_index.h"

/* A test endpoint: only the fields the plan reads. */
struct tep {
	struct endpoint ep;
	char addrs[4][HANDOFF_ADDRSIZ];
};

static void tep_init(struct tep *t, const char *key, const char *ifname, const char *a0,
                     const char *a1, const char *a2)
{
	const char *a[3] = {a0, a1, a2};

	memset(t, 0, sizeof(*t));
	t->ep.key = (char *)key;
	snprintf(t->ep.ifname, sizeof(t->ep.ifname), "%s", ifname);
	t->ep.addrs = t->addrs;
	for (int i = 0; i < 3 && a[i]; i++)
		snprintf(t->addrs[t->ep.naddrs++], HANDOFF_ADDRSIZ, "%s", a[i]);
}

/* The defaults of calico-semantics C, filled by hand. */
static const struct route_config defaults = {
    .normal = {1024, 1024},
    .elevated = {512, 512},
    .convergence_ms = 30000,
};

/* Drive `key` of monitor `m` into `state` the way the watcher would. */
static void put_in_state(struct lm_monitor *m, const char *key, enum lm_state state)
{
	struct lm_transitions tr = {0};

	if (state != LM_BASE)
		lm_monitor_role(m, key, LM_ROLE_TARGET, "uid-1", 0, &tr);
	if (state == LM_LIVE)
		lm_monitor_garp(m, key, 1, &tr);
	if (state == LM_TIMEWAIT)
		lm_monitor_role(m, key, LM_ROLE_NONE, "", 2, &tr);
	lm_transitions_free(&tr);
	assert_int_equal(lm_monitor_state(m, key), state);
}

struct want_route {
	int family;
	const char *dst;
	const char *ifname;
	uint32_t metric;
	const char *key;
};

static void check_routes(const struct plan *p, const struct want_route *w, size_t n)
{
	if (p->nroutes != n) {
		for (size_t i = 0; i < p->nroutes; i++)
			print_error("  got %d %s dev %s metric %u (%s)\n", p->routes[i].family,
			            p->routes[i].dst, p->routes[i].ifname, p->routes[i].metric,
			            p->routes[i].endpoint_key);
		fail_msg("want %zu routes, got %zu", n, p->nroutes);
	}
	for (size_t i = 0; i < n; i++) {
		const struct plan_route *r = &p->routes[i];
		if (r->family != w[i].family || strcmp(r->dst, w[i].dst) ||
		    strcmp(r->ifname, w[i].ifname) || r->metric != w[i].metric ||
		    strcmp(r->endpoint_key, w[i].key))
			fail_msg("route %zu: got %d %s dev %s metric %u (%s), want %d %s dev %s "
			         "metric %u (%s)",
			         i, r->family, r->dst, r->ifname, r->metric, r->endpoint_key,
			         w[i].family, w[i].dst, w[i].ifname, w[i].metric, w[i].key);
	}
}

#define CHECK_ROUTES(p, ...)                                                                       \
	do {                                                                                       \
		const struct want_route w_[] = {__VA_ARGS__};                                      \
		check_routes((p), w_, sizeof(w_) / sizeof(w_[0]));                                 \
	} while (0)

/* One endpoint per state; Target has no route, Live and TimeWait elevated. */
static void test_ipv4_states(void **state)
{
	struct lm_monitor *m = lm_monitor_new(30000);
	struct tep b, t, l, w;
	struct plan p;

	tep_init(&b, "vms/base", "hobase", "10.65.0.1", NULL, NULL);
	tep_init(&t, "vms/target", "hotarget", "10.65.0.2", NULL, NULL);
	tep_init(&l, "vms/live", "holive", "10.65.0.3", NULL, NULL);
	tep_init(&w, "vms/timewait", "hotimewait", "10.65.0.4", NULL, NULL);
	put_in_state(m, "vms/target", LM_TARGET);
	put_in_state(m, "vms/live", LM_LIVE);
	put_in_state(m, "vms/timewait", LM_TIMEWAIT);
	const struct endpoint *eps[] = {&w.ep, &l.ep, &t.ep, &b.ep};

	assert_int_equal(plan_compute(eps, 4, m, &defaults, &p), 0);
	CHECK_ROUTES(&p, {4, "10.65.0.1/32", "hobase", 1024, "vms/base"},
	             {4, "10.65.0.2/32", "hotarget", 0, "vms/target"},
	             {4, "10.65.0.3/32", "holive", 512, "vms/live"},
	             {4, "10.65.0.4/32", "hotimewait", 512, "vms/timewait"});
	plan_free(&p);
	assert_null(p.routes);
	assert_int_equal(p.nroutes, 0);
	lm_monitor_free(m);
}

/* IPv6 text is normalised ("fd00:0::0a" -> "fd00::a/128") and metrics follow the state. */
static void test_ipv6_states(void **state)
{
	struct lm_monitor *m = lm_monitor_new(30000);
	struct tep b, t, l, w;
	struct plan p;

	tep_init(&b, "vms/base", "hobase", "fd00:0::0a", NULL, NULL);
	tep_init(&t, "vms/target", "hotarget", "FD00::B", NULL, NULL);
	tep_init(&l, "vms/live", "holive", "fd00:0000:0000:0000:0000:0000:0000:000c", NULL, NULL);
	tep_init(&w, "vms/timewait", "hotimewait", "fd00::d", NULL, NULL);
	put_in_state(m, "vms/target", LM_TARGET);
	put_in_state(m, "vms/live", LM_LIVE);
	put_in_state(m, "vms/timewait", LM_TIMEWAIT);
	const struct endpoint *eps[] = {&b.ep, &t.ep, &l.ep, &w.ep};

	assert_int_equal(plan_compute(eps, 4, m, &defaults, &p), 0);
	CHECK_ROUTES(&p, {6, "fd00::a/128", "hobase", 1024, "vms/base"},
	             {6, "fd00::b/128", "hotarget", 0, "vms/target"},
	             {6, "fd00::c/128", "holive", 512, "vms/live"},
	             {6, "fd00::d/128", "hotimewait", 512, "vms/timewait"});
	/* IPv6 has no ARP. */
	assert_int_equal(p.narps, 0);
	plan_free(&p);
	lm_monitor_free(m);
}

/* Both families of one endpoint move together, each at its own family's
 * priorities (CORE-12806: IPv6 must not be forgotten). */
static void test_dual_stack(void **state)
{
	const struct route_config cfg = {
	    .normal = {[AF_IDX_V4] = 100, [AF_IDX_V6] = 300},
	    .elevated = {[AF_IDX_V4] = 50, [AF_IDX_V6] = 150},
	};
	const enum lm_state states[] = {LM_BASE, LM_TARGET, LM_LIVE, LM_TIMEWAIT};
	const uint32_t want4[] = {100, 0, 50, 50}, want6[] = {300, 0, 150, 150};

	for (int s = 0; s < 4; s++) {
		struct lm_monitor *m = lm_monitor_new(30000);
		struct tep d;
		struct plan p;

		tep_init(&d, "vms/dual", "hodual", "fd00::10", "10.65.0.10", NULL);
		put_in_state(m, "vms/dual", states[s]);
		const struct endpoint *eps[] = {&d.ep};
		assert_int_equal(plan_compute(eps, 1, m, &cfg, &p), 0);
		CHECK_ROUTES(&p, {4, "10.65.0.10/32", "hodual", want4[s], "vms/dual"},
		             {6, "fd00::10/128", "hodual", want6[s], "vms/dual"});
		assert_int_equal(p.narps, 1);
		assert_int_equal(p.arps[0].naddrs, 1);
		assert_string_equal(p.arps[0].addrs[0], "10.65.0.10");
		assert_int_equal(p.ncaptures, states[s] == LM_TARGET ? 1 : 0);
		plan_free(&p);
		lm_monitor_free(m);
	}
}

/* Felix's endpoint-manager test priorities: normal 100, elevated 50. */
static void test_custom_priorities(void **state)
{
	const struct route_config cfg = {.normal = {100, 100}, .elevated = {50, 50}};
	struct lm_monitor *m = lm_monitor_new(30000);
	struct tep a, b;
	struct plan p;

	tep_init(&a, "ns/a", "hoa", "192.168.1.1", "2001:db8::1", NULL);
	tep_init(&b, "ns/b", "hob", "192.168.1.2", "2001:db8::2", NULL);
	put_in_state(m, "ns/b", LM_LIVE);
	const struct endpoint *eps[] = {&a.ep, &b.ep};

	assert_int_equal(plan_compute(eps, 2, m, &cfg, &p), 0);
	CHECK_ROUTES(
	    &p, {4, "192.168.1.1/32", "hoa", 100, "ns/a"}, {4, "192.168.1.2/32", "hob", 50, "ns/b"},
	    {6, "2001:db8::1/128", "hoa", 100, "ns/a"}, {6, "2001:db8::2/128", "hob", 50, "ns/b"});
	plan_free(&p);
	lm_monitor_free(m);
}

/* Routes sort by family, then numerically: 9.x before 10.x, .9 before .10
 * before .100 (a string sort would get all of these wrong). */
static void test_route_order_numeric(void **state)
{
	struct tep a, b, c;
	struct plan p;

	tep_init(&a, "ns/a", "hoa", "10.0.0.100", "fd00::10", "10.0.0.9");
	tep_init(&b, "ns/b", "hob", "fd00::9", "9.255.255.255", "2001:db8::1");
	tep_init(&c, "ns/c", "hoc", "10.0.0.10", NULL, NULL);
	const struct endpoint *eps[] = {&c.ep, &a.ep, &b.ep};

	assert_int_equal(plan_compute(eps, 3, NULL, &defaults, &p), 0);
	CHECK_ROUTES(
	    &p, {4, "9.255.255.255/32", "hob", 1024, "ns/b"},
	    {4, "10.0.0.9/32", "hoa", 1024, "ns/a"}, {4, "10.0.0.10/32", "hoc", 1024, "ns/c"},
	    {4, "10.0.0.100/32", "hoa", 1024, "ns/a"}, {6, "2001:db8::1/128", "hob", 1024, "ns/b"},
	    {6, "fd00::9/128", "hob", 1024, "ns/b"}, {6, "fd00::10/128", "hoa", 1024, "ns/a"});
	/* No states at all: everything in Base, nothing captured. */
	assert_int_equal(p.ncaptures, 0);
	plan_free(&p);
}

/* ARP drops: every endpoint with an IPv4 address, whatever its state, with
 * exactly its IPv4 addresses; sorted by interface. */
static void test_arps_ipv4_only(void **state)
{
	struct lm_monitor *m = lm_monitor_new(30000);
	struct tep v6, dual, v4, tgt;
	struct plan p;

	tep_init(&v6, "ns/v6only", "ho0006", "fd00::1", "fd00::2", NULL);
	tep_init(&dual, "ns/dual", "ho0003", "10.0.0.3", "fd00::3", "10.0.1.3");
	tep_init(&v4, "ns/v4", "ho0001", "10.0.0.1", NULL, NULL);
	tep_init(&tgt, "ns/target", "ho0002", "10.0.0.2", NULL, NULL);
	put_in_state(m, "ns/target", LM_TARGET);
	const struct endpoint *eps[] = {&v6.ep, &dual.ep, &v4.ep, &tgt.ep};

	assert_int_equal(plan_compute(eps, 4, m, &defaults, &p), 0);
	assert_int_equal(p.narps, 3);
	assert_string_equal(p.arps[0].ifname, "ho0001");
	assert_int_equal(p.arps[0].naddrs, 1);
	assert_string_equal(p.arps[0].addrs[0], "10.0.0.1");
	assert_string_equal(p.arps[1].ifname, "ho0002");
	assert_int_equal(p.arps[1].naddrs, 1);
	assert_string_equal(p.arps[1].addrs[0], "10.0.0.2");
	assert_string_equal(p.arps[2].ifname, "ho0003");
	assert_int_equal(p.arps[2].naddrs, 2);
	assert_string_equal(p.arps[2].addrs[0], "10.0.0.3");
	assert_string_equal(p.arps[2].addrs[1], "10.0.1.3");
	plan_free(&p);
	lm_monitor_free(m);
}

/* Captures: exactly the endpoints in Target, sorted by interface. */
static void test_captures_only_target(void **state)
{
	struct lm_monitor *m = lm_monitor_new(30000);
	struct tep e[5];
	const char *keys[] = {"ns/z-target", "ns/live", "ns/a-target", "ns/timewait", "ns/base"};
	const char *ifs[] = {"hoaaaa", "holive", "hozzzz", "hotw", "hobase"};
	const enum lm_state st[] = {LM_TARGET, LM_LIVE, LM_TARGET, LM_TIMEWAIT, LM_BASE};
	const struct endpoint *eps[5];
	struct plan p;

	for (int i = 0; i < 5; i++) {
		tep_init(&e[i], keys[i], ifs[i], NULL, NULL, NULL);
		put_in_state(m, keys[i], st[i]);
		eps[i] = &e[i].ep;
	}
	/* A source endpoint is in Base: no capture either. */
	struct lm_transitions tr = {0};
	lm_monitor_role(m, "ns/base", LM_ROLE_SOURCE, "uid-1", 3, &tr);
	assert_int_equal(tr.n, 0);
	lm_transitions_free(&tr);

	assert_int_equal(plan_compute(eps, 5, m, &defaults, &p), 0);
	assert_int_equal(p.ncaptures, 2);
	assert_string_equal(p.captures[0].ifname, "hoaaaa");
	assert_string_equal(p.captures[0].endpoint_key, "ns/z-target");
	assert_string_equal(p.captures[1].ifname, "hozzzz");
	assert_string_equal(p.captures[1].endpoint_key, "ns/a-target");
	/* No addresses: no routes, no ARP. */
	assert_int_equal(p.nroutes, 0);
	assert_int_equal(p.narps, 0);
	plan_free(&p);
	lm_monitor_free(m);
}

/* An endpoint whose host interface is not known yet gets nothing at all. */
static void test_no_ifname(void **state)
{
	struct lm_monitor *m = lm_monitor_new(30000);
	struct tep a, b;
	struct plan p;

	tep_init(&a, "ns/unwired", "", "10.0.0.1", "fd00::1", NULL);
	tep_init(&b, "ns/wired", "howired", "10.0.0.2", NULL, NULL);
	put_in_state(m, "ns/unwired", LM_TARGET);
	put_in_state(m, "ns/wired", LM_TARGET);
	const struct endpoint *eps[] = {&a.ep, &b.ep};

	assert_int_equal(plan_compute(eps, 2, m, &defaults, &p), 0);
	CHECK_ROUTES(&p, {4, "10.0.0.2/32", "howired", 0, "ns/wired"});
	assert_int_equal(p.narps, 1);
	assert_string_equal(p.arps[0].ifname, "howired");
	assert_int_equal(p.ncaptures, 1);
	assert_string_equal(p.captures[0].endpoint_key, "ns/wired");
	plan_free(&p);
	lm_monitor_free(m);
}

/* Text that is not a plain address never becomes a route. */
static void test_bad_address_skipped(void **state)
{
	struct tep a;
	struct plan p;

	tep_init(&a, "ns/a", "hoa", "10.0.0.1/24", "not-an-ip", "10.0.0.7");
	const struct endpoint *eps[] = {&a.ep};

	assert_int_equal(plan_compute(eps, 1, NULL, &defaults, &p), 0);
	CHECK_ROUTES(&p, {4, "10.0.0.7/32", "hoa", 1024, "ns/a"});
	assert_int_equal(p.narps, 1);
	assert_int_equal(p.arps[0].naddrs, 1);
	assert_string_equal(p.arps[0].addrs[0], "10.0.0.7");
	plan_free(&p);
}

static void test_empty(void **state)
{
	struct plan p;

	assert_int_equal(plan_compute(NULL, 0, NULL, &defaults, &p), 0);
	assert_int_equal(p.nroutes, 0);
	assert_int_equal(p.narps, 0);
	assert_int_equal(p.ncaptures, 0);
	assert_null(plan_find_route(&p, "10.0.0.1/32"));
	plan_free(&p);
}

static void test_find_route(void **state)
{
	struct lm_monitor *m = lm_monitor_new(30000);
	struct tep a, b;
	struct plan p;

	tep_init(&a, "ns/a", "hoa", "10.65.0.10", "fd00::a", NULL);
	tep_init(&b, "ns/b", "hob", "10.65.0.9", "10.65.0.100", NULL);
	put_in_state(m, "ns/b", LM_TARGET);
	const struct endpoint *eps[] = {&a.ep, &b.ep};

	assert_int_equal(plan_compute(eps, 2, m, &defaults, &p), 0);
	const struct plan_route *r = plan_find_route(&p, "10.65.0.10/32");
	assert_non_null(r);
	assert_string_equal(r->ifname, "hoa");
	assert_int_equal(r->metric, 1024);
	r = plan_find_route(&p, "10.65.0.100/32");
	assert_non_null(r);
	assert_string_equal(r->dst, "10.65.0.100/32");
	assert_int_equal(r->metric, 0);
	/* Any spelling of the address finds it; a bare address too. */
	r = plan_find_route(&p, "FD00:0::A/128");
	assert_non_null(r);
	assert_string_equal(r->dst, "fd00::a/128");
	r = plan_find_route(&p, "10.65.0.9");
	assert_non_null(r);
	assert_string_equal(r->ifname, "hob");
	/* Absent, not a host route, or not an address. */
	assert_null(plan_find_route(&p, "10.65.0.11/32"));
	assert_null(plan_find_route(&p, "10.65.0.10/24"));
	assert_null(plan_find_route(&p, "fd00::b/128"));
	assert_null(plan_find_route(&p, "garbage"));
	plan_free(&p);
	lm_monitor_free(m);
}

/* A plan over 10,000 dual-stack endpoints: every address routed once, in order. */
static void test_many_endpoints(void **state)
{
	enum { N = 10000 };
	struct tep *t = calloc(N, sizeof(*t));
	const struct endpoint **eps = calloc(N, sizeof(*eps));
	struct lm_monitor *m = lm_monitor_new(30000);
	char(*key)[24] = calloc(N, sizeof(*key)), v4[24], v6[48], ifn[16];
	struct plan p;

	assert_non_null(t);
	assert_non_null(eps);
	assert_non_null(key);
	for (int i = 0; i < N; i++) {
		snprintf(key[i], sizeof(key[i]), "ns/vm-%05d", i);
		snprintf(v4, sizeof(v4), "10.%d.%d.%d", i / 65536, (i / 256) % 256, i % 256);
		snprintf(v6, sizeof(v6), "fd00::%x", i);
		snprintf(ifn, sizeof(ifn), "ho%05d", N - i);
		tep_init(&t[i], key[i], ifn, v6, v4, NULL);
		eps[i] = &t[i].ep;
		if (i % 10 == 0)
			put_in_state(m, key[i], LM_TARGET);
	}
	assert_int_equal(plan_compute(eps, N, m, &defaults, &p), 0);
	assert_int_equal(p.nroutes, 2 * N);
	assert_int_equal(p.narps, N);
	assert_int_equal(p.ncaptures, N / 10);
	for (int i = 0; i < N; i++) {
		const struct plan_route *r4 = &p.routes[i], *r6 = &p.routes[N + i];
		assert_int_equal(r4->family, 4);
		assert_int_equal(r6->family, 6);
		assert_string_equal(r4->endpoint_key, key[i]);
		assert_string_equal(r6->endpoint_key, key[i]);
		assert_int_equal(r4->metric, i % 10 ? 1024 : 0);
		assert_ptr_equal(plan_find_route(&p, r6->dst), r6);
	}
	for (size_t i = 1; i < p.narps; i++)
		assert_true(strcmp(p.arps[i - 1].ifname, p.arps[i].ifname) < 0);
	plan_free(&p);
	lm_monitor_free(m);
	free(key);
	free(eps);
	free(t);
}

/* Two plans are the same when every route, ARP entry and capture is, in order. */
static void assert_same_plan(const struct plan *a, const struct plan *b)
{
	assert_int_equal(a->nroutes, b->nroutes);
	for (size_t i = 0; i < a->nroutes; i++) {
		assert_int_equal(a->routes[i].family, b->routes[i].family);
		assert_string_equal(a->routes[i].dst, b->routes[i].dst);
		assert_string_equal(a->routes[i].ifname, b->routes[i].ifname);
		assert_int_equal(a->routes[i].metric, b->routes[i].metric);
		assert_string_equal(a->routes[i].endpoint_key, b->routes[i].endpoint_key);
	}
	assert_int_equal(a->narps, b->narps);
	for (size_t i = 0; i < a->narps; i++) {
		assert_string_equal(a->arps[i].ifname, b->arps[i].ifname);
		assert_int_equal(a->arps[i].naddrs, b->arps[i].naddrs);
		for (size_t j = 0; j < a->arps[i].naddrs; j++)
			assert_string_equal(a->arps[i].addrs[j], b->arps[i].addrs[j]);
	}
	assert_int_equal(a->ncaptures, b->ncaptures);
	for (size_t i = 0; i < a->ncaptures; i++) {
		assert_string_equal(a->captures[i].ifname, b->captures[i].ifname);
		assert_string_equal(a->captures[i].endpoint_key, b->captures[i].endpoint_key);
	}
}

/* The index gives the plan of all the endpoints present, from scratch,
 * while their parts come, change and go: every state, IPv4 and IPv6, and
 * endpoints sharing an address family. */
static void test_index_follows_parts(void **state)
{
	enum { N = 200 };
	static struct tep t[N];
	static char keys[N][32];
	static struct plan parts[N];
	const struct endpoint *eps[N], *one;
	struct plan_index *ix = plan_index_new();
	struct lm_monitor *m = lm_monitor_new(30000);
	struct plan built, fresh;
	bool present[N] = {false};

	for (int i = 0; i < N; i++) {
		char a4[32], a6[48], ifn[16];
		snprintf(keys[i], sizeof(keys[i]), "ns/ep-%03d", (i * 37) % N);
		snprintf(a4, sizeof(a4), "10.65.%d.%d", i % 3, (i * 53) % 250);
		snprintf(a6, sizeof(a6), "fd00::%x", (i * 29) % 512);
		snprintf(ifn, sizeof(ifn), "ho%06x", (i * 7919) % 0xfffff);
		tep_init(&t[i], keys[i], ifn, i % 3 ? a4 : a6, i % 4 ? NULL : a6, NULL);
		if (i % 9 == 2)
			put_in_state(m, keys[i], LM_TARGET);
	}
	/* Rounds of: add some, change some (the state of one endpoint, the
	 * address of another), remove some; compare after each round. */
	for (int round = 0; round < 6; round++) {
		for (int i = 0; i < N; i++) {
			int k = (i * 13 + round * 7) % N;
			bool act = (i + round) % 3 == 0;
			if (!act)
				continue;
			one = &t[k].ep;
			if (present[k] && (k + round) % 2) { /* gone: an empty plan */
				struct plan none = {0};
				assert_int_equal(plan_index_replace(ix, &parts[k], &none), 0);
				present[k] = false;
				continue;
			}
			if (present[k]) {
				/* Changed: another state (every entry keeps its place), or
				 * another address as well (the routes move). */
				struct plan p;
				if (k % 5 == 0 && lm_monitor_state(m, keys[k]) == LM_BASE)
					put_in_state(m, keys[k], LM_LIVE);
				else if (k % 5 == 1 && lm_monitor_state(m, keys[k]) == LM_BASE)
					put_in_state(m, keys[k], LM_TARGET);
				else
					snprintf(t[k].addrs[0], HANDOFF_ADDRSIZ, "10.66.%d.%d",
					         round, k % 250);
				assert_int_equal(plan_compute(&one, 1, m, &defaults, &p), 0);
				assert_int_equal(plan_index_replace(ix, &parts[k], &p), 0);
				assert_int_equal(p.nroutes + p.narps + p.ncaptures, 0);
				continue;
			}
			struct plan p; /* new: from an empty plan */
			assert_int_equal(plan_compute(&one, 1, m, &defaults, &p), 0);
			assert_int_equal(plan_index_replace(ix, &parts[k], &p), 0);
			present[k] = true;
		}
		size_t n = 0;
		for (int i = 0; i < N; i++)
			if (present[i])
				eps[n++] = &t[i].ep;
		assert_int_equal(plan_index_build(ix, &built), 0);
		assert_int_equal(plan_compute(eps, n, m, &defaults, &fresh), 0);
		assert_true(fresh.nroutes > 0 && fresh.narps > 0 && fresh.ncaptures > 0);
		assert_same_plan(&fresh, &built);
		plan_free(&built);
		plan_free(&fresh);
	}
	for (int i = 0; i < N; i++)
		if (present[i])
			plan_free(&parts[i]);
	plan_index_free(ix);
	lm_monitor_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ipv4_states),          cmocka_unit_test(test_ipv6_states),
	    cmocka_unit_test(test_dual_stack),           cmocka_unit_test(test_custom_priorities),
	    cmocka_unit_test(test_route_order_numeric),  cmocka_unit_test(test_arps_ipv4_only),
	    cmocka_unit_test(test_captures_only_target), cmocka_unit_test(test_no_ifname),
	    cmocka_unit_test(test_bad_address_skipped),  cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_find_route),           cmocka_unit_test(test_many_endpoints),
	    cmocka_unit_test(test_index_follows_parts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
