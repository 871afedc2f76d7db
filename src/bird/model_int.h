/* bird/model_int.h - what the BGP resource decoders (src/bird/model_*.c)
 * share, defined in model_parse.c. Internal to those files.
 *
 * Every helper that can fail returns a negative errno with c->err holding
 * one sentence in model.h's form, "<Kind> <name>: <field>: <why>". */
#ifndef HANDOFF_BIRD_MODEL_INT_H
#define HANDOFF_BIRD_MODEL_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "bird/model.h"

/* Every message starts "<Kind> <name>: <field>: ". */
struct model_ctx {
	const char *kind;
	const char *name;
	struct herr *err;
};

/* Sets c->err to "<Kind> <name>: <field>: <why>" (without the field part
 * when field is NULL or empty); returns -EINVAL. */
__attribute__((format(printf, 3, 4))) int model_fail(const struct model_ctx *c, const char *field,
                                                     const char *fmt, ...);

/* Reject keys of `o` not listed in `allowed` (NULL-terminated). `unsupported`
 * lists fields the API has but handoff does not implement: they get a message
 * saying so rather than "unknown field". */
int model_check_fields(const struct model_ctx *c, const char *path, const json_t *o,
                       const char *const *allowed, const char *const *unsupported);

/* An AS number: a JSON integer 1..4294967295, a decimal string, or "a.b"
 * (asdot, each 0..65535, not 0.0). */
int model_parse_asn(const struct model_ctx *c, const char *field, const json_t *v, uint32_t *out);

/* The AS number of a speaker (a node, a peer): AS 0 is reserved (RFC 7607) and
 * BIRD refuses it, so it is rejected here with the field named. */
int model_parse_speaker_asn(const struct model_ctx *c, const char *field, const json_t *v,
                            uint32_t *out);

/* A JSON integer lo..hi. */
int model_parse_int_range(const struct model_ctx *c, const char *field, const json_t *v,
                          long long lo, long long hi, long long *out);

/* A route priority, 1..BGP_PRIORITY_MAX. */
int model_parse_priority(const struct model_ctx *c, const char *field, const json_t *v,
                         uint32_t *out);

/* A JSON string; *out points into `v`. */
int model_get_string(const struct model_ctx *c, const char *field, const json_t *v,
                     const char **out);

/* A Go duration ("90s", "1m30s", "2m") in whole seconds, 1..max. */
int model_parse_duration_s(const struct model_ctx *c, const char *field, const json_t *v,
                           uint32_t max, uint32_t *out);

/* A Kubernetes object name (DNS-1123 subdomain). Names of BGPFilters and
 * Nodes end up in quoted BIRD symbols and comment lines: nothing else may pass. */
bool model_dns1123_subdomain(const char *s);

/* metadata.name of `obj`, a `kind`, into *name (borrowed from obj); the
 * message names the kind only, since there is no name to give. */
int model_decode_name(const json_t *obj, const char *kind, const char **name, struct herr *err);

/* {secretKeyRef: {name, key}} (Calico's BGPPassword). */
int model_decode_secret_ref(const struct model_ctx *c, const char *field, const json_t *v,
                            struct bgp_secret_ref *out);

#endif
