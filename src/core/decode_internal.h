/* decode_internal.h - the pieces of decode.c that the other decoders of
 * src/core share (wep.c): the object being decoded, its envelope, and the
 * field readers that name object and field in every error. Not for use
 * outside src/core. */
#ifndef HANDOFF_CORE_DECODE_INTERNAL_H
#define HANDOFF_CORE_DECODE_INTERNAL_H

#include <stdbool.h>

#include "core/model.h"
#include "util/err.h"

struct json_t;

/* The object being decoded, for messages. */
struct dctx {
	char obj[300]; /* "LiveMigration default/lm1" */
	struct herr *err;
};

struct meta {
	const char *ns, *name, *uid; /* borrowed from the tree; ns/uid never NULL */
};

/* Check that `obj` is an object of `kind` (apiVersion one of `api_versions`
 * when it says) and read its metadata; fills c->obj for later messages. */
int dec_envelope(struct dctx *c, const struct json_t *obj, const char *kind,
                 const char *const *api_versions, bool namespaced, struct meta *m);
/* Optional string / object member (*out NULL when absent or null). */
int dec_opt_string(const struct dctx *c, const struct json_t *obj, const char *key,
                   const char *path, const char **out);
int dec_opt_object(const struct dctx *c, const struct json_t *obj, const char *key,
                   const char *path, struct json_t **out);
const char *dec_json_kind(const struct json_t *v); /* "a string", "an array"... */
int dec_nomem(const struct dctx *c);
/* Append a validated address (canonical spelling, once) to ep->addrs. */
int dec_add_addr(const struct dctx *c, struct endpoint *ep, const struct json_t *ip,
                 const char *path);
/* "AA:bb:..." -> lower case "aa:bb:..."; false when not a MAC address. */
bool dec_parse_mac(const char *s, char out[18]);
/* metadata.labels (`md` is the metadata object) into ep->labels. */
int dec_labels(const struct dctx *c, const struct json_t *md, struct endpoint *ep);

#endif
