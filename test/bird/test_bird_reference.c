/* test_bird_reference.c - the reference implementation's confd golden cases
 * (test/bird/reference/<case>/, copied from Calico confd's tests; README.md
 * there lists them): render kube-master's bird.cfg and bird6.cfg from
 * input.yaml (for node `kube-master`, or the one the case's `node` file names)
 * and compare
 *  - the BGP Filters section, exactly (after dropping whitespace-only lines
 *    and trailing blanks, as the reference harness compares);
 *  - every `protocol bgp` block, by name: the same set of blocks, each
 *    identical line for line after the two deliberate differences are mapped
 *    back: handoff's export policy function is handoff_export_to_bgp_peers()
 *    where the reference calls calico_export_to_bgp_peers(<bool>), and an
 *    eBGP peer's import block starts by setting LOCAL_PREF (bird-notes);
 * and run BIRD 1.6's parser (`bird -p`, `bird6 -p`) on every rendered file.
 * Prints "N of M blocks match" over all cases; any mismatch fails. */
#include <dirent.h>
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

/* The `protocol bgp NAME from ...` blocks of a section, in order. */
struct blocks {
	char *name[256];
	char *text[256];
	size_t n;
};

static void split_blocks(const char *s, struct blocks *b)
{
	const char *p = s;

	b->n = 0;
	while ((p = strstr(p, "protocol bgp "))) {
		if (p != s && p[-1] != '\n') {
			p++;
			continue;
		}
		const char *name = p + strlen("protocol bgp ");
		const char *sp = strchr(name, ' ');
		const char *end = strstr(p, "\n}\n");
		assert_non_null(sp);
		assert_non_null(end);
		assert_true(b->n < 256);
		b->name[b->n] = strndup(name, (size_t)(sp - name));
		b->text[b->n] = strndup(p, (size_t)(end + 3 - p));
		b->n++;
		p = end + 3;
	}
}

static void free_blocks(struct blocks *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->name[i]);
		free(b->text[i]);
	}
	b->n = 0;
}

/* counts[0] += blocks that match, counts[1] += reference blocks, counts[2]
 * += problems (a mismatching, missing or extra block), each printed. */
static void compare_blocks(const char *what, const char *got, const char *want, size_t counts[3])
{
	struct blocks g, w;

	split_blocks(got, &g);
	split_blocks(want, &w);
	for (size_t i = 0; i < w.n; i++) {
		size_t j = 0;
		counts[1]++;
		while (j < g.n && strcmp(g.name[j], w.name[i]))
			j++;
		if (j == g.n) {
			counts[2]++;
			print_message("%s: block %s missing; the reference has:\n%s\n", what,
			              w.name[i], w.text[i]);
		} else if (strcmp(g.text[j], w.text[i])) {
			counts[2]++;
			print_message(
			    "%s: block %s differs.\n--- rendered:\n%s\n--- reference:\n%s\n", what,
			    w.name[i], g.text[j], w.text[i]);
		} else {
			counts[0]++;
		}
	}
	for (size_t j = 0; j < g.n; j++) {
		size_t i = 0;
		while (i < w.n && strcmp(g.name[j], w.name[i]))
			i++;
		if (i == w.n) {
			counts[2]++;
			print_message("%s: block %s rendered, not in the reference:\n%s\n", what,
			              g.name[j], g.text[j]);
		}
	}
	/* Neither side may hide a block outside `protocol bgp` lines. */
	if (!w.n && strcmp(got, want)) {
		counts[2]++;
		print_message("%s: peer section differs.\n--- rendered:\n%s\n--- reference:\n%s\n",
		              what, got, want);
	}
	free_blocks(&g);
	free_blocks(&w);
}

/* The peer section starts with one of two lines. */
static const char *peers_heading(const char *text)
{
	return strstr(text, "\n# BGP Protocol Configurations") ? "# BGP Protocol Configurations"
	                                                       : "# No BGP peers configured";
}

static void run_case(const char *name, size_t counts[3])
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
	/* The node rendered for: kube-master, or what the case's `node` file says. */
	char node[64] = "kube-master";
	snprintf(path, sizeof(path), "%s/test/bird/reference/%s/node", src, name);
	FILE *nf = fopen(path, "r");
	if (nf) {
		assert_non_null(fgets(node, sizeof(node), nf));
		node[strcspn(node, "\n")] = '\0';
		fclose(nf);
	}
	if (bird_input_build(&set, node, &in, &err) < 0)
		fail_msg("%s: %s", name, err.msg);

	for (int f = 0; f < 2; f++) {
		char *text, *ref, what[128];

		assert_int_equal(bird_render(&in, (enum bgp_family)f, &text, &err), 0);
		snprintf(path, sizeof(path), "%s/test/bird/reference/%s/%s", src, name,
		         f == BGP_V4 ? "bird.cfg" : "bird6.cfg");
		ref = slurp(path);

		if (!strstr(ref, "# -------------- BGP Filters")) {
			/* The family is off on this node: nothing from the BGP
			 * template on, in both. */
			static const char *const off[] = {"# IPv4 disabled on this node.",
			                                  "# IPv6 disabled on this node."};
			if (!strstr(ref, off[f]) || !strstr(text, off[f]) ||
			    strstr(text, "protocol bgp "))
				fail_msg("%s %s: the reference has the family off", name,
				         f == BGP_V4 ? "bird.cfg" : "bird6.cfg");
			assert_bird_parses(text, (enum bgp_family)f, name);
			free(ref);
			free(text);
			continue;
		}
		char *gf = section(text, "# -------------- BGP Filters", peers_heading(text));
		char *rf = section(ref, "# -------------- BGP Filters", peers_heading(ref));
		snprintf(what, sizeof(what), "%s %s BGP Filters section", name,
		         f == BGP_V4 ? "bird.cfg" : "bird6.cfg");
		assert_same(what, gf, rf);

		char *gp = section(text, peers_heading(text), NULL);
		char *rp = section(ref, peers_heading(ref), NULL);
		map_reference(rp);
		drop_lines(gp, "bgp_local_pref = 2147482623;  # eBGP:");
		snprintf(what, sizeof(what), "%s %s", name, f == BGP_V4 ? "bird.cfg" : "bird6.cfg");
		compare_blocks(what, gp, rp, counts);

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

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every case directory under test/bird/reference/. */
static void test_reference_cases(void **state)
{
	const char *src = getenv("HANDOFF_SOURCE_DIR");
	char path[1024], *names[512];
	size_t n = 0, counts[3] = {0, 0, 0};
	struct dirent *e;
	DIR *d;

	(void)state;
	assert_non_null(src);
	snprintf(path, sizeof(path), "%s/test/bird/reference", src);
	assert_non_null(d = opendir(path));
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && e->d_type == DT_DIR && n < 512)
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	assert_true(n >= 50);
	for (size_t i = 0; i < n; i++) {
		run_case(names[i], counts);
		free(names[i]);
	}
	print_message("%zu cases: %zu of %zu blocks match\n", n, counts[0], counts[1]);
	assert_int_equal(counts[2], 0);
	assert_int_equal(counts[0], counts[1]);
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

/* The block comparison notices a changed line, a missing and an extra block. */
static void test_block_comparison_sees_changes(void **state)
{
	const char *a = "protocol bgp A from t {\n  x;\n}\nprotocol bgp B from t {\n  y;\n}\n";
	const char *b = "protocol bgp A from t {\n  x;\n}\nprotocol bgp B from t {\n  z;\n}\n";
	const char *c = "protocol bgp A from t {\n  x;\n}\n";
	size_t k[3] = {0, 0, 0};

	(void)state;
	compare_blocks("same", a, a, k);
	assert_int_equal(k[0], 2);
	assert_int_equal(k[2], 0);
	compare_blocks("changed", b, a, k);
	assert_int_equal(k[0], 3);
	assert_int_equal(k[2], 1);
	compare_blocks("missing", c, a, k);
	assert_int_equal(k[2], 2);
	compare_blocks("extra", a, c, k);
	assert_int_equal(k[2], 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reference_cases),
	    cmocka_unit_test(test_block_comparison_sees_changes),
	    cmocka_unit_test(test_comparison_sees_changes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
