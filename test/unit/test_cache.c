/* Object cache: watch events and full relists become exactly the changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "kube/cache.h"

struct seen {
	char log[1024];
};

static void record(void *arg, enum obj_event ev, const json_t *obj)
{
	struct seen *s = arg;
	char key[256];
	obj_key(obj, key, sizeof(key), NULL);
	const char *rv =
	    json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
	snprintf(s->log + strlen(s->log), sizeof(s->log) - strlen(s->log), "%s %s@%s;",
	         obj_event_name(ev), key, rv ? rv : "");
}

static json_t *obj(const char *kind, const char *ns, const char *name, const char *rv)
{
	json_t *o = json_pack("{s:s,s:{s:s,s:s}}", "kind", kind, "metadata", "name", name,
	                      "resourceVersion", rv);
	if (ns)
		json_object_set_new(json_object_get(o, "metadata"), "namespace", json_string(ns));
	return o;
}

static void upsert_and_delete_events(void **state)
{
	struct obj_cache *c = obj_cache_new();
	struct seen s = {{0}};
	json_t *a1 = obj("Pod", "ns", "a", "1"), *a2 = obj("Pod", "ns", "a", "2");

	assert_int_equal(obj_cache_upsert(c, a1, record, &s, NULL), 0);
	assert_int_equal(obj_cache_upsert(c, a1, record, &s, NULL), 0); /* unchanged: no event */
	assert_int_equal(obj_cache_upsert(c, a2, record, &s, NULL), 0);
	assert_int_equal(obj_cache_delete(c, a1, record, &s, NULL), 0); /* by key: deletes a@2 */
	assert_int_equal(obj_cache_delete(c, a1, record, &s, NULL), 0); /* gone: no event */
	assert_string_equal(s.log, "ADDED Pod/ns/a@1;MODIFIED Pod/ns/a@2;DELETED Pod/ns/a@2;");
	assert_int_equal(obj_cache_count(c), 0);
	json_decref(a1);
	json_decref(a2);
	obj_cache_free(c);
}

static void relist_reports_gap_deletions_and_skips_unchanged(void **state)
{
	struct obj_cache *c = obj_cache_new();
	struct seen s = {{0}};
	json_t *a = obj("LiveMigration", "ns", "a", "1"), *b = obj("LiveMigration", "ns", "b", "1");
	json_t *p = obj("Pod", "ns", "p", "1");
	json_t *b2 = obj("LiveMigration", "ns", "b", "5"),
	       *d = obj("LiveMigration", "ns", "d", "6");

	obj_cache_upsert(c, a, NULL, NULL, NULL);
	obj_cache_upsert(c, b, NULL, NULL, NULL);
	obj_cache_upsert(c, p, NULL, NULL, NULL);
	/* During the gap: a deleted, b modified, d created. Pods are not in scope. */
	json_t *fresh[] = {d, b2};
	assert_int_equal(obj_cache_replace(c, "LiveMigration/", fresh, 2, record, &s, NULL), 0);
	assert_string_equal(s.log, "DELETED LiveMigration/ns/a@1;MODIFIED LiveMigration/ns/b@5;"
	                           "ADDED LiveMigration/ns/d@6;");
	assert_non_null(obj_cache_get(c, "Pod/ns/p"));
	/* The same list again changes nothing. */
	s.log[0] = '\0';
	assert_int_equal(obj_cache_replace(c, "LiveMigration/", fresh, 2, record, &s, NULL), 0);
	assert_string_equal(s.log, "");
	json_decref(a);
	json_decref(b);
	json_decref(p);
	json_decref(b2);
	json_decref(d);
	obj_cache_free(c);
}

static void invalid_objects_are_named_and_skipped(void **state)
{
	struct obj_cache *c = obj_cache_new();
	struct seen s = {{0}};
	struct herr err = {{0}};
	json_t *nameless = json_pack("{s:s,s:{}}", "kind", "Pod", "metadata");
	json_t *good = obj("Pod", "ns", "ok", "1");
	json_t *other = obj("Node", NULL, "n1", "1");

	assert_int_equal(obj_cache_upsert(c, nameless, record, &s, &err), -EINVAL);
	assert_string_equal(err.msg, "Pod: metadata.name: missing");
	json_t *fresh[] = {nameless, good, other};
	assert_int_equal(obj_cache_replace(c, "Pod/", fresh, 3, record, &s, &err), 2);
	assert_string_equal(err.msg, "Node//n1: does not belong under Pod/");
	assert_string_equal(s.log, "ADDED Pod/ns/ok@1;");
	json_decref(nameless);
	json_decref(good);
	json_decref(other);
	obj_cache_free(c);
}

/* A digest cache emits what the full cache emits; deletions carry only the
 * identity: kind, namespace and name. */
static void digest_cache_gives_the_same_events(void **state)
{
	struct obj_cache *c = obj_cache_new_digests();
	struct seen s = {{0}};
	json_t *a1 = obj("Pod", "ns", "a", "1"), *a2 = obj("Pod", "ns", "a", "2");
	json_t *a1_again = obj("Pod", "ns", "a", "1");
	json_t *n = obj("Node", NULL, "node-1", "3");

	assert_int_equal(obj_cache_upsert(c, a1, record, &s, NULL), 0);
	assert_int_equal(obj_cache_upsert(c, a1_again, record, &s, NULL), 0); /* equal content */
	/* Key order does not change the content. */
	json_t *reordered = json_pack("{s:{s:s,s:s,s:s},s:s}", "metadata", "resourceVersion", "2",
	                              "namespace", "ns", "name", "a", "kind", "Pod");
	assert_int_equal(obj_cache_upsert(c, a2, record, &s, NULL), 0);
	assert_int_equal(obj_cache_upsert(c, reordered, record, &s, NULL), 0);
	assert_null(obj_cache_get(c, "Pod/ns/a")); /* no objects kept */
	assert_int_equal(obj_cache_count(c), 1);
	assert_int_equal(obj_cache_upsert(c, n, record, &s, NULL), 0);
	assert_int_equal(obj_cache_delete(c, a1, record, &s, NULL), 0);
	assert_string_equal(s.log, "ADDED Pod/ns/a@1;MODIFIED Pod/ns/a@2;ADDED Node//node-1@3;"
	                           "DELETED Pod/ns/a@;");
	/* A relist without the Node deletes it. */
	s.log[0] = '\0';
	assert_int_equal(obj_cache_replace(c, "Node/", NULL, 0, record, &s, NULL), 0);
	assert_string_equal(s.log, "DELETED Node//node-1@;");
	/* A relist with a changed and an unchanged object. */
	obj_cache_upsert(c, a1, NULL, NULL, NULL);
	obj_cache_upsert(c, n, NULL, NULL, NULL);
	s.log[0] = '\0';
	json_t *fresh[] = {a2, n};
	assert_int_equal(obj_cache_replace(c, "", fresh, 2, record, &s, NULL), 0);
	assert_string_equal(s.log, "MODIFIED Pod/ns/a@2;");
	/* Two values swapped between members, deep in the tree, is a change. */
	json_t *x = obj("Pod", "ns", "x", "7"), *y = obj("Pod", "ns", "x", "7");
	json_object_set_new(json_object_get(x, "metadata"), "labels",
	                    json_pack("{s:s,s:s}", "a", "1", "b", "2"));
	json_object_set_new(json_object_get(y, "metadata"), "labels",
	                    json_pack("{s:s,s:s}", "a", "2", "b", "1"));
	s.log[0] = '\0';
	obj_cache_upsert(c, x, record, &s, NULL);
	obj_cache_upsert(c, y, record, &s, NULL);
	obj_cache_upsert(c, x, record, &s, NULL);
	assert_string_equal(s.log, "ADDED Pod/ns/x@7;MODIFIED Pod/ns/x@7;MODIFIED Pod/ns/x@7;");
	json_decref(x);
	json_decref(y);
	json_decref(a1);
	json_decref(a1_again);
	json_decref(a2);
	json_decref(reordered);
	json_decref(n);
	obj_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(upsert_and_delete_events),
	    cmocka_unit_test(relist_reports_gap_deletions_and_skips_unchanged),
	    cmocka_unit_test(invalid_objects_are_named_and_skipped),
	    cmocka_unit_test(digest_cache_gives_the_same_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
