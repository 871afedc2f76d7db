/* yaml_json.h - YAML (libyaml) to jansson trees, so that YAML files and the
 * API server's JSON go through the same decoders.
 *
 * Scalars resolve as YAML 1.2 core schema does for plain (unquoted) scalars:
 * null/~/empty -> null, true/false -> boolean, integers -> integer, floats ->
 * real; quoted scalars are always strings. Anchors/aliases are expanded. */
#ifndef HANDOFF_UTIL_YAML_JSON_H
#define HANDOFF_UTIL_YAML_JSON_H

#include <stddef.h>

#include "util/err.h"

struct json_t;

/* A stream of documents. `docs` holds owned references (json_decref each),
 * empty documents are skipped. */
struct yaml_docs {
	struct json_t **v;
	size_t n;
};

/* Parse `len` bytes. On error returns -EINVAL, err says line and column. */
int yaml_parse(const char *text, size_t len, struct yaml_docs *out, struct herr *err);
/* Read and parse a file; err starts with the path. */
int yaml_parse_file(const char *path, struct yaml_docs *out, struct herr *err);
void yaml_docs_free(struct yaml_docs *docs);

#endif
