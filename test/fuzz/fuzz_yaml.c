/* fuzz_yaml.c - YAML text to JSON trees on arbitrary bytes.
 *
 * Beyond "no memory error" (the sanitizers' job), every input checks what
 * callers rely on, and aborts when it does not hold:
 * - a rejected stream returns -EINVAL, -E2BIG or -ENOMEM, no documents, and
 *   a message "line L, column C: ..." with L inside the text;
 * - an accepted stream gives only non-null documents, each of which encodes
 *   as JSON and decodes back to an equal tree (no NaN, no invalid UTF-8);
 * - JSON is YAML: the encoded document, parsed as YAML again, gives the same
 *   tree (when it stays within libyaml's limits, see json_as_yaml_ok). */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/yaml_json.h"

static void check(int ok, const char *what, const uint8_t *data, size_t size)
{
	if (!ok) {
		fprintf(stderr, "fuzz_yaml: %s, input: \"%.*s\"\n", what, (int)size,
		        (const char *)data);
		abort();
	}
}

#define CHECK(cond, what) check((cond), (what), data, size)

/* libyaml limits an implicit key to 1024 characters, and YAML's \u escape
 * takes code points, not UTF-16 surrogate halves: JSON text outside those
 * limits is valid JSON but not something libyaml reads back. */
static int json_as_yaml_ok(const char *text)
{
	if (strlen(text) >= 1000)
		return 0;
	/* A surrogate half is written \uD800..\uDFFF, in either case. */
	for (const char *p = strstr(text, "\\u"); p; p = strstr(p + 2, "\\u"))
		if ((p[2] == 'd' || p[2] == 'D') && p[3] && strchr("89abcdefABCDEF", p[3]))
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yaml_docs docs;
	struct herr err = {{0}};
	int rc = yaml_parse((const char *)data, size, &docs, &err);

	if (rc < 0) {
		unsigned long line, col;
		size_t lines = 1;
		for (size_t i = 0; i < size; i++)
			lines += data[i] == '\n' || data[i] == '\r';
		CHECK(rc == -EINVAL || rc == -E2BIG || rc == -ENOMEM, "unexpected error code");
		CHECK(docs.n == 0 && docs.v == NULL, "documents returned with an error");
		CHECK(sscanf(err.msg, "line %lu, column %lu: ", &line, &col) == 2,
		      "message does not start with \"line L, column C: \"");
		CHECK(line >= 1 && line <= lines + 1 && col >= 1, "position outside the text");
		return -1;
	}
	CHECK(rc == 0, "positive return");
	for (size_t i = 0; i < docs.n; i++) {
		json_t *doc = docs.v[i];
		CHECK(doc && !json_is_null(doc), "null document kept");
		char *text = json_dumps(doc, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
		CHECK(text != NULL, "document does not encode as JSON");
		json_t *back = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		CHECK(back && json_equal(doc, back), "JSON round trip differs");
		json_decref(back);

		if (json_as_yaml_ok(text)) {
			struct yaml_docs again;
			struct herr err2;
			CHECK(yaml_parse(text, strlen(text), &again, &err2) == 0,
			      "encoded JSON is rejected as YAML");
			CHECK(again.n == 1 && json_equal(again.v[0], doc),
			      "encoded JSON parses as a different YAML tree");
			yaml_docs_free(&again);
		}
		free(text);
	}
	yaml_docs_free(&docs);
	return 0;
}
