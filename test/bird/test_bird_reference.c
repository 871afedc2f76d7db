/* test_bird_reference.c - the reference implementation's five golden cases
 * (test/bird/reference/<case>/, copied from Calico confd's tests): render
 * kube-master's bird.cfg and bird6.cfg from input.yaml and compare
 *  - the BGP Filters section, exactly (after dropping whitespace-only lines
 *    and trailing blanks, as the reference harness compares);
 *  - the peer section, after the two deliberate differences are mapped back:
 *    handoff's export policy function is handoff_export_to_bgp_peers() where
 *    the reference calls calico_export_to_bgp_peers(<bool>), and an eBGP
 *    peer's import block starts by setting LOCAL_PREF (bird-notes);
 * and run BIRD 1.6's parser (`bird -p`, `bird6 -p`) on every rendered file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "bird/model.h"
#include "bird/render.h"
#include "util/yaml_json.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		fail_msg("cannot open %s", path);
	FILE *m = open_memstream(&buf, &len);
	int c;
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(f);
	fclose(m);
	return buf;
}

/* Lines from the one starting with `from` up to (not including) the one
 * starting with `to` (or the end), whitespace-only lines dropped, trailing
 * blanks removed, each ending in "\n". */
static char *section(const char *text, const char *from, const char *to)
{
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	const char *p = strstr(text, from);

	assert_non_null(p);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (to && !strncmp(p, to, strlen(to)))
			break;
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
			n--;
		size_t lead = strspn(p, " \t");
		if (lead < n)
			fprintf(m, "%.*s\n", (int)n, p);
		p = nl ? nl + 1 : p + strlen(p);
	}
	fclose(m);
	return out;
}

/* In place: the reference's export-policy calls become handoff's. */
static void map_reference(char *s)
{
	static const char *const calls[] = {"calico_export_to_bgp_peers(true);",
	                                    "calico_export_to_bgp_peers(false);"};
	for (int i = 0; i < 2; i++) {
		char *p;
		while ((p = strstr(s, calls[i]))) {
			const char *to = "handoff_export_to_bgp_peers();";
			size_t fl = strlen(calls[i]), tl = strlen(to);
			memcpy(p, to, tl);
			memmove(p + tl, p + fl, strlen(p + fl) + 1);
		}
	}
}

/* In place: drop every line containing `needle`. */
static void drop_lines(char *s, const char *needle)
{
	char *p;
	while ((p = strstr(s, needle))) {
		char *bol = p;
		while (bol > s && bol[-1] != '\n')
			bol--;
		char *eol = strchr(p, '\n');
		eol = eol ? eol + 1 : p + strlen(p);
		memmove(bol, eol, strlen(eol) + 1);
	}
}

static void assert_bird_parses(const char *text, enum bgp_family family, const char *what)
{
	char path[] = "/tmp/handoff-test-bird-ref-XXXXXX";
	char cmd[256];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s -p -c %s", family == BGP_V4 ? "bird" : "bird6", path);
	int rc = system(cmd);
	unlink(path);
	if (rc != 0)
		fail_msg("%s: `%s` failed (%d) on:\n%s", what, cmd, rc, text);
}

static void assert_same(const char *what, const char *got, const char *want)
{
	if (strcmp(got, want))
		fail_msg("%s differs.\n--- rendered:\n%s\n--- reference:\n%s", what, got, want);
}

static void run_case(const char *name)
{
	const char *src = getenv("HANDOFF_SOURCE_DIR");
	char path[1024];
	struct yaml_docs docs = {0};
	struct bgp_resources set = {0};
	struct bird_input in;
	struct herr err = {{0}};

	assert_non_null(src);
	snprintf(path, sizeof(path), "%s/test/bird/reference/%s/input.yaml", src, name);
	if (yaml_parse_file(path, &docs, &err) < 0)
		fail_msg("%s", err.msg);
	for (size_t i = 0; i < docs.n; i++)
		if (bgp_resources_add(&set, docs.v[i], &err) < 0)
			fail_msg("%s: %s", name, err.msg);
	yaml_docs_free(&docs);
	if (bird_input_build(&set, "kube-master", &in, &err) < 0)
		fail_msg("%s: %s", name, err.msg);

	for (int f = 0; f < 2; f++) {
		char *text, *ref, what[128];

		assert_int_equal(bird_render(&in, (enum bgp_family)f, &text, &err), 0);
		snprintf(path, sizeof(path), "%s/test/bird/reference/%s/%s", src, name,
		         f == BGP_V4 ? "bird.cfg" : "bird6.cfg");
		ref = slurp(path);

		char *gf =
		    section(text, "# -------------- BGP Filters", "# BGP Protocol Configurations");
		char *rf =
		    section(ref, "# -------------- BGP Filters", "# BGP Protocol Configurations");
		snprintf(what, sizeof(what), "%s %s BGP Filters section", name,
		         f == BGP_V4 ? "bird.cfg" : "bird6.cfg");
		assert_same(what, gf, rf);

		char *gp = section(text, "# BGP Protocol Configurations", NULL);
		char *rp = section(ref, "# BGP Protocol Configurations", NULL);
		map_reference(rp);
		drop_lines(gp, "bgp_local_pref = 2147482623;  # eBGP:");
		snprintf(what, sizeof(what), "%s %s peers", name,
		         f == BGP_V4 ? "bird.cfg" : "bird6.cfg");
		assert_same(what, gp, rp);

		snprintf(what, sizeof(what), "%s %s", name, f == BGP_V4 ? "bird.cfg" : "bird6.cfg");
		assert_bird_parses(text, (enum bgp_family)f, what);
		free(gf);
		free(rf);
		free(gp);
		free(rp);
		free(ref);
		free(text);
	}
	bird_input_free(&in);
	bgp_resources_free(&set);
}

static void test_communities_and_operations(void **state)
{
	run_case("communities_and_operations");
}
static void test_filter_names(void **state)
{
	run_case("filter_names");
}
static void test_kubevirt_live_migration(void **state)
{
	run_case("kubevirt_live_migration");
}
static void test_match_operators(void **state)
{
	run_case("match_operators");
}
static void test_peer_type(void **state)
{
	run_case("peer_type");
}

/* The comparison itself must notice a difference (a test that cannot fail
 * proves nothing): one changed character in a function line. */
static void test_comparison_sees_changes(void **state)
{
	const char *a = "x\n# -------------- BGP Filters --\n  if ((net ~ 1.0.0.0/8)) then "
	                "{ accept; }  \n\n# BGP Protocol Configurations\n";
	const char *b = "x\n# -------------- BGP Filters --\n\n  if ((net ~ 1.0.0.0/8)) then "
	                "{ accept; }\n# BGP Protocol Configurations\n";
	const char *c = "x\n# -------------- BGP Filters --\n  if ((net ~ 1.0.0.0/8)) then "
	                "{ reject; }\n# BGP Protocol Configurations\n";
	char *sa = section(a, "# -------------- BGP Filters", "# BGP Protocol Configurations");
	char *sb = section(b, "# -------------- BGP Filters", "# BGP Protocol Configurations");
	char *sc = section(c, "# -------------- BGP Filters", "# BGP Protocol Configurations");

	assert_string_equal(sa, sb);
	assert_string_not_equal(sa, sc);
	free(sa);
	free(sb);
	free(sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_communities_and_operations),
	    cmocka_unit_test(test_filter_names),
	    cmocka_unit_test(test_kubevirt_live_migration),
	    cmocka_unit_test(test_match_operators),
	    cmocka_unit_test(test_peer_type),
	    cmocka_unit_test(test_comparison_sees_changes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
