/* test_selector.c - the Calico selector language: every operator both ways,
 * absent labels, precedence, quoting, the KubeVirt target selector, and the
 * exact column and expectation of parse errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/selector.h"

/* Build a label set from "key", "value", ..., NULL. */
static struct labels make_labels(const char *key, ...)
{
	struct labels l = {0};
	va_list ap;

	va_start(ap, key);
	for (const char *k = key; k; k = va_arg(ap, const char *)) {
		const char *v = va_arg(ap, const char *);
		assert_int_equal(labels_set(&l, k, v), 0);
	}
	va_end(ap);
	return l;
}

/* Parse `text` (which must be valid) and match it against `l`. */
static bool matches(const char *text, const struct labels *l)
{
	struct selector *s = NULL;
	struct herr err = {{0}};
	int rc = selector_parse(text, &s, &err);

	if (rc != 0)
		fail_msg("selector_parse(\"%s\") failed: %s", text, err.msg);
	assert_non_null(s);
	bool m = selector_match(s, l);
	selector_free(s);
	return m;
}

/* Parse `text`, which must fail with -EINVAL and exactly `msg`. */
static void assert_parse_error(const char *text, const char *msg)
{
	struct selector *s = (struct selector *)&s; /* must be reset to NULL */
	struct herr err = {{0}};

	assert_int_equal(selector_parse(text, &s, &err), -EINVAL);
	assert_null(s);
	if (strcmp(err.msg, msg))
		fail_msg("selector \"%s\"\n  message:  %s\n  expected: %s", text, err.msg, msg);
}

static void test_equal(void **state)
{
	struct labels l = make_labels("app", "web", NULL);

	assert_true(matches("app == 'web'", &l));
	assert_false(matches("app == 'db'", &l));
	assert_false(matches("app == 'we'", &l));   /* whole value, not a prefix */
	assert_false(matches("tier == 'web'", &l)); /* absent */
	labels_free(&l);
}

static void test_not_equal_and_absent(void **state)
{
	struct labels l = make_labels("app", "web", NULL);

	assert_true(matches("app != 'db'", &l));
	assert_false(matches("app != 'web'", &l));
	/* Calico: != is true when the label is absent. */
	assert_true(matches("tier != 'web'", &l));
	labels_free(&l);
}

static void test_in_and_not_in(void **state)
{
	struct labels l = make_labels("app", "web", NULL);

	assert_true(matches("app in {'db', 'web'}", &l));
	assert_false(matches("app in {'db', 'cache'}", &l));
	assert_false(matches("tier in {'web'}", &l)); /* absent */
	assert_false(matches("app in {}", &l));

	assert_true(matches("app not in {'db', 'cache'}", &l));
	assert_false(matches("app not in {'db', 'web'}", &l));
	/* Calico: not in is true when the label is absent. */
	assert_true(matches("tier not in {'web'}", &l));
	assert_true(matches("app not in {}", &l));
	labels_free(&l);
}

static void test_has_all_not(void **state)
{
	struct labels l = make_labels("app", "web", NULL);
	struct labels none = {0};

	assert_true(matches("has(app)", &l));
	assert_false(matches("has(tier)", &l));
	assert_true(matches("!has(tier)", &l));
	assert_false(matches("!has(app)", &l));
	assert_true(matches("all()", &l));
	assert_true(matches("all()", &none));
	assert_false(matches("!all()", &none));
	assert_true(matches("!!has(app)", &l));
	/* ! applies to the whole test that follows it. */
	assert_false(matches("!app == 'web'", &l));
	assert_true(matches("!app == 'db'", &l));
	/* Spaces inside has( ) and all( ) are free, too. */
	assert_true(matches("has( app )", &l));
	assert_true(matches("all( )", &l));
	labels_free(&l);
}

static void test_string_operators(void **state)
{
	struct labels l = make_labels("image", "registry.local/virt-launcher:v1", NULL);

	assert_true(matches("image contains 'virt-launcher'", &l));
	assert_false(matches("image contains 'handler'", &l));
	assert_true(matches("image starts with 'registry.local/'", &l));
	assert_false(matches("image starts with 'virt'", &l));
	assert_true(matches("image ends with ':v1'", &l));
	assert_false(matches("image ends with ':v2'", &l));
	assert_false(matches("image ends with 'a-longer-suffix-than-the-whole-value:v1'", &l));
	/* Absent label: none of them holds. */
	assert_false(matches("tag contains ''", &l));
	assert_false(matches("tag starts with ''", &l));
	assert_false(matches("tag ends with ''", &l));
	/* The empty string is contained in, starts and ends every value. */
	assert_true(matches("image contains ''", &l));
	labels_free(&l);
}

static void test_precedence(void **state)
{
	struct labels a_only = make_labels("a", "1", NULL);
	struct labels b_only = make_labels("b", "2", NULL);

	/* && binds tighter: a || (b && c). */
	assert_true(matches("a == '1' || b == '2' && c == '3'", &a_only));
	assert_false(matches("a == '1' || b == '2' && c == '3'", &b_only));
	assert_true(matches("b == '2' && c == '3' || a == '1'", &a_only));
	/* Parentheses override it. */
	assert_false(matches("(a == '1' || b == '2') && c == '3'", &a_only));
	assert_true(matches("(a == '1' || b == '2') && !has(c)", &b_only));
	/* ! binds tighter than &&. */
	assert_true(matches("!has(b) && a == '1'", &a_only));
	assert_false(matches("!(has(b) || a == '1')", &a_only));
	labels_free(&a_only);
	labels_free(&b_only);
}

static void test_quoting_and_whitespace(void **state)
{
	struct labels l =
	    make_labels("a", "1", "note", "it's \"fine\"", "pad", " x ", "empty", "", NULL);

	assert_true(matches("a == \"1\"", &l));
	assert_true(matches("a in {\"0\", '1'}", &l));
	/* No escapes: the other quote character is ordinary inside a string. */
	assert_true(matches("note == 'it' || note contains \"it's\"", &l));
	assert_true(matches("note ends with '\"fine\"'", &l));
	/* Spaces inside a string are part of the value. */
	assert_true(matches("pad == ' x '", &l));
	assert_false(matches("pad == 'x'", &l));
	/* An empty value is a value: == '' is not the same as absent. */
	assert_true(matches("empty == ''", &l));
	assert_false(matches("missing == ''", &l));
	/* Whitespace between tokens is free, including none at all. */
	assert_true(matches("a=='1'&&has(pad)", &l));
	assert_true(matches("\t( a == '1' )\n&&\r\nhas( note )  ", &l));
	assert_true(matches("a in{'1'}", &l));
	labels_free(&l);
}

static void test_prefixed_keys(void **state)
{
	struct labels l = make_labels("example.com/tier_1-a", "db", "x.y/z", "1", NULL);

	assert_true(matches("example.com/tier_1-a == 'db'", &l));
	assert_true(matches("has(x.y/z) && !has(x.y)", &l));
	labels_free(&l);
}

/* The selector a KubeVirt VirtualMachineInstanceMigration yields
 * (calico-semantics A.3): it must pick the target pod, not the source. */
static const char kubevirt_selector[] =
    "(vmi.kubevirt.io/id == 'my-vmi' || vm.kubevirt.io/name == 'my-vmi') && "
    "kubevirt.io/migrationJobUID == 'uid-123'";

static void test_kubevirt_target_selector(void **state)
{
	struct labels target = make_labels("kubevirt.io", "virt-launcher", "vm.kubevirt.io/name",
	                                   "my-vmi", "vmi.kubevirt.io/id", "my-vmi",
	                                   "kubevirt.io/migrationJobUID", "uid-123", NULL);
	/* The source pod of the same VM: created by an earlier migration. */
	struct labels source = make_labels("kubevirt.io", "virt-launcher", "vm.kubevirt.io/name",
	                                   "my-vmi", "vmi.kubevirt.io/id", "my-vmi",
	                                   "kubevirt.io/migrationJobUID", "uid-099", NULL);
	/* A first-ever launcher pod carries no migration uid at all. */
	struct labels first =
	    make_labels("kubevirt.io", "virt-launcher", "vmi.kubevirt.io/id", "my-vmi", NULL);
	/* A VMI not owned by a VM has only the vmi id label; a VM's the name. */
	struct labels vm_only = make_labels("vm.kubevirt.io/name", "my-vmi",
	                                    "kubevirt.io/migrationJobUID", "uid-123", NULL);
	struct labels other = make_labels("vmi.kubevirt.io/id", "other-vmi",
	                                  "kubevirt.io/migrationJobUID", "uid-123", NULL);

	assert_true(matches(kubevirt_selector, &target));
	assert_false(matches(kubevirt_selector, &source));
	assert_false(matches(kubevirt_selector, &first));
	assert_true(matches(kubevirt_selector, &vm_only));
	assert_false(matches(kubevirt_selector, &other));
	labels_free(&target);
	labels_free(&source);
	labels_free(&first);
	labels_free(&vm_only);
	labels_free(&other);
}

/* && and || chains are flat: a long chain is not a deep tree. */
static void test_long_chain(void **state)
{
	struct labels l = make_labels("k", "v", NULL);
	const char term[] = "k == 'v' && ";
	size_t n = 2000, len = n * (sizeof(term) - 1) + 64;
	char *text = malloc(len);

	assert_non_null(text);
	text[0] = '\0';
	for (size_t i = 0; i < n; i++)
		strcat(text, term);
	strcat(text, "has(k)");
	assert_true(matches(text, &l));
	strcat(text, " && k == 'w'");
	assert_false(matches(text, &l));
	free(text);
	labels_free(&l);
}

static void test_error_empty(void **state)
{
	assert_parse_error("", "column 1: expected a selector expression, found end of input "
	                       "(the selector is empty)");
	assert_parse_error(" \t\n", "column 1: expected a selector expression, found end of "
	                            "input (the selector is empty)");
}

static void test_error_unterminated_string(void **state)
{
	assert_parse_error("app == 'web", "column 8: expected ' to close the string, found end "
	                                  "of input");
	assert_parse_error("app in {'a', \"b}", "column 14: expected \" to close the string, "
	                                        "found end of input");
}

static void test_error_missing_operand(void **state)
{
	assert_parse_error("app == 'web' &&", "column 16: expected a label key, has(), all(), "
	                                      "'!' or '(', found end of input");
	assert_parse_error("app ==", "column 7: expected a quoted string, found end of input");
	assert_parse_error("app == web", "column 8: expected a quoted string, found \"web\"");
	assert_parse_error("== 'web'", "column 1: expected a label key, has(), all(), '!' or "
	                               "'(', found '=='");
	assert_parse_error("app || tier == 'db'",
	                   "column 5: expected an operator (==, !=, in, not in, contains, "
	                   "starts with, ends with), found '||'");
	assert_parse_error("app = 'web'", "column 5: expected an operator (==, !=, in, not in, "
	                                  "contains, starts with, ends with), found '='");
	assert_parse_error("app not 'web'", "column 9: expected 'in', found string 'web'");
	assert_parse_error("app starts 'w'", "column 12: expected 'with', found string 'w'");
	assert_parse_error("app & tier", "column 5: expected an operator (==, !=, in, not in, "
	                                 "contains, starts with, ends with), found '&'");
	assert_parse_error("has()", "column 5: expected a label key, found ')'");
	assert_parse_error("!", "column 2: expected a label key, has(), all(), '!' or '(', found "
	                        "end of input");
}

static void test_error_unclosed_set(void **state)
{
	assert_parse_error("app in {", "column 9: expected a quoted string or '}', found end of "
	                               "input");
	assert_parse_error("app in {'a', 'b'", "column 17: expected ',' or '}', found end of "
	                                       "input");
	assert_parse_error("app in {'a',}", "column 13: expected a quoted string, found '}'");
	assert_parse_error("app in 'a'", "column 8: expected '{', found string 'a'");
}

static void test_error_parentheses(void **state)
{
	assert_parse_error("app == 'web')", "column 13: expected '&&', '||' or end of input, "
	                                    "found ')'");
	assert_parse_error(")", "column 1: expected a label key, has(), all(), '!' or '(', found "
	                        "')'");
	assert_parse_error("(app == 'web'", "column 14: expected ')', found end of input");
	assert_parse_error("has(app", "column 8: expected ')', found end of input");
	assert_parse_error("all(x)", "column 5: expected ')', found \"x\"");
}

static void test_error_trailing_garbage(void **state)
{
	assert_parse_error("app == 'web' tier == 'db'", "column 14: expected '&&', '||' or end "
	                                                "of input, found \"tier\"");
	assert_parse_error("app == 'web' @", "column 14: expected '&&', '||' or end of input, "
	                                     "found '@'");
	assert_parse_error("app == 'web' \x01", "column 14: expected '&&', '||' or end of "
	                                        "input, found byte 0x01");
	assert_parse_error("all() 'x'", "column 7: expected '&&', '||' or end of input, found "
	                                "string 'x'");
	/* A long token is quoted only in part. */
	assert_parse_error("app == 'web' abcdefghijklmnopqrstuvwxyz0123456789",
	                   "column 14: expected '&&', '||' or end of input, found "
	                   "\"abcdefghijklmnopqrstuvwxyz012345...\"");
}

/* Build `n` copies of `open`, then `middle`, then `n` copies of `close`. */
static char *nest(const char *open, size_t n, const char *middle, const char *close)
{
	char *s = malloc(n * (strlen(open) + strlen(close)) + strlen(middle) + 1);

	assert_non_null(s);
	s[0] = '\0';
	for (size_t i = 0; i < n; i++)
		strcat(s, open);
	strcat(s, middle);
	for (size_t i = 0; i < n; i++)
		strcat(s, close);
	return s;
}

static void test_depth_limit(void **state)
{
	struct labels l = make_labels("k", "v", NULL);
	char *ok = nest("(", 64, "k == 'v'", ")");
	char *deep = nest("(", 65, "k == 'v'", ")");
	char *nots = nest("!", 64, "has(k)", "");
	char *too_many_nots = nest("!", 65, "has(k)", "");
	char *mixed = nest("!(", 33, "has(k)", ")");

	assert_true(matches(ok, &l));
	assert_parse_error(deep, "column 65: expected at most 64 nested '(' and '!', found '('");
	assert_true(matches(nots, &l)); /* an even number of ! */
	assert_parse_error(too_many_nots, "column 65: expected at most 64 nested '(' and '!', "
	                                  "found '!'");
	assert_parse_error(mixed, "column 65: expected at most 64 nested '(' and '!', found '!'");
	/* Depth is nesting, not count: many sibling groups are fine. */
	char *siblings = nest("(k == 'v') && ", 500, "all()", "");
	assert_true(matches(siblings, &l));
	free(ok);
	free(deep);
	free(nots);
	free(too_many_nots);
	free(mixed);
	free(siblings);
	labels_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_equal),
	    cmocka_unit_test(test_not_equal_and_absent),
	    cmocka_unit_test(test_in_and_not_in),
	    cmocka_unit_test(test_has_all_not),
	    cmocka_unit_test(test_string_operators),
	    cmocka_unit_test(test_precedence),
	    cmocka_unit_test(test_quoting_and_whitespace),
	    cmocka_unit_test(test_prefixed_keys),
	    cmocka_unit_test(test_kubevirt_target_selector),
	    cmocka_unit_test(test_long_chain),
	    cmocka_unit_test(test_error_empty),
	    cmocka_unit_test(test_error_unterminated_string),
	    cmocka_unit_test(test_error_missing_operand),
	    cmocka_unit_test(test_error_unclosed_set),
	    cmocka_unit_test(test_error_parentheses),
	    cmocka_unit_test(test_error_trailing_garbage),
	    cmocka_unit_test(test_depth_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
