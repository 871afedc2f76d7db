/* test_crd_schema.c - the CRDs in crd/ describe what the decoders accept.
 *
 * An API server prunes every field its CRD does not declare and refuses
 * every value the schema does not allow, before handoff sees the object; a
 * field the decoder reads but the CRD lacks is silently dropped, a value the
 * CRD allows but the decoder refuses fails at the node instead of at
 * `kubectl apply`. So, for every kind handoff decodes:
 * - each object level of the schema has exactly the names the decoder's own
 *   field table accepts (src/core/model.h, src/bird/model.h), unsupported
 *   ones included (the decoder names them in its error);
 * - each leaf of the schema has an entry in crd_fields.h with the same type
 *   and limits (minimum/maximum, min/maxLength, min/maxItems, enum,
 *   pattern), and the decoder behaves by that entry: it takes the bounds,
 *   every enum value and the good samples, and refuses one past each bound,
 *   another value, the wrong JSON type and the bad samples, naming the field;
 *   the samples agree with the CRD pattern;
 * - every property of every schema has a description (what `kubectl
 *   explain` shows), and every version has printer columns. */
#define _GNU_SOURCE
#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "bird/model.h"
#include "core/model.h"
#include "crd_fields.h"
#include "util/yaml_json.h"

/* ---- the kinds ------------------------------------------------------------ */

static int dec_lm(json_t *o, struct herr *e)
{
	struct live_migration v;
	int r = live_migration_decode(o, &v, e);
	if (r == 0)
		live_migration_free(&v);
	return r;
}
static int dec_felix(json_t *o, struct herr *e)
{
	struct felix_config v;
	int r = felix_config_decode(o, &v, e);
	if (r == 0)
		felix_config_free(&v);
	return r;
}
static int dec_config(json_t *o, struct herr *e)
{
	struct bgp_config v;
	int r = bgp_config_decode(o, &v, e);
	if (r == 0)
		bgp_config_free(&v);
	return r;
}
static int dec_peer(json_t *o, struct herr *e)
{
	struct bgp_peer v;
	int r = bgp_peer_decode(o, &v, e);
	if (r == 0)
		bgp_peer_free(&v);
	return r;
}
static int dec_filter(json_t *o, struct herr *e)
{
	struct bgp_filter v;
	int r = bgp_filter_decode(o, &v, e);
	if (r == 0)
		bgp_filter_free(&v);
	return r;
}

static const struct kind {
	const char *kind, *file, *base;
	int (*decode)(json_t *o, struct herr *e);
	const char *const *unsupported; /* spec fields refused by name */
} kinds[] = {
    {"LiveMigration", "livemigrations.yaml", LM_BASE, dec_lm, NULL},
    {"FelixConfiguration", "felixconfigurations.yaml", FELIX_BASE, dec_felix, NULL},
    {"BGPConfiguration", "bgpconfigurations.yaml", CONFIG_BASE, dec_config, bgp_config_unsupported},
    {"BGPPeer", "bgppeers.yaml", PEER_BASE, dec_peer, bgp_peer_unsupported},
    {"BGPFilter", "bgpfilters.yaml", FILTER_BASE, dec_filter, NULL},
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* Object levels of a schema and the decoder table naming their fields. */
static const struct level {
	const char *kind, *path;
	const char *const *fields, *const *unsupported;
} levels[] = {
    {"LiveMigration", "spec", live_migration_spec_fields, NULL},
    {"LiveMigration", "spec.source", live_migration_source_fields, NULL},
    {"LiveMigration", "spec.target", live_migration_target_fields, NULL},
    {"LiveMigration", "spec.source.workload", workload_ident_fields, NULL},
    {"LiveMigration", "spec.source.workloadEndpoint", wep_ident_fields, NULL},
    {"LiveMigration", "spec.target.workloadEndpoint", wep_ident_fields, NULL},
    {"FelixConfiguration", "spec", felix_config_fields, NULL},
    {"BGPConfiguration", "spec", bgp_config_fields, bgp_config_unsupported},
    {"BGPPeer", "spec", bgp_peer_fields, bgp_peer_unsupported},
    {"BGPFilter", "spec", bgp_filter_spec_fields, NULL},
#define RULE_LEVELS(l)                                                                             \
	{"BGPFilter", "spec." l "[]", bgp_filter_rule_fields, NULL},                               \
	    {"BGPFilter", "spec." l "[].prefixLength", bgp_filter_prefix_length_fields, NULL},     \
	    {"BGPFilter", "spec." l "[].communities", bgp_filter_communities_fields, NULL},        \
	    {"BGPFilter", "spec." l "[].operations[]", bgp_filter_operation_fields, NULL},         \
	    {"BGPFilter", "spec." l "[].operations[].addCommunity", bgp_filter_value_fields,       \
	     NULL},                                                                                \
	    {"BGPFilter", "spec." l "[].operations[].prependASPath", bgp_filter_prefix_fields,     \
	     NULL},                                                                                \
	{                                                                                          \
		"BGPFilter", "spec." l "[].operations[].setPriority", bgp_filter_value_fields,     \
		    NULL                                                                           \
	}
    RULE_LEVELS("exportV4"),
    RULE_LEVELS("importV4"),
    RULE_LEVELS("exportV6"),
    RULE_LEVELS("importV6"),
};
#define NLEVELS (sizeof(levels) / sizeof(levels[0]))
#define NLEAVES (sizeof(leaves) / sizeof(leaves[0]))

static const struct kind *kind_of(const char *name)
{
	for (size_t i = 0; i < NKINDS; i++)
		if (!strcmp(kinds[i].kind, name))
			return &kinds[i];
	fail_msg("no kind %s", name);
	return NULL;
}

static bool in_list(const char *const *list, const char *name)
{
	for (; list && *list; list++)
		if (!strcmp(*list, name))
			return true;
	return false;
}

/* The top schema of crd/<file>. */
static json_t *crd_schema(const char *file)
{
	static json_t *cache[NKINDS];
	static const char *names[NKINDS];
	const char *src = getenv("HANDOFF_SOURCE_DIR");
	struct yaml_docs d;
	struct herr err = {{0}};
	char path[512];
	size_t i;

	for (i = 0; i < NKINDS && names[i]; i++)
		if (!strcmp(names[i], file))
			return cache[i];
	assert_true(i < NKINDS);
	snprintf(path, sizeof(path), "%s/crd/%s", src ? src : ".", file);
	if (yaml_parse_file(path, &d, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(d.n, 1);
	json_t *v = json_array_get(json_object_get(json_object_get(d.v[0], "spec"), "versions"), 0);
	json_t *s = json_object_get(json_object_get(v, "schema"), "openAPIV3Schema");
	if (!s)
		fail_msg("%s: no spec.versions[0].schema.openAPIV3Schema", file);
	names[i] = file;
	cache[i] = json_incref(d.v[0]);
	yaml_docs_free(&d);
	return cache[i];
}

static json_t *top_schema(const char *kind)
{
	json_t *crd = crd_schema(kind_of(kind)->file);
	json_t *v = json_array_get(json_object_get(json_object_get(crd, "spec"), "versions"), 0);
	return json_object_get(json_object_get(v, "schema"), "openAPIV3Schema");
}

/* The schema node at "spec.exportV4[].cidr" ("[]" = array items). */
static json_t *schema_at(const char *kind, const char *path)
{
	json_t *n = top_schema(kind);
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *tok = strtok_r(buf, ".", &save); tok && n; tok = strtok_r(NULL, ".", &save)) {
		size_t len = strlen(tok);
		int items = 0;
		while (len > 2 && !strcmp(tok + len - 2, "[]")) {
			tok[len -= 2] = '\0';
			items++;
		}
		n = json_object_get(json_object_get(n, "properties"), tok);
		while (n && items--)
			n = json_object_get(n, "items");
	}
	return n;
}

/* ---- names: schema levels against the decoders' tables ------------------- */

static void test_levels_match_decoder_tables(void **state)
{
	(void)state;
	for (size_t i = 0; i < NLEVELS; i++) {
		const struct level *l = &levels[i];
		json_t *props = json_object_get(schema_at(l->kind, l->path), "properties");
		const char *key;
		json_t *v;

		if (!props)
			fail_msg("%s CRD: %s has no properties", l->kind, l->path);
		json_object_foreach(props, key, v)
		{
			if (!in_list(l->fields, key) && !in_list(l->unsupported, key))
				fail_msg("%s CRD: %s.%s is a field the decoder does not read",
				         l->kind, l->path, key);
		}
		for (const char *const *f = l->fields; *f; f++)
			if (!json_object_get(props, *f))
				fail_msg(
				    "%s CRD: %s.%s is read by the decoder but missing from the "
				    "CRD (the API server would prune it)",
				    l->kind, l->path, *f);
		for (const char *const *f = l->unsupported; f && *f; f++)
			if (!json_object_get(props, *f))
				fail_msg(
				    "%s CRD: %s.%s (refused by the decoder) is missing: the API "
				    "server would drop it silently",
				    l->kind, l->path, *f);
	}
}

/* ---- leaves: every leaf has an entry, with the same schema ---------------- */

static const struct leaf *leaf_of(const char *kind, const char *path)
{
	for (size_t i = 0; i < NLEAVES; i++)
		if (!strcmp(leaves[i].kind, kind) && !strcmp(leaves[i].path, path))
			return &leaves[i];
	return NULL;
}

/* The spec-level field of a path is one the decoder refuses. */
static bool under_unsupported(const char *kind, const char *path)
{
	char top[128];
	const char *p = path + strlen("spec.");
	size_t n = strcspn(p, ".[");

	snprintf(top, sizeof(top), "%.*s", (int)n, p);
	return in_list(kind_of(kind)->unsupported, top);
}

static void walk_leaves(const char *kind, const char *path, json_t *node, unsigned *count)
{
	json_t *props = json_object_get(node, "properties");
	json_t *items = json_object_get(node, "items");
	const char *type = json_string_value(json_object_get(node, "type"));
	char sub[256];

	if (props) {
		const char *key;
		json_t *v;
		json_object_foreach(props, key, v)
		{
			snprintf(sub, sizeof(sub), "%s.%s", path, key);
			walk_leaves(kind, sub, v, count);
		}
		return;
	}
	if (!leaf_of(kind, path) && !under_unsupported(kind, path) &&
	    !(type && !strcmp(type, "array") && items && json_object_get(items, "properties")))
		fail_msg("%s CRD: %s (%s) has no entry in test/unit/crd_fields.h", kind, path,
		         type ? type : "untyped");
	(*count)++;
	if (items) {
		snprintf(sub, sizeof(sub), "%s[]", path);
		walk_leaves(kind, sub, items, count);
	}
}

static void expect_number(const struct leaf *l, json_t *n, const char *key, long long want)
{
	json_t *v = json_object_get(n, key);

	if (want == NOLIM && v)
		fail_msg("%s CRD: %s has %s %lld, the decoder has no such limit", l->kind, l->path,
		         key, (long long)json_integer_value(v));
	if (want != NOLIM && (!json_is_integer(v) || json_integer_value(v) != want))
		fail_msg("%s CRD: %s %s must be %lld (the decoder's), not %s", l->kind, l->path,
		         key, want, v ? json_dumps(v, JSON_ENCODE_ANY) : "absent");
}

static void test_leaves_match_entries(void **state)
{
	(void)state;
	for (size_t k = 0; k < NKINDS; k++) {
		unsigned count = 0;
		walk_leaves(kinds[k].kind, "spec", schema_at(kinds[k].kind, "spec"), &count);
		assert_true(count > 0);
	}
	for (size_t i = 0; i < NLEAVES; i++) {
		const struct leaf *l = &leaves[i];
		json_t *n = schema_at(l->kind, l->path);
		bool str, arr;

		if (!n)
			fail_msg("%s CRD: %s is missing", l->kind, l->path);
		assert_string_equal(json_string_value(json_object_get(n, "type")), l->type);
		str = !strcmp(l->type, "string");
		arr = !strcmp(l->type, "array");
		expect_number(l, n, "minimum", str || arr ? NOLIM : l->min);
		expect_number(l, n, "maximum", str || arr ? NOLIM : l->max);
		expect_number(l, n, "minLength", str ? l->min : NOLIM);
		expect_number(l, n, "maxLength", str ? l->max : NOLIM);
		expect_number(l, n, "minItems", arr ? l->min : NOLIM);
		expect_number(l, n, "maxItems", arr ? l->max : NOLIM);

		json_t *en = json_object_get(n, "enum");
		if (!l->enums != !en)
			fail_msg("%s CRD: %s enum differs from the decoder's (%s)", l->kind,
			         l->path, l->enums ? l->enums : "none");
		if (en) {
			char joined[256] = "";
			size_t j;
			json_t *e;
			json_array_foreach(en, j, e)
			{
				strcat(joined, j ? "|" : "");
				strcat(joined, json_string_value(e));
			}
			if (strcmp(joined, l->enums))
				fail_msg("%s CRD: %s enum is %s, the decoder takes %s", l->kind,
				         l->path, joined, l->enums);
		}
		const char *pat = json_string_value(json_object_get(n, "pattern"));
		if (!l->pattern != !pat || (pat && strcmp(pat, l->pattern)))
			fail_msg("%s CRD: %s pattern is %s, expected %s", l->kind, l->path,
			         pat ? pat : "none", l->pattern ? l->pattern : "none");
	}
}

/* ---- behaviour: the decoder keeps the entry's limits ---------------------- */

/* Put `value` (owned) at dotted `at` in obj, creating objects on the way. */
static void put_at(json_t *obj, const char *at, json_t *value)
{
	char buf[256], *save = NULL, *tok, *next;
	json_t *n = obj;

	snprintf(buf, sizeof(buf), "%s", at);
	tok = strtok_r(buf, ".", &save);
	while ((next = strtok_r(NULL, ".", &save))) {
		json_t *c = json_is_array(n) ? json_array_get(n, strtoul(tok, NULL, 10))
		                             : json_object_get(n, tok);
		if (!c) {
			c = json_object();
			json_object_set_new(n, tok, c);
		}
		n = c;
		tok = next;
	}
	if (json_is_array(n))
		json_array_set_new(n, strtoul(tok, NULL, 10), value);
	else
		json_object_set_new(n, tok, value);
}

/* Decode the entry's base with `value` placed; 0 or -errno, msg filled. */
static int try_value(const struct leaf *l, json_t *value, char *msg, size_t msglen)
{
	const struct kind *k = kind_of(l->kind);
	json_error_t je;
	json_t *obj = json_loads(l->base ? l->base : k->base, 0, &je);
	struct herr err = {{0}};
	int r;

	if (!obj)
		fail_msg("%s: bad base JSON: %s", l->path, je.text);
	put_at(obj, l->at, value);
	r = k->decode(obj, &err);
	snprintf(msg, msglen, "%s", r < 0 ? err.msg : "");
	json_decref(obj);
	return r;
}

static const char *last_name(const char *path, char *buf, size_t len)
{
	const char *dot = strrchr(path, '.');
	snprintf(buf, len, "%s", dot ? dot + 1 : path);
	buf[strcspn(buf, "[")] = '\0';
	return buf;
}

static void expect(const struct leaf *l, json_t *value, bool accepted, const char *why)
{
	char *text = json_dumps(value, JSON_ENCODE_ANY);
	char msg[512], name[64];
	int r = try_value(l, value, msg, sizeof(msg));

	if (accepted && r < 0)
		fail_msg("%s %s = %s (%s): the decoder refuses it: %s", l->kind, l->path, text, why,
		         msg);
	if (!accepted && r == 0)
		fail_msg("%s %s = %s (%s): the decoder accepts it", l->kind, l->path, text, why);
	if (!accepted && !strstr(msg, last_name(l->path, name, sizeof(name))))
		fail_msg("%s %s = %s: the message does not name the field: %s", l->kind, l->path,
		         text, msg);
	free(text);
}

static bool pattern_matches(const char *pattern, const char *s)
{
	regex_t re;
	bool m;

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB))
		fail_msg("pattern %s does not compile as an extended regex", pattern);
	m = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return m;
}

static void samples(const struct leaf *l, const char *list, bool accepted)
{
	json_t *arr = list ? json_loads(list, 0, NULL) : NULL;
	size_t i;
	json_t *v;

	if (list && !arr)
		fail_msg("%s: bad sample list %s", l->path, list);
	json_array_foreach(arr, i, v)
	{
		if (l->pattern && json_is_string(v) &&
		    pattern_matches(l->pattern, json_string_value(v)) != accepted)
			fail_msg("%s CRD: %s pattern %s %s \"%s\", the decoder %s it", l->kind,
			         l->path, l->pattern, accepted ? "refuses" : "allows",
			         json_string_value(v), accepted ? "accepts" : "refuses");
		expect(l, json_incref(v), accepted, accepted ? "a good sample" : "a bad sample");
	}
	json_decref(arr);
}

static json_t *filled(const char *fmt, long long len)
{
	char *pad = malloc((size_t)len + 1), *s = NULL;

	memset(pad, 'a', (size_t)len);
	pad[len] = '\0';
	assert_true(asprintf(&s, fmt, pad) >= 0);
	free(pad);
	json_t *j = json_string(s);
	free(s);
	return j;
}

static void check_behaviour(const struct leaf *l)
{
	const char *t = l->type;

	samples(l, l->good, true);
	samples(l, l->bad, false);
	if (!strcmp(t, "integer")) {
		if (l->min != NOLIM) {
			expect(l, json_integer(l->min), true, "the minimum");
			expect(l, json_integer(l->min - 1), false, "below the minimum");
		}
		if (l->max != NOLIM) {
			expect(l, json_integer(l->max), true, "the maximum");
			expect(l, json_integer(l->max + 1), false, "above the maximum");
		}
		expect(l, json_true(), false, "not an integer");
	} else if (!strcmp(t, "boolean")) {
		expect(l, json_true(), true, "true");
		expect(l, json_false(), true, "false");
		expect(l, json_string("true"), false, "a string");
	} else if (!strcmp(t, "string")) {
		expect(l, json_integer(5), false, "not a string");
		if (l->enums) {
			char buf[256], *save = NULL;
			snprintf(buf, sizeof(buf), "%s", l->enums);
			for (char *e = strtok_r(buf, "|", &save); e; e = strtok_r(NULL, "|", &save))
				expect(l, json_string(e), true, "an enum value");
			expect(l, json_string("Bogus"), false, "not an enum value");
		}
		if (l->fill && l->max != NOLIM) {
			long long extra = (long long)strlen(l->fill) - 2; /* "%s" */
			expect(l, filled(l->fill, l->max - extra), true, "maxLength");
			expect(l, filled(l->fill, l->max - extra + 1), false, "over maxLength");
		}
		if (l->fill && l->min != NOLIM) {
			expect(l, filled(l->fill, l->min), true, "minLength");
			expect(l, filled(l->fill, l->min - 1), false, "under minLength");
		}
	} else if (!strcmp(t, "array")) {
		expect(l, json_string("x"), false, "not an array");
	}
}

static void test_decoder_keeps_the_limits(void **state)
{
	(void)state;
	for (size_t i = 0; i < NLEAVES; i++) {
		const struct leaf *l = &leaves[i];
		if (under_unsupported(l->kind, l->path))
			continue;
		check_behaviour(l);
	}
}

/* A field the decoder refuses is refused by name, whatever its value. */
static void test_unsupported_are_refused_by_name(void **state)
{
	(void)state;
	for (size_t k = 0; k < NKINDS; k++)
		for (const char *const *f = kinds[k].unsupported; f && *f; f++) {
			char at[128], msg[512];
			struct leaf l = {.kind = kinds[k].kind, .at = at, .path = at};
			snprintf(at, sizeof(at), "spec.%s", *f);
			assert_int_equal(try_value(&l, json_string("x"), msg, sizeof(msg)),
			                 -EINVAL);
			if (!strstr(msg, "not supported by handoff") || !strstr(msg, *f))
				fail_msg("%s %s: %s", kinds[k].kind, at, msg);
		}
}

/* ---- documentation -------------------------------------------------------- */

static void walk_descriptions(const char *file, const char *path, json_t *node, unsigned *n)
{
	json_t *props = json_object_get(node, "properties");
	json_t *items = json_object_get(node, "items");
	const char *d = json_string_value(json_object_get(node, "description"));
	const char *key;
	json_t *v;
	char sub[256];

	if (!d || strlen(d) < 3)
		fail_msg("%s: %s has no description (kubectl explain shows nothing)", file, path);
	(*n)++;
	json_object_foreach(props, key, v)
	{
		snprintf(sub, sizeof(sub), "%s.%s", path, key);
		walk_descriptions(file, sub, v, n);
	}
	if (items) {
		snprintf(sub, sizeof(sub), "%s[]", path);
		walk_descriptions(file, sub, items, n);
	}
}

static void test_every_field_is_described(void **state)
{
	(void)state;
	for (size_t k = 0; k < NKINDS; k++) {
		unsigned n = 0;
		json_t *crd = crd_schema(kinds[k].file);
		json_t *v =
		    json_array_get(json_object_get(json_object_get(crd, "spec"), "versions"), 0);
		json_t *cols = json_object_get(v, "additionalPrinterColumns");
		size_t i;
		json_t *c;

		walk_descriptions(kinds[k].file, kinds[k].kind, top_schema(kinds[k].kind), &n);
		assert_true(n > 5);
		/* kubectl get shows these columns; each points into the schema. */
		if (json_array_size(cols) < 2)
			fail_msg("%s: fewer than two additionalPrinterColumns", kinds[k].file);
		json_array_foreach(cols, i, c)
		{
			const char *jp = json_string_value(json_object_get(c, "jsonPath"));
			char p[128];
			assert_non_null(jp);
			if (!strcmp(jp, ".metadata.creationTimestamp"))
				continue;
			snprintf(p, sizeof(p), "%s", jp + 1);
			/* ".spec.exportV4[0].action" -> "spec.exportV4[].action" */
			for (char *b; (b = strstr(p, "[0]"));)
				memmove(b + 1, b + 2, strlen(b + 2) + 1);
			if (!schema_at(kinds[k].kind, p))
				fail_msg("%s: printer column %s points at no field", kinds[k].file,
				         jp);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_levels_match_decoder_tables),
	    cmocka_unit_test(test_leaves_match_entries),
	    cmocka_unit_test(test_decoder_keeps_the_limits),
	    cmocka_unit_test(test_unsupported_are_refused_by_name),
	    cmocka_unit_test(test_every_field_is_described),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
