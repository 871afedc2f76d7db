/* test_yaml_json.c - YAML streams become the JSON trees the decoders read. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "util/yaml_json.h"

/* Parse `text`, expect exactly one document, return it (owned). */
static json_t *parse_one(const char *text)
{
	struct yaml_docs d;
	struct herr err = {{0}};
	int rc = yaml_parse(text, strlen(text), &d, &err);

	if (rc != 0)
		fail_msg("unexpected error: %s", err.msg);
	assert_int_equal(d.n, 1);
	json_t *doc = json_incref(d.v[0]);
	yaml_docs_free(&d);
	return doc;
}

/* Parse `text`, expect failure, and that the message contains `want`. */
static void expect_error(const char *text, const char *want)
{
	struct yaml_docs d;
	struct herr err = {{0}};
	int rc = yaml_parse(text, strlen(text), &d, &err);

	assert_true(rc < 0);
	assert_int_equal(d.n, 0);
	assert_null(d.v);
	if (!strstr(err.msg, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err.msg, want);
}

static void test_plain_scalars_resolve(void **state)
{
	json_t *d = parse_one("n1: null\n"
	                      "n2: ~\n"
	                      "n3:\n"
	                      "n4: NULL\n"
	                      "t: true\n"
	                      "f: False\n"
	                      "i: 42\n"
	                      "neg: -17\n"
	                      "pos: +5\n"
	                      "oct: 0o17\n"
	                      "hex: 0x1F\n"
	                      "big: 9223372036854775807\n"
	                      "huge: 99999999999999999999\n"
	                      "fl: 1.5\n"
	                      "exp: 1e3\n"
	                      "dot: .5\n");

	assert_true(json_is_null(json_object_get(d, "n1")));
	assert_true(json_is_null(json_object_get(d, "n2")));
	assert_true(json_is_null(json_object_get(d, "n3")));
	assert_true(json_is_null(json_object_get(d, "n4")));
	assert_true(json_is_true(json_object_get(d, "t")));
	assert_true(json_is_false(json_object_get(d, "f")));
	assert_true(json_is_integer(json_object_get(d, "i")));
	assert_int_equal(json_integer_value(json_object_get(d, "i")), 42);
	assert_int_equal(json_integer_value(json_object_get(d, "neg")), -17);
	assert_int_equal(json_integer_value(json_object_get(d, "pos")), 5);
	assert_int_equal(json_integer_value(json_object_get(d, "oct")), 15);
	assert_int_equal(json_integer_value(json_object_get(d, "hex")), 31);
	assert_int_equal(json_integer_value(json_object_get(d, "big")), 9223372036854775807LL);
	/* Beyond 64 bits an integer becomes a real rather than wrapping. */
	assert_true(json_is_real(json_object_get(d, "huge")));
	assert_true(json_is_real(json_object_get(d, "fl")));
	assert_true(json_real_value(json_object_get(d, "fl")) == 1.5);
	assert_true(json_real_value(json_object_get(d, "exp")) == 1000.0);
	assert_true(json_real_value(json_object_get(d, "dot")) == 0.5);
	json_decref(d);
}

static void test_strings_stay_strings(void **state)
{
	json_t *d = parse_one("dur: 1m30s\n"
	                      "ip: 10.0.0.1\n"
	                      "v6: fd00::1\n"
	                      "community: 65000:100\n"
	                      "yes: yes\n"
	                      "q1: '42'\n"
	                      "q2: \"true\"\n"
	                      "q3: \"\"\n"
	                      "tagged: !!str 12\n"
	                      "inf: .inf\n"
	                      "ver: 1.2.3\n"
	                      "lit: |\n"
	                      "  line\n");
	static const struct {
		const char *key, *val;
	} want[] = {
	    {"dur", "1m30s"}, {"ip", "10.0.0.1"}, {"v6", "fd00::1"}, {"community", "65000:100"},
	    {"yes", "yes"},   {"q1", "42"},       {"q2", "true"},    {"q3", ""},
	    {"tagged", "12"}, {"inf", ".inf"},    {"ver", "1.2.3"},  {"lit", "line\n"},
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		json_t *v = json_object_get(d, want[i].key);
		if (!json_is_string(v))
			fail_msg("%s is not a string", want[i].key);
		assert_string_equal(json_string_value(v), want[i].val);
	}
	json_decref(d);
}

static void test_nested_structure(void **state)
{
	json_t *d = parse_one("apiVersion: projectcalico.org/v3\n"
	                      "kind: LiveMigration\n"
	                      "metadata:\n"
	                      "  name: lm1\n"
	                      "  labels: {a: b, c: '1'}\n"
	                      "spec:\n"
	                      "  list:\n"
	                      "  - 1\n"
	                      "  - [x, y]\n"
	                      "  - k: v\n");
	json_t *want =
	    json_loads("{\"apiVersion\":\"projectcalico.org/v3\",\"kind\":\"LiveMigration\","
	               "\"metadata\":{\"name\":\"lm1\",\"labels\":{\"a\":\"b\",\"c\":\"1\"}},"
	               "\"spec\":{\"list\":[1,[\"x\",\"y\"],{\"k\":\"v\"}]}}",
	               0, NULL);

	assert_non_null(want);
	assert_true(json_equal(d, want));
	json_decref(want);
	json_decref(d);
}

static void test_multi_document_stream(void **state)
{
	const char *text = "a: 1\n"
	                   "---\n"
	                   "---\n"
	                   "# only a comment\n"
	                   "---\n"
	                   "b: 2\n"
	                   "...\n"
	                   "---\n"
	                   "- 3\n";
	struct yaml_docs d;
	struct herr err = {{0}};

	assert_int_equal(yaml_parse(text, strlen(text), &d, &err), 0);
	/* Empty documents are skipped. */
	assert_int_equal(d.n, 3);
	assert_int_equal(json_integer_value(json_object_get(d.v[0], "a")), 1);
	assert_int_equal(json_integer_value(json_object_get(d.v[1], "b")), 2);
	assert_true(json_is_array(d.v[2]));
	assert_int_equal(json_integer_value(json_array_get(d.v[2], 0)), 3);
	yaml_docs_free(&d);
	assert_int_equal(d.n, 0);

	assert_int_equal(yaml_parse("", 0, &d, &err), 0);
	assert_int_equal(d.n, 0);
	yaml_docs_free(&d);
	assert_int_equal(yaml_parse(NULL, 0, &d, &err), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(yaml_parse("# nothing\n---\n~\n", 16, &d, &err), 0);
	assert_int_equal(d.n, 0);
}

static void test_anchors_and_aliases(void **state)
{
	json_t *d = parse_one("base: &b\n"
	                      "  prio: 512\n"
	                      "  name: x\n"
	                      "copy: *b\n"
	                      "s: &s hello\n"
	                      "t: *s\n"
	                      "list: [*s, *b]\n");

	assert_true(json_equal(json_object_get(d, "base"), json_object_get(d, "copy")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(d, "copy"), "prio")),
	                 512);
	assert_string_equal(json_string_value(json_object_get(d, "t")), "hello");
	assert_string_equal(json_string_value(json_array_get(json_object_get(d, "list"), 0)),
	                    "hello");
	json_decref(d);

	/* An alias inside its own anchor is unknown at that point: no cycle. */
	expect_error("a: &x\n  b: *x\n", "line 2, column 6: unknown alias \"*x\"");
	/* Anchors do not cross documents. */
	expect_error("a: &x 1\n---\nb: *x\n", "line 3, column 4: unknown alias");
}

static void test_alias_bomb_is_bounded(void **state)
{
	/* Each level doubles: 2^30 nodes if expanded. */
	char text[4096];
	int off = snprintf(text, sizeof(text), "l0: &l0 [x, x]\n");

	for (int i = 1; i <= 30; i++)
		off += snprintf(text + off, sizeof(text) - off, "l%d: &l%d [*l%d, *l%d]\n", i, i,
		                i - 1, i - 1);
	expect_error(text, "expands to more than");
}

/* A hundred thousand anchors and aliases naming the first: every lookup once
 * scanned all anchors (36 s here); with a hash it is linear in the text.
 * SIGALRM fails the test rather than letting it hang. The figure is printed. */
static void test_many_anchors_parse_in_linear_time(void **state)
{
	enum { N = 100000 };
	size_t cap = (size_t)N * 40, off = 0;
	char *text = malloc(cap);
	struct yaml_docs d = {0};
	struct herr err = {{0}};
	struct timespec t0, t1;

	off += (size_t)snprintf(text + off, cap - off, "a:\n");
	for (int i = 0; i < N; i++)
		off += (size_t)snprintf(text + off, cap - off, "- &a%d %d\n", i, i);
	off += (size_t)snprintf(text + off, cap - off, "b:\n");
	for (int i = 0; i < N; i++)
		off += (size_t)snprintf(text + off, cap - off, "- *a%d\n", i == N - 1 ? i : 0);
	alarm(10);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = yaml_parse(text, off, &d, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	alarm(0);
	assert_int_equal(rc, 0);
	printf("# %d anchors + %d aliases: %.3f s\n", N, N,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	json_t *b = json_object_get(d.v[0], "b");
	assert_int_equal(json_array_size(b), N);
	assert_int_equal(json_integer_value(json_array_get(b, 7)), 0);
	assert_int_equal(json_integer_value(json_array_get(b, N - 1)), N - 1);
	/* A redefined anchor shadows the earlier one. */
	json_t *r = parse_one("a: &x 1\nb: &x 2\nc: *x\n");
	assert_int_equal(json_integer_value(json_object_get(r, "c")), 2);
	json_decref(r);
	yaml_docs_free(&d);
	free(text);
}

static void test_keys(void **state)
{
	json_t *d = parse_one("1: one\n"
	                      "true: yes\n"
	                      "0x10: hex\n"
	                      "\"quoted key\": q\n");

	assert_string_equal(json_string_value(json_object_get(d, "1")), "one");
	assert_string_equal(json_string_value(json_object_get(d, "true")), "yes");
	/* A key keeps its spelling. */
	assert_string_equal(json_string_value(json_object_get(d, "0x10")), "hex");
	assert_string_equal(json_string_value(json_object_get(d, "quoted key")), "q");
	json_decref(d);

	expect_error("metadata:\n  name: a\n  labels: {}\n  name: b\n",
	             "line 4, column 3: duplicate mapping key \"name\"");
	expect_error("? [a, b]\n: c\n", "line 1, column 3: a mapping key must be a scalar");
	expect_error("\"a\\0b\": 1\n", "line 1, column 1: a mapping key must not contain NUL");

	/* A NUL inside a string value is kept, with the string's full length. */
	d = parse_one("v: \"a\\0b\"\n");
	assert_int_equal(json_string_length(json_object_get(d, "v")), 3);
	json_decref(d);
}

static void test_syntax_errors_have_positions(void **state)
{
	expect_error("a: 1\nb: [1, 2\n", "line 3, column 1");
	expect_error("a:\n  b: 1\n c: 2\n", "line 3, column 2: did not find expected key");
	expect_error("key: \"unterminated\n", "line 2, column 1");
	expect_error("a: *nothing\n", "line 1, column 4: unknown alias \"*nothing\"");
	expect_error("\t- a\n", "line 1, column 1");
}

static void test_depth_is_bounded(void **state)
{
	static char text[2000];

	memset(text, '[', 600);
	memset(text + 600, ']', 600);
	text[1200] = '\0';
	expect_error(text, "nesting deeper than");
}

static void test_parse_file(void **state)
{
	char path[] = "/tmp/handoff-yaml-XXXXXX";
	int fd = mkstemp(path);
	const char *body = "kind: FelixConfiguration\n---\nkind: Pod\n";
	struct yaml_docs d;
	struct herr err = {{0}};

	assert_true(fd >= 0);
	assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	close(fd);
	assert_int_equal(yaml_parse_file(path, &d, &err), 0);
	assert_int_equal(d.n, 2);
	assert_string_equal(json_string_value(json_object_get(d.v[1], "kind")), "Pod");
	yaml_docs_free(&d);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "a: [\n", 5), 5);
	close(fd);
	assert_int_equal(yaml_parse_file(path, &d, &err), -EINVAL);
	assert_true(strncmp(err.msg, path, strlen(path)) == 0);
	assert_non_null(strstr(err.msg, ": line 2, column 1"));
	unlink(path);

	assert_int_equal(yaml_parse_file(path, &d, &err), -ENOENT);
	assert_true(strncmp(err.msg, path, strlen(path)) == 0);
	assert_int_equal(d.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_scalars_resolve),
	    cmocka_unit_test(test_strings_stay_strings),
	    cmocka_unit_test(test_nested_structure),
	    cmocka_unit_test(test_multi_document_stream),
	    cmocka_unit_test(test_anchors_and_aliases),
	    cmocka_unit_test(test_alias_bomb_is_bounded),
	    cmocka_unit_test(test_many_anchors_parse_in_linear_time),
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_syntax_errors_have_positions),
	    cmocka_unit_test(test_depth_is_bounded),
	    cmocka_unit_test(test_parse_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
