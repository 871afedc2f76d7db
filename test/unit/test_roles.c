/* test_roles.c - the LiveMigration role calculator (calico-semantics A.5).
 *
 * One test per calculator test of A.7 (same names), one regression test per
 * historical bug of A.6, and the OpenStack / KubeVirt shapes of A.3-A.4.
 * Every test asserts the exact list of events each call emits (endpoint,
 * role, uid) and nothing else.
 *
 * As in Felix's tests, endpoints are k8s workloads on host1: workload
 * "ns/<pod>", endpoint "eth0", and LiveMigrations live in namespace
 * "default". An endpoint's key here is "ns/<pod>" (or "ns/<pod>/<iface>" when
 * a pod has several). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/model.h"
#include "core/roles.h"

struct fx {
	struct roles *r;
	struct role_events ev;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->r = roles_new();
	assert_non_null(f->r);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	role_events_free(&f->ev);
	roles_free(f->r);
	free(f);
	return 0;
}

/* ---- building inputs ---------------------------------------------------- */

/* "k1=v1,k2=v2" -> labels ("" -> none). */
static void labels_parse(struct labels *l, const char *spec)
{
	char buf[512];

	memset(l, 0, sizeof(*l));
	snprintf(buf, sizeof(buf), "%s", spec ? spec : "");
	for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv;
	     kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		assert_non_null(eq);
		*eq = '\0';
		assert_int_equal(labels_set(l, kv, eq + 1), 0);
	}
}

/* Add or update an endpoint with an explicit identity. */
static void ep_full(struct fx *f, const char *key, const char *host, const char *orch,
                    const char *workload, const char *iface, const char *labels)
{
	struct wep_ident id = {0};
	struct labels l;

	assert_int_equal(wep_ident_set(&id, host, orch, workload, iface), 0);
	labels_parse(&l, labels);
	assert_int_equal(roles_ep_upsert(f->r, key, &id, &l, &f->ev), 0);
	labels_free(&l);
	wep_ident_free(&id);
}

/* A k8s pod endpoint on host1: key "ns/<pod>", workload "ns/<pod>", eth0. */
static void ep_pod(struct fx *f, const char *pod, const char *labels)
{
	char key[128];

	snprintf(key, sizeof(key), "ns/%s", pod);
	ep_full(f, key, "host1", "k8s", key, "eth0", labels);
}

/* A LiveMigration in namespace "default", filled step by step. */
static void lm_init(struct live_migration *lm, const char *name, const char *uid)
{
	memset(lm, 0, sizeof(*lm));
	lm->ns = strdup("default");
	lm->name = strdup(name);
	lm->uid = strdup(uid);
	assert_true(lm->ns && lm->name && lm->uid);
}

static void lm_source(struct live_migration *lm, const char *host, const char *orch,
                      const char *workload, const char *iface)
{
	lm->has_source = true;
	assert_int_equal(wep_ident_set(&lm->source, host, orch, workload, iface), 0);
}

static void lm_target(struct live_migration *lm, const char *host, const char *orch,
                      const char *workload, const char *iface)
{
	lm->has_target = true;
	assert_int_equal(wep_ident_set(&lm->target, host, orch, workload, iface), 0);
}

static void lm_selector(struct live_migration *lm, const char *sel)
{
	free(lm->target_selector);
	lm->target_selector = sel ? strdup(sel) : NULL;
}

static void lm_apply(struct fx *f, struct live_migration *lm)
{
	struct herr err = {{0}};

	assert_int_equal(roles_lm_upsert(f->r, lm, &f->ev, &err), 0);
}

/* Shorthand: upsert LiveMigration `name` whose source and direct target are
 * k8s pods (NULL: absent) and whose target selector is `sel` (NULL: absent). */
static void lm_pods(struct fx *f, const char *name, const char *uid, const char *src_pod,
                    const char *tgt_pod, const char *sel)
{
	struct live_migration lm;
	char wl[128];

	lm_init(&lm, name, uid);
	if (src_pod) {
		snprintf(wl, sizeof(wl), "ns/%s", src_pod);
		lm_source(&lm, "host1", "k8s", wl, "eth0");
	}
	if (tgt_pod) {
		snprintf(wl, sizeof(wl), "ns/%s", tgt_pod);
		lm_target(&lm, "host1", "k8s", wl, "eth0");
	}
	lm_selector(&lm, sel);
	lm_apply(f, &lm);
	live_migration_free(&lm);
}

static void lm_del(struct fx *f, const char *name)
{
	roles_lm_delete(f->r, "default", name, &f->ev);
}

/* ---- checking outputs ----------------------------------------------------- */

/* The events emitted since the last check are exactly the (key, role, uid)
 * triples given, in that order; then forget them. */
#define EXPECT_EVENTS(f, ...) expect_events((f), (const char *[]){__VA_ARGS__, NULL})
#define EXPECT_NO_EVENTS(f)   expect_events((f), (const char *[]){NULL})

static void expect_events(struct fx *f, const char **want)
{
	size_t n = 0;

	while (want[n * 3])
		n++;
	for (size_t i = 0; i < f->ev.n && i < n; i++) {
		assert_string_equal(f->ev.v[i].endpoint_key, want[i * 3]);
		assert_string_equal(lm_role_name(f->ev.v[i].role), want[i * 3 + 1]);
		assert_string_equal(f->ev.v[i].uid, want[i * 3 + 2]);
	}
	if (f->ev.n != n) {
		for (size_t i = 0; i < f->ev.n; i++)
			print_error("got event %s %s %s\n", f->ev.v[i].endpoint_key,
			            lm_role_name(f->ev.v[i].role), f->ev.v[i].uid);
	}
	assert_int_equal(f->ev.n, n);
	role_events_clear(&f->ev);
}

static void expect_role(struct fx *f, const char *key, const char *role, const char *uid)
{
	const char *u = NULL;

	assert_string_equal(lm_role_name(roles_get(f->r, key, &u)), role);
	assert_non_null(u);
	assert_string_equal(u, uid);
}

/* ---- A.7: the calculator tests --------------------------------------------- */

static void LMThenWEPs(void **state)
{
	struct fx *f = *state;

	lm_pods(f, "lm1", "uid-1", "pod-a", "pod-b", NULL);
	EXPECT_NO_EVENTS(f);
	ep_pod(f, "pod-a", "");
	EXPECT_EVENTS(f, "ns/pod-a", "SOURCE", "uid-1");
	ep_pod(f, "pod-b", "");
	EXPECT_EVENTS(f, "ns/pod-b", "TARGET", "uid-1");
	ep_pod(f, "pod-c", "");
	EXPECT_NO_EVENTS(f);
	expect_role(f, "ns/pod-c", "NONE", "");
}

static void WEPsThenLM(void **state)
{
	struct fx *f = *state;

	ep_pod(f, "pod-b", "");
	ep_pod(f, "pod-a", "");
	EXPECT_NO_EVENTS(f);
	expect_role(f, "ns/pod-a", "NONE", "");
	lm_pods(f, "lm1", "uid-1", "pod-a", "pod-b", NULL);
	/* Several endpoints in one call: sorted by key. */
	EXPECT_EVENTS(f, "ns/pod-a", "SOURCE", "uid-1", "ns/pod-b", "TARGET", "uid-1");
	lm_del(f, "lm1");
	EXPECT_EVENTS(f, "ns/pod-a", "NONE", "", "ns/pod-b", "NONE", "");
}

static void TargetWinsOverSource(void **state)
{
	struct fx *f = *state;

	ep_pod(f, "pod-a", "");
	lm_pods(f, "lm1", "uid-1", "pod-a", NULL, NULL);
	EXPECT_EVENTS(f, "ns/pod-a", "SOURCE", "uid-1");
	lm_pods(f, "lm2", "uid-2", NULL, "pod-a", NULL);
	EXPECT_EVENTS(f, "ns/pod-a", "TARGET", "uid-2");
	/* The uid follows the winning rule, not the greatest overall. */
	lm_pods(f, "lm3", "uid-9", "pod-a", NULL, NULL);
	EXPECT_NO_EVENTS(f);
	expect_role(f, "ns/pod-a", "TARGET", "uid-2");
	lm_del(f, "lm2");
	EXPECT_EVENTS(f, "ns/pod-a", "SOURCE", "uid-9");
}

static void LMUpdateChangesSourceName(void **state)
{
	struct fx *f = *state;

	ep_pod(f, "pod-a", "");
	ep_pod(f, "pod-b", "");
	lm_pods(f, "lm1", "uid-1", "pod-a", NULL, NULL);
	EXPECT_EVENTS(f, "ns/pod-a", "SOURCE", "uid-1");
	lm_pods(f, "lm1", "uid-1", "pod-b", NULL, NULL);
	EXPECT_EVENTS(f, "ns/pod-a", "NONE", "", "ns/pod-b", "SOURCE", "uid-1");
	expect_role(f, "ns/pod-a", "NONE", "");
	expect_role(f, "ns/pod-b", "SOURCE", "uid-1");
}

static void SelectorBasedTarget(void **state)
{
	struct fx *f = *state;

	lm_pods(f, "lm1", "uid-1", NULL, NULL, "has(a)");
	EXPECT_NO_EVENTS(f);
	ep_pod(f, "pod-t", "a=1");
	EXPECT_EVENTS(f, "ns/pod-t", "TARGET", "uid-1");
	ep_pod(f, "pod-x", "b=1");
	EXPECT_NO_EVENTS(f);
	/* Removal is safe: nothing emitted, nothing left behind. */
	roles_ep_delete(f->r, "ns/pod-t");
	EXPECT_NO_EVENTS(f);
	expect_role(f, "ns/pod-t", "NONE", "");
	lm_del(f, "lm1");
	EXPECT_NO_EVENTS(f);
}

static void SelectorMatchThenLMDeleted(void **state)
{
	struct fx *f = *state;

	ep_pod(f, "pod-t", "a=1");
	lm_pods(f, "lm1", "uid-1", NULL, NULL, "has(a)");
	EXPECT_EVENTS(f, "ns/pod-t", "TARGET", "uid-1");
	lm_del(f, "lm1");
	EXPECT_EVENTS(f, "ns/pod-t", "NONE", "");
	/* The selector went with its last LiveMigration. */
	ep_pod(f, "pod-u", "a=1");
	EXPECT_NO_EVENTS(f);
}

static void SelectorRefCounting(void **state)
{
	struct fx *f = *state;

	ep_pod(f, "pod-t", "a=1");
	lm_pods(f, "lm1", "uid-1", NULL, NULL, "has(a)");
	EXPECT_EVENTS(f, "ns/pod-t", "TARGET", "uid-1");
	lm_pods(f, "lm2", "uid-2", NULL, NULL, "has(a)");
	EXPECT_NO_EVENTS(f);
	expect_role(f, "ns/pod-t", "TARGET", "uid-2");
	lm_del(f, "lm2");
	EXPECT_NO_EVENTS(f);
	expect_role(f, "ns/pod-t", "TARGET", "uid-1");
	lm_del(f, "lm1");
	EXPECT_EVENTS(f, "ns/pod-t", "NONE", "");
}

static void SelectorChangeOnUpdate(void **state)
{
	struct fx *f = *state;

	ep_pod(f, "pod-t", "a=1,b=1");
	lm_pods(f, "lm1", "uid-1", NULL, NULL, "has(a)");
	EXPECT_EVENTS(f, "ns/pod-t", "TARGET", "uid-1");
	lm_pods(f, "lm1", "uid-1", NULL, NULL, "has(b)");
	EXPECT_NO_EVENTS(f);
	expect_role(f, "ns/pod-t", "TARGET", "uid-1");
	/* has(b) is the selector in force now. */
	ep_pod(f, "pod-t", "a=1");
	EXPECT_EVENTS(f, "ns/pod-t", "NONE", "");
}

static void WEPDeleteRemovesTracking(void **state)
{
	struct fx *f = *state;
	struct live_migration lm;

	/* The LiveMigration names another host: for k8s the hostname is not
	 * part of the identity. */
	ep_full(f, "ns/pod-a", "host1", "k8s", "ns/pod-a", "eth0", "");
	lm_init(&lm, "lm1", "uid-1");
	lm_source(&lm, "host9", "k8s", "ns/pod-a", "eth0");
	/* By hand, as a caller not using wep_ident_set() could: the
	 * calculator applies the k8s rule itself. */
	free(lm.source.hostname);
	lm.source.hostname = strdup("host9");
	assert_non_null(lm.source.hostname);
	lm_apply(f, &lm);
	live_migration_free(&lm);
	EXPECT_EVENTS(f, "ns/pod-a", "SOURCE", "uid-1");
	roles_ep_delete(f->r, "ns/pod-a");
	EXPECT_NO_EVENTS(f);
	expect_role(f, "ns/pod-a", "NONE", "");
	lm_del(f, "lm1");
	EXPECT_NO_EVENTS(f);
	/* Nothing remembered: the same endpoint comes back with no role. */
	ep_full(f, "ns/pod-a", "host1", "k8s", "ns/pod-a", "eth0", "");
	EXPECT_NO_EVENTS(f);
}

static void WEPUpdateIsIdempotent(void **state)
{
	struct fx *f = *state;

	ep_pod(f, "pod-a", "x=1");
	lm_pods(f, "lm1", "uid-1", "pod-a", NULL, NULL);
	EXPECT_EVENTS(f, "ns/pod-a", "SOURCE", "uid-1");
	for (int i = 0; i < 3; i++) {
		ep_pod(f, "pod-a", "x=1");
		EXPECT_NO_EVENTS(f);
	}
	expect_role(f, "ns/pod-a", "SOURCE", "uid-1");
}

/* Adapted: Felix's test feeds a ResourceKey of another kind; here the API is
 * typed, so the meaningful equivalent is a LiveMigration naming a workload of
 * the same name under another orchestrator: it names a different endpoint. */
static void IgnoresNonLMResourceKey(void **state)
{
	struct fx *f = *state;
	struct live_migration lm;

	ep_pod(f, "pod-a", "");
	lm_init(&lm, "lm1", "uid-1");
	lm_source(&lm, "host1", "openstack", "ns/pod-a", "eth0");
	lm_target(&lm, "host1", "", "ns/pod-a", "eth0");
	lm_apply(f, &lm);
	live_migration_free(&lm);
	EXPECT_NO_EVENTS(f);
	expect_role(f, "ns/pod-a", "NONE", "");
}

/* Adapted: Felix's test feeds a host endpoint key. The equivalent here is an
 * identifier shaped like a host endpoint (hostname and interface, no
 * workload): it is not tracked, so no workload on that host and interface
 * gets a role, and neither does an endpoint added later. */
static void IgnoresHostEndpointKey(void **state)
{
	struct fx *f = *state;
	struct live_migration lm;

	ep_full(f, "ns/pod-a", "host1", "openstack", "ns/pod-a", "eth0", "");
	lm_init(&lm, "lm1", "uid-1");
	lm_source(&lm, "host1", "", "", "eth0");
	lm_target(&lm, "host1", "openstack", "", "eth0");
	lm_apply(f, &lm);
	live_migration_free(&lm);
	EXPECT_NO_EVENTS(f);
	ep_full(f, "ns/pod-b", "host1", "", "", "eth0", "");
	EXPECT_NO_EVENTS(f);
	expect_role(f, "ns/pod-a", "NONE", "");
	expect_role(f, "ns/pod-b", "NONE", "");
}

static void NilSourceAndTarget(void **state)
{
	struct fx *f = *state;

	ep_pod(f, "pod-a", "a=1");
	lm_pods(f, "lm1", "uid-1", NULL, NULL, NULL);
	EXPECT_NO_EVENTS(f);
	ep_pod(f, "pod-b", "");
	EXPECT_NO_EVENTS(f);
	lm_pods(f, "lm1", "uid-2", NULL, NULL, NULL);
	EXPECT_NO_EVENTS(f);
	lm_del(f, "lm1");
	EXPECT_NO_EVENTS(f);
	expect_role(f, "ns/pod-a", "NONE", "");
}

/* A target with neither sub-field: no direct target, and an empty selector
 * text is not tracked (parsed, "" would select everything). */
static void TargetWithNilFieldsInside(void **state)
{
	struct fx *f = *state;

	ep_pod(f, "pod-a", "a=1");
	ep_pod(f, "pod-b", "");
	lm_pods(f, "lm1", "uid-1", NULL, NULL, "");
	EXPECT_NO_EVENTS(f);
	ep_pod(f, "pod-c", "");
	EXPECT_NO_EVENTS(f);
	expect_role(f, "ns/pod-a", "NONE", "");
	expect_role(f, "ns/pod-b", "NONE", "");
}

static void EndToEndSourceHost(void **state)
{
	struct fx *f = *state;

	ep_pod(f, "vm-src", "");
	EXPECT_NO_EVENTS(f);
	lm_pods(f, "lm1", "uid-1", "vm-src", "vm-dst", NULL);
	EXPECT_EVENTS(f, "ns/vm-src", "SOURCE", "uid-1");
	lm_del(f, "lm1");
	EXPECT_EVENTS(f, "ns/vm-src", "NONE", "");
}

static void TransientOverlap(void **state)
{
	struct fx *f = *state;

	ep_pod(f, "pod-a", "");
	lm_pods(f, "lm1", "uid-1", "pod-a", NULL, NULL);
	EXPECT_EVENTS(f, "ns/pod-a", "SOURCE", "uid-1");
	lm_pods(f, "lm2", "uid-2", "pod-a", NULL, NULL);
	EXPECT_NO_EVENTS(f);
	expect_role(f, "ns/pod-a", "SOURCE", "uid-2");
	lm_del(f, "lm1");
	EXPECT_NO_EVENTS(f);
	expect_role(f, "ns/pod-a", "SOURCE", "uid-2");
	lm_del(f, "lm2");
	EXPECT_EVENTS(f, "ns/pod-a", "NONE", "");
}

static void SelectorWinsOverDirectTarget(void **state)
{
	struct fx *f = *state;

	ep_pod(f, "pod-t", "a=1");
	lm_pods(f, "lm1", "uid-zzz", NULL, "pod-t", NULL);
	EXPECT_EVENTS(f, "ns/pod-t", "TARGET", "uid-zzz");
	/* Selector target beats direct target: its (smaller) uid wins, and
	 * the role did not change, so no event. */
	lm_pods(f, "lm2", "uid-aaa", NULL, NULL, "has(a)");
	EXPECT_NO_EVENTS(f);
	expect_role(f, "ns/pod-t", "TARGET", "uid-aaa");
	lm_del(f, "lm2");
	EXPECT_NO_EVENTS(f);
	expect_role(f, "ns/pod-t", "TARGET", "uid-zzz");
	lm_del(f, "lm1");
	EXPECT_EVENTS(f, "ns/pod-t", "NONE", "");
}

static void WEPRecreated(void **state)
{
	struct fx *f = *state;

	lm_pods(f, "lm1", "uid-1", "pod-a", NULL, "has(t)");
	ep_pod(f, "pod-a", "");
	EXPECT_EVENTS(f, "ns/pod-a", "SOURCE", "uid-1");
	ep_pod(f, "pod-t", "t=1");
	EXPECT_EVENTS(f, "ns/pod-t", "TARGET", "uid-1");
	roles_ep_delete(f->r, "ns/pod-a");
	roles_ep_delete(f->r, "ns/pod-t");
	EXPECT_NO_EVENTS(f);
	ep_pod(f, "pod-a", "");
	EXPECT_EVENTS(f, "ns/pod-a", "SOURCE", "uid-1");
	ep_pod(f, "pod-t", "t=1");
	EXPECT_EVENTS(f, "ns/pod-t", "TARGET", "uid-1");
}

static void UIDPropagation(void **state)
{
	struct fx *f = *state;

	ep_pod(f, "pod-a", "");
	ep_pod(f, "pod-b", "");
	lm_pods(f, "lm1", "0b9e-uid", "pod-a", "pod-b", NULL);
	EXPECT_EVENTS(f, "ns/pod-a", "SOURCE", "0b9e-uid", "ns/pod-b", "TARGET", "0b9e-uid");
	expect_role(f, "ns/pod-b", "TARGET", "0b9e-uid");
	/* A uid-only update is not an event, but is what roles_get reports. */
	lm_pods(f, "lm1", "1c2d-uid", "pod-a", "pod-b", NULL);
	EXPECT_NO_EVENTS(f);
	expect_role(f, "ns/pod-a", "SOURCE", "1c2d-uid");
	expect_role(f, "ns/pod-b", "TARGET", "1c2d-uid");
	lm_del(f, "lm1");
	EXPECT_EVENTS(f, "ns/pod-a", "NONE", "", "ns/pod-b", "NONE", "");
	expect_role(f, "ns/pod-b", "NONE", "");
}

static void UIDWithSelector(void **state)
{
	struct fx *f = *state;

	ep_pod(f, "pod-t", "a=1");
	ep_pod(f, "pod-s", "");
	/* lm-other's uid is greater but its selector does not match pod-t. */
	lm_pods(f, "lm-other", "uid-9", "pod-s", NULL, "has(b)");
	EXPECT_EVENTS(f, "ns/pod-s", "SOURCE", "uid-9");
	lm_pods(f, "lm1", "uid-1", NULL, NULL, "has(a)");
	EXPECT_EVENTS(f, "ns/pod-t", "TARGET", "uid-1");
}

static void WorkloadLevelSource(void **state)
{
	struct fx *f = *state;
	struct live_migration lm;

	ep_full(f, "ns/pod-a/eth1", "host1", "k8s", "ns/pod-a", "eth1", "");
	ep_full(f, "ns/pod-a/eth0", "host1", "k8s", "ns/pod-a", "eth0", "");
	ep_pod(f, "pod-b", "");
	EXPECT_NO_EVENTS(f);
	lm_init(&lm, "lm1", "uid-1");
	lm_source(&lm, "", "k8s", "ns/pod-a", "");
	lm_apply(f, &lm);
	live_migration_free(&lm);
	EXPECT_EVENTS(f, "ns/pod-a/eth0", "SOURCE", "uid-1", "ns/pod-a/eth1", "SOURCE", "uid-1");
	lm_del(f, "lm1");
	EXPECT_EVENTS(f, "ns/pod-a/eth0", "NONE", "", "ns/pod-a/eth1", "NONE", "");
}

static void WorkloadLevelSourceWEPsArriveAfterLM(void **state)
{
	struct fx *f = *state;
	struct live_migration lm;

	lm_init(&lm, "lm1", "uid-1");
	lm_source(&lm, "", "k8s", "ns/pod-a", "");
	lm_apply(f, &lm);
	live_migration_free(&lm);
	EXPECT_NO_EVENTS(f);
	ep_full(f, "ns/pod-a/eth0", "host1", "k8s", "ns/pod-a", "eth0", "");
	EXPECT_EVENTS(f, "ns/pod-a/eth0", "SOURCE", "uid-1");
	ep_full(f, "ns/pod-a/eth1", "host1", "k8s", "ns/pod-a", "eth1", "");
	EXPECT_EVENTS(f, "ns/pod-a/eth1", "SOURCE", "uid-1");
	ep_full(f, "ns/pod-ab/eth0", "host1", "k8s", "ns/pod-ab", "eth0", "");
	EXPECT_NO_EVENTS(f);
	lm_del(f, "lm1");
	EXPECT_EVENTS(f, "ns/pod-a/eth0", "NONE", "", "ns/pod-a/eth1", "NONE", "");
}

static void WorkloadLevelSourcePartialDelete(void **state)
{
	struct fx *f = *state;
	struct live_migration lm;

	ep_full(f, "ns/pod-a/eth0", "host1", "k8s", "ns/pod-a", "eth0", "");
	ep_full(f, "ns/pod-a/eth1", "host1", "k8s", "ns/pod-a", "eth1", "");
	lm_init(&lm, "lm1", "uid-1");
	lm_source(&lm, "", "k8s", "ns/pod-a", "");
	lm_apply(f, &lm);
	live_migration_free(&lm);
	EXPECT_EVENTS(f, "ns/pod-a/eth0", "SOURCE", "uid-1", "ns/pod-a/eth1", "SOURCE", "uid-1");
	roles_ep_delete(f->r, "ns/pod-a/eth0");
	EXPECT_NO_EVENTS(f);
	expect_role(f, "ns/pod-a/eth1", "SOURCE", "uid-1");
	lm_del(f, "lm1");
	EXPECT_EVENTS(f, "ns/pod-a/eth1", "NONE", "");
}

/* ---- A.6: historical bugs --------------------------------------------------- */

/* #1: an update that renamed the source/target re-referenced the old name.
 * Here the target moves: the old target must lose its role, the new one gain
 * it, and after the LiveMigration is gone neither may keep anything. */
static void Bug1_UpdateRenameReleasesOldName(void **state)
{
	struct fx *f = *state;

	ep_pod(f, "pod-a", "");
	ep_pod(f, "pod-b", "");
	ep_pod(f, "pod-c", "");
	lm_pods(f, "lm1", "uid-1", "pod-c", "pod-a", NULL);
	EXPECT_EVENTS(f, "ns/pod-a", "TARGET", "uid-1", "ns/pod-c", "SOURCE", "uid-1");
	lm_pods(f, "lm1", "uid-1", "pod-c", "pod-b", NULL);
	EXPECT_EVENTS(f, "ns/pod-a", "NONE", "", "ns/pod-b", "TARGET", "uid-1");
	lm_del(f, "lm1");
	EXPECT_EVENTS(f, "ns/pod-b", "NONE", "", "ns/pod-c", "NONE", "");
	/* Nothing left indexed under either name. */
	roles_ep_delete(f->r, "ns/pod-a");
	roles_ep_delete(f->r, "ns/pod-b");
	ep_pod(f, "pod-a", "");
	ep_pod(f, "pod-b", "");
	EXPECT_NO_EVENTS(f);
}

/* #2: on a selector change the new selector was dropped instead of the old
 * one. After A -> B: an endpoint matching only A gets nothing, one matching
 * only B is TARGET, and deleting the LiveMigration releases B. */
static void Bug2_SelectorChangeDropsOld(void **state)
{
	struct fx *f = *state;

	ep_pod(f, "pod-a", "a=1");
	lm_pods(f, "lm1", "uid-1", NULL, NULL, "has(a)");
	EXPECT_EVENTS(f, "ns/pod-a", "TARGET", "uid-1");
	lm_pods(f, "lm1", "uid-1", NULL, NULL, "has(b)");
	EXPECT_EVENTS(f, "ns/pod-a", "NONE", "");
	ep_pod(f, "pod-a2", "a=1");
	EXPECT_NO_EVENTS(f);
	ep_pod(f, "pod-b", "b=1");
	EXPECT_EVENTS(f, "ns/pod-b", "TARGET", "uid-1");
	lm_del(f, "lm1");
	EXPECT_EVENTS(f, "ns/pod-b", "NONE", "");
	ep_pod(f, "pod-b2", "b=1");
	EXPECT_NO_EVENTS(f);
}

/* #3 (adapted): matches of other selectors could mark endpoints TARGET. Here
 * a LiveMigration's selector affects only the endpoints it matches, and an
 * endpoint matched by one selector takes its uid from that selector's
 * LiveMigrations only. */
static void Bug3_SelectorAffectsOnlyItsMatches(void **state)
{
	struct fx *f = *state;

	ep_pod(f, "pod-a", "app=x");
	ep_pod(f, "pod-b", "app=y");
	lm_pods(f, "lm1", "uid-1", NULL, NULL, "app == 'x'");
	EXPECT_EVENTS(f, "ns/pod-a", "TARGET", "uid-1");
	lm_pods(f, "lm2", "uid-2", NULL, NULL, "app == 'z'");
	EXPECT_NO_EVENTS(f);
	expect_role(f, "ns/pod-a", "TARGET", "uid-1");
	expect_role(f, "ns/pod-b", "NONE", "");
}

/* #4: an endpoint arriving with LiveMigrations for only one of source and
 * target crashed on a set union with a missing set. */
static void Bug4_EndpointWithOnlyOneSide(void **state)
{
	struct fx *f = *state;

	lm_pods(f, "lm-src", "uid-1", "pod-a", NULL, NULL);
	lm_pods(f, "lm-tgt", "uid-2", NULL, "pod-b", NULL);
	EXPECT_NO_EVENTS(f);
	ep_pod(f, "pod-a", "");
	EXPECT_EVENTS(f, "ns/pod-a", "SOURCE", "uid-1");
	ep_pod(f, "pod-b", "");
	EXPECT_EVENTS(f, "ns/pod-b", "TARGET", "uid-2");
}

/* #5 (adapted): selector matches arrived for endpoints not yet known. Here
 * matching follows the endpoint's labels at every update: gaining the label
 * makes it TARGET, losing it reverts it. */
static void Bug5_LabelChangeReevaluates(void **state)
{
	struct fx *f = *state;

	ep_pod(f, "pod-t", "");
	lm_pods(f, "lm1", "uid-1", NULL, NULL, "kubevirt.io/migrationJobUID == 'uid-1'");
	EXPECT_NO_EVENTS(f);
	ep_pod(f, "pod-t", "kubevirt.io/migrationJobUID=uid-1");
	EXPECT_EVENTS(f, "ns/pod-t", "TARGET", "uid-1");
	ep_pod(f, "pod-t", "kubevirt.io/migrationJobUID=uid-2");
	EXPECT_EVENTS(f, "ns/pod-t", "NONE", "");
}

/* #6: the uid with overlapping LiveMigrations depended on event order. */
static void Bug6_GreatestUIDWhateverTheOrder(void **state)
{
	struct fx *f = *state;
	const char *uids[] = {"uid-5", "uid-7", "uid-3"};

	ep_pod(f, "pod-a", "");
	ep_pod(f, "pod-t", "t=1");
	lm_pods(f, "lm0", uids[0], "pod-a", NULL, "has(t)");
	EXPECT_EVENTS(f, "ns/pod-a", "SOURCE", "uid-5", "ns/pod-t", "TARGET", "uid-5");
	lm_pods(f, "lm1", uids[1], "pod-a", NULL, "has(t)");
	lm_pods(f, "lm2", uids[2], "pod-a", NULL, "has(t)");
	EXPECT_NO_EVENTS(f);
	expect_role(f, "ns/pod-a", "SOURCE", "uid-7");
	expect_role(f, "ns/pod-t", "TARGET", "uid-7");

	/* The same LiveMigrations in the opposite order, in a new calculator. */
	struct fx g = {.r = roles_new()};
	assert_non_null(g.r);
	ep_pod(&g, "pod-a", "");
	ep_pod(&g, "pod-t", "t=1");
	for (int i = 2; i >= 0; i--) {
		char name[16];
		snprintf(name, sizeof(name), "lm%d", i);
		lm_pods(&g, name, uids[i], "pod-a", NULL, "has(t)");
	}
	EXPECT_EVENTS(&g, "ns/pod-a", "SOURCE", "uid-3", "ns/pod-t", "TARGET", "uid-3");
	expect_role(&g, "ns/pod-a", "SOURCE", "uid-7");
	expect_role(&g, "ns/pod-t", "TARGET", "uid-7");
	role_events_free(&g.ev);
	roles_free(g.r);
}

/* #7 (adapted): two users of one selector clobbered each other. Here two
 * LiveMigrations share a selector; when one moves to another selector, the
 * shared one stays registered for the other. */
static void Bug7_SharedSelectorSurvivesOneOwnerLeaving(void **state)
{
	struct fx *f = *state;

	ep_pod(f, "pod-t", "a=1");
	lm_pods(f, "lm1", "uid-1", NULL, NULL, "has(a)");
	lm_pods(f, "lm2", "uid-2", NULL, NULL, "has(a)");
	EXPECT_EVENTS(f, "ns/pod-t", "TARGET", "uid-1");
	lm_pods(f, "lm2", "uid-2", NULL, NULL, "has(z)");
	EXPECT_NO_EVENTS(f);
	expect_role(f, "ns/pod-t", "TARGET", "uid-1");
	ep_pod(f, "pod-u", "a=1");
	EXPECT_EVENTS(f, "ns/pod-u", "TARGET", "uid-1");
	lm_del(f, "lm1");
	EXPECT_EVENTS(f, "ns/pod-t", "NONE", "", "ns/pod-u", "NONE", "");
}

/* ---- orchestrator shapes ------------------------------------------------------ */

/* OpenStack (A.4): one LiveMigration per port, both sides named directly, and
 * the hostname is part of the identity. */
static void OpenStackHostnameMatters(void **state)
{
	struct fx *f = *state;
	struct live_migration lm;
	const char *wl = "tenant/0c1b2a3d-vm", *port = "7f3e9a10-port";

	/* The same port as seen on the source host, the destination host and
	 * a third host (three calculators' worth of endpoints in one). */
	ep_full(f, "src", "compute-1", "openstack", wl, port, "");
	ep_full(f, "dst", "compute-2", "openstack", wl, port, "");
	ep_full(f, "other", "compute-3", "openstack", wl, port, "");
	lm_init(&lm, "port-7f3e9a10", "lm-uid-1");
	lm_source(&lm, "compute-1", "openstack", wl, port);
	lm_target(&lm, "compute-2", "openstack", wl, port);
	lm_apply(f, &lm);
	live_migration_free(&lm);
	EXPECT_EVENTS(f, "dst", "TARGET", "lm-uid-1", "src", "SOURCE", "lm-uid-1");
	expect_role(f, "other", "NONE", "");
	/* Another port of the same VM is not part of this migration. */
	ep_full(f, "dst-port2", "compute-2", "openstack", wl, "port2", "");
	EXPECT_NO_EVENTS(f);
}

/* KubeVirt (A.3, F.6): the VMIM-derived selector matches the target
 * virt-launcher pod, not the source pod (which carries an older migration's
 * uid, if any); the source is named at workload level. */
static void KubeVirtSelectorMatchesTargetPodOnly(void **state)
{
	struct fx *f = *state;
	struct live_migration lm;

	ep_pod(f, "virt-launcher-my-vmi-abcde",
	       "kubevirt.io=virt-launcher,vm.kubevirt.io/name=my-vmi,vmi.kubevirt.io/id=my-vmi,"
	       "kubevirt.io/migrationJobUID=uid-old");
	ep_pod(f, "virt-launcher-my-vmi-fghij",
	       "kubevirt.io=virt-launcher,vmi.kubevirt.io/id=my-vmi,"
	       "kubevirt.io/migrationJobUID=uid-123");
	ep_pod(f, "virt-launcher-other-vmi-xyz",
	       "kubevirt.io=virt-launcher,vm.kubevirt.io/name=other-vmi,"
	       "kubevirt.io/migrationJobUID=uid-123");
	EXPECT_NO_EVENTS(f);
	lm_init(&lm, "migration-job", "uid-123");
	lm_selector(&lm, "(vmi.kubevirt.io/id == 'my-vmi' || vm.kubevirt.io/name == 'my-vmi') && "
	                 "kubevirt.io/migrationJobUID == 'uid-123'");
	lm_apply(f, &lm);
	EXPECT_EVENTS(f, "ns/virt-launcher-my-vmi-fghij", "TARGET", "uid-123");
	/* Later phases add the source pod (workload level). */
	lm_source(&lm, "", "k8s", "ns/virt-launcher-my-vmi-abcde", "");
	lm_apply(f, &lm);
	live_migration_free(&lm);
	EXPECT_EVENTS(f, "ns/virt-launcher-my-vmi-abcde", "SOURCE", "uid-123");
	expect_role(f, "ns/virt-launcher-other-vmi-xyz", "NONE", "");
}

/* An invalid selector is rejected with the LiveMigration and the column
 * named, and the previous version (selector, source, uid) stays in force. */
static void InvalidSelectorKeepsPreviousVersion(void **state)
{
	struct fx *f = *state;
	struct live_migration lm;
	struct herr err = {{0}};
	const char *prefix = "LiveMigration default/lm1: spec.target.selector: column ";

	ep_pod(f, "pod-t", "a=1");
	ep_pod(f, "pod-s", "");
	ep_pod(f, "pod-s2", "");
	lm_pods(f, "lm1", "uid-1", "pod-s", NULL, "has(a)");
	EXPECT_EVENTS(f, "ns/pod-s", "SOURCE", "uid-1", "ns/pod-t", "TARGET", "uid-1");

	lm_init(&lm, "lm1", "uid-2");
	lm_source(&lm, "", "k8s", "ns/pod-s2", "eth0");
	lm_selector(&lm, "has(a) && ");
	assert_int_equal(roles_lm_upsert(f->r, &lm, &f->ev, &err), -EINVAL);
	assert_memory_equal(err.msg, prefix, strlen(prefix));
	live_migration_free(&lm);
	EXPECT_NO_EVENTS(f);
	expect_role(f, "ns/pod-t", "TARGET", "uid-1");
	expect_role(f, "ns/pod-s", "SOURCE", "uid-1");
	expect_role(f, "ns/pod-s2", "NONE", "");

	/* A new LiveMigration with a bad selector is not created at all. */
	lm_init(&lm, "lm2", "uid-3");
	lm_source(&lm, "", "k8s", "ns/pod-s2", "eth0");
	lm_selector(&lm, "app == ");
	assert_int_equal(roles_lm_upsert(f->r, &lm, &f->ev, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "LiveMigration default/lm2: spec.target.selector: column"));
	live_migration_free(&lm);
	EXPECT_NO_EVENTS(f);
	expect_role(f, "ns/pod-s2", "NONE", "");

	/* The previous version is still the one deletion removes. */
	lm_del(f, "lm1");
	EXPECT_EVENTS(f, "ns/pod-s", "NONE", "", "ns/pod-t", "NONE", "");
}

/* F.8, immediate re-migration back to the original host: while LM1 (A->B)
 * and LM2 (B->A) coexist, B stays TARGET through LM1 (no event) and A turns
 * TARGET through LM2; deleting LM1 turns B into SOURCE. OpenStack shape, so
 * both hosts' views of the one port sit in one calculator. */
static void ReMigrationBackToSource(void **state)
{
	struct fx *f = *state;
	struct live_migration lm;
	const char *wl = "tenant/vm1", *port = "port1";

	ep_full(f, "on-a", "host-a", "openstack", wl, port, "");
	ep_full(f, "on-b", "host-b", "openstack", wl, port, "");
	lm_init(&lm, "lm1", "uid-1");
	lm_source(&lm, "host-a", "openstack", wl, port);
	lm_target(&lm, "host-b", "openstack", wl, port);
	lm_apply(f, &lm);
	live_migration_free(&lm);
	EXPECT_EVENTS(f, "on-a", "SOURCE", "uid-1", "on-b", "TARGET", "uid-1");

	lm_init(&lm, "lm2", "uid-2");
	lm_source(&lm, "host-b", "openstack", wl, port);
	lm_target(&lm, "host-a", "openstack", wl, port);
	lm_apply(f, &lm);
	live_migration_free(&lm);
	EXPECT_EVENTS(f, "on-a", "TARGET", "uid-2");
	expect_role(f, "on-b", "TARGET", "uid-1");

	lm_del(f, "lm1");
	EXPECT_EVENTS(f, "on-b", "SOURCE", "uid-2");
	expect_role(f, "on-a", "TARGET", "uid-2");
}

/* An endpoint whose identity changes under the same key is re-indexed. */
static void EndpointIdentityChange(void **state)
{
	struct fx *f = *state;

	lm_pods(f, "lm1", "uid-1", "pod-a", NULL, NULL);
	ep_full(f, "key-1", "host1", "k8s", "ns/pod-a", "eth0", "");
	EXPECT_EVENTS(f, "key-1", "SOURCE", "uid-1");
	ep_full(f, "key-1", "host1", "k8s", "ns/pod-b", "eth0", "");
	EXPECT_EVENTS(f, "key-1", "NONE", "");
	lm_pods(f, "lm1", "uid-1", "pod-b", NULL, NULL);
	EXPECT_EVENTS(f, "key-1", "SOURCE", "uid-1");
}

/* A decoded LiveMigration carries its selector parsed (the decoder parsed it
 * to check it): the roles take that parse rather than parsing the text again,
 * and leave it with a LiveMigration whose selector they already know (its
 * owner frees it; the ASan build checks nothing leaks or is freed twice). */
static void DecodedSelectorIsTaken(void **state)
{
	struct fx *f = *state;
	struct live_migration a, b;
	struct herr err = {{0}};
	const char *sel = "vmi.kubevirt.io/id == 'vm1' && kubevirt.io/migrationJobUID == 'u1'";
	json_t *obj =
	    json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:{s:s}}}", "apiVersion",
	              "projectcalico.org/v3", "kind", "LiveMigration", "metadata", "namespace",
	              "default", "name", "m1", "uid", "u1", "spec", "target", "selector", sel);

	ep_pod(f, "launcher-vm1-b", "vmi.kubevirt.io/id=vm1,kubevirt.io/migrationJobUID=u1");
	EXPECT_NO_EVENTS(f);
	assert_non_null(obj);
	assert_int_equal(live_migration_decode(obj, &a, &err), 0);
	assert_non_null(a.target_parsed);
	assert_int_equal(roles_lm_upsert(f->r, &a, &f->ev, &err), 0);
	assert_null(a.target_parsed); /* taken */
	EXPECT_EVENTS(f, "ns/launcher-vm1-b", "TARGET", "u1");
	/* The same text again under another name: the roles know it already. */
	json_object_set_new(json_object_get(obj, "metadata"), "name", json_string("m2"));
	assert_int_equal(live_migration_decode(obj, &b, &err), 0);
	assert_int_equal(roles_lm_upsert(f->r, &b, &f->ev, &err), 0);
	assert_non_null(b.target_parsed); /* left with its owner */
	EXPECT_NO_EVENTS(f);
	live_migration_free(&b);
	/* The selector still serves m1 once m2 is gone, and goes with m1. */
	roles_lm_delete(f->r, "default", "m2", &f->ev);
	EXPECT_NO_EVENTS(f);
	roles_lm_delete(f->r, "default", "m1", &f->ev);
	EXPECT_EVENTS(f, "ns/launcher-vm1-b", "NONE", "");
	live_migration_free(&a);
	json_decref(obj);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(LMThenWEPs),
	    T(WEPsThenLM),
	    T(TargetWinsOverSource),
	    T(LMUpdateChangesSourceName),
	    T(SelectorBasedTarget),
	    T(SelectorMatchThenLMDeleted),
	    T(SelectorRefCounting),
	    T(SelectorChangeOnUpdate),
	    T(WEPDeleteRemovesTracking),
	    T(WEPUpdateIsIdempotent),
	    T(IgnoresNonLMResourceKey),
	    T(IgnoresHostEndpointKey),
	    T(NilSourceAndTarget),
	    T(TargetWithNilFieldsInside),
	    T(EndToEndSourceHost),
	    T(TransientOverlap),
	    T(SelectorWinsOverDirectTarget),
	    T(WEPRecreated),
	    T(UIDPropagation),
	    T(UIDWithSelector),
	    T(WorkloadLevelSource),
	    T(WorkloadLevelSourceWEPsArriveAfterLM),
	    T(WorkloadLevelSourcePartialDelete),
	    T(Bug1_UpdateRenameReleasesOldName),
	    T(Bug2_SelectorChangeDropsOld),
	    T(Bug3_SelectorAffectsOnlyItsMatches),
	    T(Bug4_EndpointWithOnlyOneSide),
	    T(Bug5_LabelChangeReevaluates),
	    T(Bug6_GreatestUIDWhateverTheOrder),
	    T(Bug7_SharedSelectorSurvivesOneOwnerLeaving),
	    T(OpenStackHostnameMatters),
	    T(KubeVirtSelectorMatchesTargetPodOnly),
	    T(InvalidSelectorKeepsPreviousVersion),
	    T(ReMigrationBackToSource),
	    T(EndpointIdentityChange),
	    T(DecodedSelectorIsTaken),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
