/* test_selector_index.c - the required `key == 'value'` test by which the
 * role calculator indexes target selectors, and roles found through that
 * index: an endpoint relabelled into or out of a selector, selectors sharing
 * one required pair, and selectors with no required test at all. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/roles.h"
#include "core/selector.h"

static void expect_required(const char *text, const char *key, const char *value)
{
	struct selector *s = NULL;
	struct herr err = {{0}};
	const char *k = NULL, *v = NULL;

	assert_int_equal(selector_parse(text, &s, &err), 0);
	if (key) {
		assert_true(selector_required_eq(s, &k, &v));
		assert_string_equal(k, key);
		assert_string_equal(v, value);
	} else {
		assert_false(selector_required_eq(s, &k, &v));
	}
	selector_free(s);
}

static void test_required_eq(void **state)
{
	expect_required("(vmi.kubevirt.io/id == 'vm' || vm.kubevirt.io/name == 'vm') && "
	                "kubevirt.io/migrationJobUID == 'uid-1'",
	                "kubevirt.io/migrationJobUID", "uid-1");
	expect_required("a == 'x'", "a", "x");
	expect_required("a == 'x' && b == \"y\"", "b", "y");
	expect_required("a == 'x' && (b == 'y' && has(c))", "b", "y");
	expect_required("a == 'x' || b == 'y'", NULL, NULL);
	expect_required("!(a == 'x')", NULL, NULL);
	expect_required("a != 'x' && has(b)", NULL, NULL);
	expect_required("a in {'x'}", NULL, NULL);
	assert_false(selector_required_eq(NULL, &(const char *){0}, &(const char *){0}));
}

static void ep(struct roles *r, const char *name, const char *job, struct role_events *ev)
{
	struct wep_ident id = {0};
	struct labels l = {0};
	char wl[64];

	snprintf(wl, sizeof(wl), "ns/%s", name);
	assert_int_equal(wep_ident_set(&id, "", "k8s", wl, "eth0"), 0);
	assert_int_equal(labels_set(&l, "kubevirt.io", "virt-launcher"), 0);
	assert_int_equal(labels_set(&l, "vmi.kubevirt.io/id", "vm"), 0);
	if (job)
		assert_int_equal(labels_set(&l, "kubevirt.io/migrationJobUID", job), 0);
	assert_int_equal(roles_ep_upsert(r, wl, &id, &l, ev), 0);
	labels_free(&l);
	wep_ident_free(&id);
}

static void lm(struct roles *r, const char *name, const char *uid, const char *sel,
               struct role_events *ev)
{
	struct live_migration m = {
	    .ns = "ns", .name = (char *)name, .uid = (char *)uid, .target_selector = (char *)sel};
	struct herr err = {{0}};

	assert_int_equal(roles_lm_upsert(r, &m, ev, &err), 0);
}

static enum lm_role role(struct roles *r, const char *key, const char **uid)
{
	return roles_get(r, key, uid);
}

static void test_roles_through_index(void **state)
{
	struct roles *r = roles_new();
	struct role_events ev = {0};
	const char *uid;

	ep(r, "a", NULL, &ev);
	ep(r, "b", "job-1", &ev);
	lm(r, "m1", "u1", "vmi.kubevirt.io/id == 'vm' && kubevirt.io/migrationJobUID == 'job-1'",
	   &ev);
	lm(r, "m2", "u2", "kubevirt.io/migrationJobUID == 'job-1'", &ev);
	assert_int_equal(role(r, "ns/a", NULL), LM_ROLE_NONE);
	assert_int_equal(role(r, "ns/b", &uid), LM_ROLE_TARGET);
	assert_string_equal(uid, "u2"); /* two selectors under one pair: both count */
	role_events_clear(&ev);

	/* Relabelled into the pair: found through the index. */
	ep(r, "a", "job-1", &ev);
	assert_int_equal(ev.n, 1);
	assert_string_equal(ev.v[0].endpoint_key, "ns/a");
	assert_int_equal(ev.v[0].role, LM_ROLE_TARGET);
	role_events_clear(&ev);
	/* And out of it. */
	ep(r, "a", "job-2", &ev);
	assert_int_equal(role(r, "ns/a", NULL), LM_ROLE_NONE);
	role_events_clear(&ev);

	/* No required test: matched against every endpoint. */
	lm(r, "m3", "u3", "has(vmi.kubevirt.io/id) || kubevirt.io == 'x'", &ev);
	assert_int_equal(role(r, "ns/a", &uid), LM_ROLE_TARGET);
	assert_string_equal(uid, "u3");
	role_events_clear(&ev);
	ep(r, "c", NULL, &ev);
	assert_int_equal(role(r, "ns/c", NULL), LM_ROLE_TARGET);
	role_events_clear(&ev);

	/* Dropping the selectors releases their endpoints. */
	roles_lm_delete(r, "ns", "m3", &ev);
	assert_int_equal(role(r, "ns/a", NULL), LM_ROLE_NONE);
	assert_int_equal(role(r, "ns/c", NULL), LM_ROLE_NONE);
	assert_int_equal(role(r, "ns/b", &uid), LM_ROLE_TARGET);
	roles_lm_delete(r, "ns", "m2", &ev);
	assert_int_equal(role(r, "ns/b", &uid), LM_ROLE_TARGET);
	assert_string_equal(uid, "u1");
	roles_lm_delete(r, "ns", "m1", &ev);
	assert_int_equal(role(r, "ns/b", NULL), LM_ROLE_NONE);
	/* A selector registered again after its pair's entry was freed. */
	lm(r, "m4", "u4", "kubevirt.io/migrationJobUID == 'job-1'", &ev);
	assert_int_equal(role(r, "ns/b", NULL), LM_ROLE_TARGET);
	role_events_free(&ev);
	roles_free(r);
}

/* Dropping a selector visits only the endpoints listed under its required
 * pair: that list must follow endpoints that arrive, relabel and go after
 * the key was first required. (Under ASan a stale entry is a use after free.) */
static void test_label_index_follows_endpoints(void **state)
{
	struct roles *r = roles_new();
	struct role_events ev = {0};

	lm(r, "m1", "u1", "kubevirt.io/migrationJobUID == 'job-1'", &ev); /* no pod yet */
	ep(r, "late", "job-1", &ev);                                      /* arrives after */
	ep(r, "moved", "job-9", &ev);
	ep(r, "moved", "job-1", &ev); /* relabelled into the pair */
	ep(r, "gone", "job-1", &ev);
	assert_int_equal(role(r, "ns/late", NULL), LM_ROLE_TARGET);
	assert_int_equal(role(r, "ns/moved", NULL), LM_ROLE_TARGET);
	roles_ep_delete(r, "ns/gone");
	role_events_clear(&ev);
	roles_lm_delete(r, "ns", "m1", &ev);
	assert_int_equal(role(r, "ns/late", NULL), LM_ROLE_NONE);
	assert_int_equal(role(r, "ns/moved", NULL), LM_ROLE_NONE);
	assert_int_equal(ev.n, 2); /* exactly the two, in key order */
	assert_string_equal(ev.v[0].endpoint_key, "ns/late");
	assert_string_equal(ev.v[1].endpoint_key, "ns/moved");
	role_events_clear(&ev);
	/* Relabelled out of the pair before the next migration names it. */
	ep(r, "moved", "job-2", &ev);
	lm(r, "m2", "u2", "kubevirt.io/migrationJobUID == 'job-1'", &ev);
	assert_int_equal(role(r, "ns/late", NULL), LM_ROLE_TARGET);
	assert_int_equal(role(r, "ns/moved", NULL), LM_ROLE_NONE);
	lm(r, "m3", "u3", "kubevirt.io/migrationJobUID == 'job-2'", &ev);
	assert_int_equal(role(r, "ns/moved", NULL), LM_ROLE_TARGET);
	role_events_free(&ev);
	roles_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_required_eq),
	    cmocka_unit_test(test_roles_through_index),
	    cmocka_unit_test(test_label_index_follows_endpoints),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
