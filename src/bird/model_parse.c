/* bird/model_parse.c - what every BGP resource decoder uses (model_int.h):
 * messages that name the object, the field and the rule (the form model.h
 * gives), the check that an object holds only the fields its resource
 * defines, and the values that recur across calico-semantics D.1-D.3 and the
 * Node: AS numbers (plain or asdot; AS 0 refused, as RFC 7607 and BIRD do),
 * integers in a range, route priorities (1..2^31-2, section C), Go durations
 * in whole seconds (keepaliveTime, maxRestartTime, nodeMeshMaxRestartTime),
 * object names, and BGPPassword secretKeyRefs (D.1 nodeMeshPassword, D.2
 * password). */
#include "bird/model_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bird/secret.h"

/* ---- error helpers ------------------------------------------------------- */

int model_fail(const struct model_ctx *c, const char *field, const char *fmt, ...)
{
	char why[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (field && *field)
		return herr_set(c->err, -EINVAL, "%s %s: %s: %s", c->kind, c->name, field, why);
	return herr_set(c->err, -EINVAL, "%s %s: %s", c->kind, c->name, why);
}

int model_check_fields(const struct model_ctx *c, const char *path, const json_t *o,
                       const char *const *allowed, const char *const *unsupported)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)o, key, v)
	{
		bool ok = false;
		char field[384];

		for (const char *const *a = allowed; *a && !ok; a++)
			ok = !strcmp(*a, key);
		if (ok)
			continue;
		snprintf(field, sizeof(field), "%s%s%s", path, *path ? "." : "", key);
		for (const char *const *u = unsupported; u && *u; u++)
			if (!strcmp(*u, key))
				return model_fail(c, field, "not supported by handoff");
		return model_fail(c, field, "unknown field");
	}
	return 0;
}

/* ---- scalar parsers ------------------------------------------------------ */

/* AS 0 is reserved (RFC 7607): BIRD refuses it as a local or remote AS
 * ("Local AS number must be set") and it must not appear in a path. */
static int asn_nonzero(const struct model_ctx *c, const char *field, uint32_t as)
{
	if (as == 0)
		return model_fail(
		    c, field,
		    "AS number 0 is reserved (RFC 7607); BIRD refuses it (1..4294967295)");
	return 0;
}

int model_parse_asn(const struct model_ctx *c, const char *field, const json_t *v, uint32_t *out)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < 0 || i > 4294967295LL)
			return model_fail(c, field, "%lld is not an AS number (1..4294967295)",
			                  (long long)i);
		*out = (uint32_t)i;
		return asn_nonzero(c, field, *out);
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		unsigned long long hi = 0, lo = 0;
		char *end;

		if (!isdigit((unsigned char)*s))
			goto bad;
		hi = strtoull(s, &end, 10);
		if (*end == '\0' && hi <= 4294967295ULL) {
			*out = (uint32_t)hi;
			return asn_nonzero(c, field, *out);
		}
		if (*end == '.' && isdigit((unsigned char)end[1])) {
			lo = strtoull(end + 1, &end, 10);
			if (*end == '\0' && hi <= 65535 && lo <= 65535) {
				*out = (uint32_t)(hi << 16 | lo);
				return asn_nonzero(c, field, *out);
			}
		}
	bad:
		return model_fail(c, field, "\"%s\" is not an AS number (1..4294967295 or a.b)", s);
	}
	return model_fail(c, field, "must be an AS number");
}

int model_parse_speaker_asn(const struct model_ctx *c, const char *field, const json_t *v,
                            uint32_t *out)
{
	int rc = model_parse_asn(c, field, v, out);

	if (rc == 0 && *out == 0)
		return model_fail(c, field, "AS 0 is reserved; use 1..4294967295");
	return rc;
}

int model_parse_int_range(const struct model_ctx *c, const char *field, const json_t *v,
                          long long lo, long long hi, long long *out)
{
	if (!json_is_integer(v))
		return model_fail(c, field, "must be an integer (%lld..%lld)", lo, hi);
	long long i = json_integer_value(v);
	if (i < lo || i > hi)
		return model_fail(c, field, "%lld is out of range (%lld..%lld)", i, lo, hi);
	*out = i;
	return 0;
}

int model_parse_priority(const struct model_ctx *c, const char *field, const json_t *v,
                         uint32_t *out)
{
	long long i = 0;
	int rc = model_parse_int_range(c, field, v, 1, BGP_PRIORITY_MAX, &i);
	if (rc == 0)
		*out = (uint32_t)i;
	return rc;
}

int model_get_string(const struct model_ctx *c, const char *field, const json_t *v,
                     const char **out)
{
	if (!json_is_string(v))
		return model_fail(c, field, "must be a string");
	*out = json_string_value(v);
	return 0;
}

int model_parse_duration_s(const struct model_ctx *c, const char *field, const json_t *v,
                           uint32_t max, uint32_t *out)
{
	const char *s = NULL, *p;
	unsigned long long ms = 0;
	int rc = model_get_string(c, field, v, &s);

	if (rc < 0)
		return rc;
	p = s;
	if (!*p)
		goto bad;
	while (*p) {
		char *end;
		unsigned long long n;

		if (!isdigit((unsigned char)*p))
			goto bad;
		n = strtoull(p, &end, 10);
		if (n > 1000000)
			goto bad;
		if (!strncmp(end, "ms", 2))
			ms += n, p = end + 2;
		else if (*end == 's')
			ms += n * 1000, p = end + 1;
		else if (*end == 'm')
			ms += n * 60000, p = end + 1;
		else if (*end == 'h')
			ms += n * 3600000, p = end + 1;
		else
			goto bad;
	}
	if (ms % 1000 || ms < 1000 || ms > (unsigned long long)max * 1000)
		return model_fail(c, field, "\"%s\" must be whole seconds, 1s..%us", s, max);
	*out = (uint32_t)(ms / 1000);
	return 0;
bad:
	return model_fail(c, field, "\"%s\" is not a duration such as 30s or 1m", s);
}

bool model_dns1123_subdomain(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-' ||
		      s[i] == '.'))
			return false;
	return true;
}

/* ---- metadata ------------------------------------------------------------ */

int model_decode_name(const json_t *obj, const char *kind, const char **name, struct herr *err)
{
	const json_t *md = json_object_get(obj, "metadata");
	const json_t *n = md ? json_object_get(md, "name") : NULL;

	if (!json_is_object(obj))
		return herr_set(err, -EINVAL, "%s: not an object", kind);
	if (!json_is_string(n) || !*json_string_value(n))
		return herr_set(err, -EINVAL, "%s without metadata.name", kind);
	*name = json_string_value(n);
	return 0;
}

/* ---- BGPPassword --------------------------------------------------------- */

int model_decode_secret_ref(const struct model_ctx *c, const char *field, const json_t *v,
                            struct bgp_secret_ref *out)
{
	static const char *const fields[] = {"secretKeyRef", NULL};
	static const char *const ref_fields[] = {"name", "key", "optional", NULL};
	const json_t *ref, *name, *key, *optional;
	char f[96], sub[128];
	int rc;

	if (!json_is_object(v))
		return model_fail(c, field, "must be an object with secretKeyRef");
	if ((rc = model_check_fields(c, field, v, fields, NULL)) < 0)
		return rc;
	snprintf(f, sizeof(f), "%s.secretKeyRef", field);
	ref = json_object_get(v, "secretKeyRef");
	if (!json_is_object(ref))
		return model_fail(c, f, "required: {name: <Secret>, key: <key>}");
	if ((rc = model_check_fields(c, f, ref, ref_fields, NULL)) < 0)
		return rc;
	name = json_object_get(ref, "name");
	key = json_object_get(ref, "key");
	optional = json_object_get(ref, "optional");
	snprintf(sub, sizeof(sub), "%s.name", f);
	if (!json_is_string(name) || !model_dns1123_subdomain(json_string_value(name)))
		return model_fail(c, sub, "must be a Secret name");
	snprintf(sub, sizeof(sub), "%s.key", f);
	if (!json_is_string(key) || !*json_string_value(key))
		return model_fail(c, sub, "must be a non-empty string");
	snprintf(sub, sizeof(sub), "%s.optional", f);
	if (optional && !json_is_null(optional) && !json_is_boolean(optional))
		return model_fail(c, sub, "must be true or false");
	out->name = strdup(json_string_value(name));
	out->key = strdup(json_string_value(key));
	if (!out->name || !out->key) {
		bgp_secret_ref_free(out);
		return herr_set(c->err, -ENOMEM, "out of memory");
	}
	return 0;
}
