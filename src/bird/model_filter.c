/* bird/model_filter.c - the BGPFilter decoder (calico-semantics D.3): four
 * ordered rule lists, each rule checked as the v3 API's schema and CEL rules
 * check it (action required; cidr and matchOperator both set or both empty;
 * prefixLength only with a cidr; operations 1..10, only with Accept, exactly
 * one kind each), plus what BIRD 1.6 would refuse (a CIDR with host bits, an
 * empty prefix length range); and BGPCommunityValue parsing, which
 * `handoff-watcher bird-snippet` shares. The field tables are the ones
 * test/unit/test_crd_schema.c compares with crd/bgpfilters.yaml. */
#include "bird/model_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bird/validate.h"

/* ---- BGPCommunityValue --------------------------------------------------- */

/* One decimal part of a community: digits only, no leading zero, <= max. */
static bool community_part(const char *s, size_t len, uint64_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 10 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

int bgp_community_parse(const char *s, struct bgp_community *out, struct herr *err)
{
	static const char *const form[4] = {
	    "aa:nn with each 0..65535, or aa:nn:mm with each 0..4294967295", NULL,
	    "aa:nn, each 0..65535", "aa:nn:mm, each 0..4294967295"};
	const char *part[4];
	size_t len[4], n = 0;
	const char *p = s;

	memset(out, 0, sizeof(*out));
	for (;;) {
		const char *colon = strchr(p, ':');
		part[n] = p;
		len[n] = colon ? (size_t)(colon - p) : strlen(p);
		n++;
		if (!colon || n == 4)
			break;
		p = colon + 1;
	}
	if (strlen(s) > 32 || (n != 2 && n != 3) || strchr(part[n - 1], ':'))
		return herr_set(err, -EINVAL, "\"%s\" is not a community (%s)", s, form[0]);
	for (size_t i = 0; i < n; i++) {
		if (len[i] > 1 && part[i][0] == '0')
			return herr_set(err, -EINVAL,
			                "\"%s\" is not a community (%s, without leading zeros)", s,
			                form[n]);
		if (!community_part(part[i], len[i], n == 2 ? 65535 : 4294967295ULL, &out->v[i]))
			return herr_set(err, -EINVAL, "\"%s\" is not a community (%s)", s, form[n]);
	}
	out->nparts = (int)n;
	return 0;
}

/* ---- BGPFilter ------------------------------------------------------------------- */

/* The field tables below are the decoders' own: model_check_fields() accepts
 * exactly these names, and test/unit/test_crd_schema.c checks that the CRDs
 * in crd/ declare the same ones (model.h). */
const char *const bgp_filter_rule_fields[] = {
    "action",   "matchOperator", "cidr",         "prefixLength", "source",     "interface",
    "peerType", "communities",   "asPathPrefix", "priority",     "operations", NULL};

static int decode_asn_list(const struct model_ctx *c, const char *field, const json_t *v,
                           size_t min, size_t max, uint32_t **out, size_t *n)
{
	char f[300];
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return model_fail(c, field, "must be a list of AS numbers");
	if (json_array_size(v) < min || json_array_size(v) > max)
		return model_fail(c, field, "must have %zu..%zu AS numbers", min, max);
	if (json_array_size(v) == 0)
		return 0;
	*out = calloc(json_array_size(v), sizeof(**out));
	if (!*out)
		return herr_set(c->err, -ENOMEM, "out of memory");
	json_array_foreach(v, i, e)
	{
		snprintf(f, sizeof(f), "%s[%zu]", field, i);
		int rc = model_parse_asn(c, f, e, &(*out)[i]);
		if (rc < 0)
			return rc;
		(*n)++;
	}
	return 0;
}

static int decode_community_field(const struct model_ctx *c, const char *field, const json_t *v,
                                  struct bgp_community *out)
{
	struct herr why;
	const char *s = NULL;
	int rc = model_get_string(c, field, v, &s);

	if (rc < 0)
		return rc;
	if (bgp_community_parse(s, out, &why) < 0)
		return model_fail(c, field, "%s", why.msg);
	return 0;
}

const char *const bgp_filter_operation_fields[] = {"addCommunity", "prependASPath", "setPriority",
                                                   NULL};
const char *const bgp_filter_value_fields[] = {"value", NULL};
const char *const bgp_filter_prefix_fields[] = {"prefix", NULL};
const char *const bgp_filter_prefix_length_fields[] = {"min", "max", NULL};
const char *const bgp_filter_communities_fields[] = {"values", NULL};

static int decode_operation(const struct model_ctx *c, const char *path, const json_t *o,
                            struct bgp_operation *op)
{
	const char *const *fields = bgp_filter_operation_fields;
	char f[256];
	const json_t *v;
	int rc, set = 0;

	if (!json_is_object(o))
		return model_fail(c, path, "must be an object");
	if ((rc = model_check_fields(c, path, o, fields, NULL)) < 0)
		return rc;
	for (const char *const *k = fields; *k; k++)
		set += json_object_get(o, *k) != NULL;
	if (set != 1)
		return model_fail(
		    c, path,
		    "exactly one of addCommunity, prependASPath, setPriority must be set "
		    "(found %d)",
		    set);
	if ((v = json_object_get(o, "addCommunity"))) {
		const char *const *f1 = bgp_filter_value_fields;
		op->kind = BGP_OP_ADD_COMMUNITY;
		snprintf(f, sizeof(f), "%s.addCommunity", path);
		if (!json_is_object(v))
			return model_fail(c, f, "must be an object with a value");
		if ((rc = model_check_fields(c, f, v, f1, NULL)) < 0)
			return rc;
		snprintf(f, sizeof(f), "%s.addCommunity.value", path);
		if (!json_object_get(v, "value"))
			return model_fail(c, f, "required");
		return decode_community_field(c, f, json_object_get(v, "value"), &op->community);
	}
	if ((v = json_object_get(o, "prependASPath"))) {
		const char *const *f1 = bgp_filter_prefix_fields;
		op->kind = BGP_OP_PREPEND_AS_PATH;
		snprintf(f, sizeof(f), "%s.prependASPath", path);
		if (!json_is_object(v))
			return model_fail(c, f, "must be an object with a prefix");
		if ((rc = model_check_fields(c, f, v, f1, NULL)) < 0)
			return rc;
		snprintf(f, sizeof(f), "%s.prependASPath.prefix", path);
		if (!json_object_get(v, "prefix"))
			return model_fail(c, f, "required");
		return decode_asn_list(c, f, json_object_get(v, "prefix"), 1, 10, &op->prefix,
		                       &op->nprefix);
	}
	v = json_object_get(o, "setPriority");
	const char *const *f1 = bgp_filter_value_fields;
	op->kind = BGP_OP_SET_PRIORITY;
	snprintf(f, sizeof(f), "%s.setPriority", path);
	if (!json_is_object(v))
		return model_fail(c, f, "must be an object with a value");
	if ((rc = model_check_fields(c, f, v, f1, NULL)) < 0)
		return rc;
	snprintf(f, sizeof(f), "%s.setPriority.value", path);
	if (!json_object_get(v, "value"))
		return model_fail(c, f, "required");
	return model_parse_priority(c, f, json_object_get(v, "value"), &op->priority);
}

static int decode_rule(const struct model_ctx *c, const char *path, const json_t *o, int family,
                       struct bgp_filter_rule *r)
{
	int maxlen = family == 4 ? 32 : 128;
	char f[128];
	const json_t *v;
	const char *s = NULL;
	int rc;

#define FIELD(name) (snprintf(f, sizeof(f), "%s." name, path), f)
	if (!json_is_object(o))
		return model_fail(c, path, "must be an object");
	if ((rc = model_check_fields(c, path, o, bgp_filter_rule_fields, NULL)) < 0)
		return rc;

	v = json_object_get(o, "action");
	if (!v)
		return model_fail(c, FIELD("action"), "required (Accept or Reject)");
	if ((rc = model_get_string(c, FIELD("action"), v, &s)) < 0)
		return rc;
	if (!strcmp(s, "Accept"))
		r->action = BGP_ACCEPT;
	else if (!strcmp(s, "Reject"))
		r->action = BGP_REJECT;
	else
		return model_fail(c, f, "\"%s\" is not Accept or Reject", s);

	if ((v = json_object_get(o, "cidr")) && !json_is_null(v)) {
		if ((rc = model_get_string(c, FIELD("cidr"), v, &s)) < 0)
			return rc;
		if (*s) {
			char canon[BIRD_CIDR_LEN], why[200];
			int bits;
			rc = bird_cidr_canon(s, family, canon, &bits, why, sizeof(why));
			if (rc == -ERANGE)
				return model_fail(c, f, "%s", why);
			if (rc < 0)
				return model_fail(c, f, "\"%s\" is not an IPv%d CIDR", s, family);
			/* Rendered as written, as Calico's confd does: any spelling
			 * BIRD parses matches the same routes. */
			if (!(r->cidr = strdup(s)))
				return herr_set(c->err, -ENOMEM, "out of memory");
		}
	}
	if ((v = json_object_get(o, "matchOperator")) && !json_is_null(v)) {
		static const char *const names[] = {"", "Equal", "NotEqual", "In", "NotIn"};
		if ((rc = model_get_string(c, FIELD("matchOperator"), v, &s)) < 0)
			return rc;
		for (int i = 1; i < 5; i++)
			if (!strcmp(s, names[i]))
				r->op = (enum bgp_match_op)i;
		if (*s && r->op == BGP_MATCH_NONE)
			return model_fail(c, f, "\"%s\" is not Equal, NotEqual, In or NotIn", s);
	}
	if (!r->cidr != (r->op == BGP_MATCH_NONE))
		return model_fail(c, r->cidr ? FIELD("matchOperator") : FIELD("cidr"),
		                  "cidr and matchOperator must both be set or both be empty");

	if ((v = json_object_get(o, "prefixLength")) && !json_is_null(v)) {
		const char *const *pl = bgp_filter_prefix_length_fields;
		long long x = 0;
		if (!json_is_object(v))
			return model_fail(c, FIELD("prefixLength"),
			                  "must be an object with min/max");
		if ((rc = model_check_fields(c, FIELD("prefixLength"), v, pl, NULL)) < 0)
			return rc;
		if (!r->cidr)
			return model_fail(c, FIELD("prefixLength"), "requires cidr");
		if (json_object_get(v, "min")) {
			if ((rc = model_parse_int_range(c, FIELD("prefixLength.min"),
			                                json_object_get(v, "min"), 0, maxlen, &x)) <
			    0)
				return rc;
			r->has_min_len = true;
			r->min_len = (int)x;
		}
		if (json_object_get(v, "max")) {
			if ((rc = model_parse_int_range(c, FIELD("prefixLength.max"),
			                                json_object_get(v, "max"), 0, maxlen, &x)) <
			    0)
				return rc;
			r->has_max_len = true;
			r->max_len = (int)x;
		}
		/* The rendered range is {max(mask,min), min(maxlen,max)}; BIRD rejects
		 * an empty one, so catch it here with the field named. */
		int mask = atoi(strchr(r->cidr, '/') + 1);
		int lo = r->has_min_len && r->min_len > mask ? r->min_len : mask;
		int hi = r->has_max_len ? r->max_len : maxlen;
		if (lo > hi)
			return model_fail(
			    c, FIELD("prefixLength"),
			    "range {%d,%d} is empty for %s (min is at least the mask)", lo, hi,
			    r->cidr);
	}

	if ((v = json_object_get(o, "source")) && !json_is_null(v)) {
		if ((rc = model_get_string(c, FIELD("source"), v, &s)) < 0)
			return rc;
		if (strcmp(s, "RemotePeers") && *s)
			return model_fail(c, f, "\"%s\" is not RemotePeers", s);
		r->source_remote_peers = *s != '\0';
	}
	if ((v = json_object_get(o, "interface")) && !json_is_null(v)) {
		size_t len;
		if ((rc = model_get_string(c, FIELD("interface"), v, &s)) < 0)
			return rc;
		len = strlen(s);
		bool ok = len >= 1 && len <= 15;
		for (size_t i = 0; ok && i < len; i++)
			ok = isalnum((unsigned char)s[i]) || strchr("_.*-", s[i]);
		if (!ok)
			return model_fail(
			    c, f,
			    "\"%s\" is not an interface pattern (1..15 of a-z A-Z 0-9 _ . * -)", s);
		if (!(r->iface = strdup(s)))
			return herr_set(c->err, -ENOMEM, "out of memory");
	}
	if ((v = json_object_get(o, "peerType")) && !json_is_null(v)) {
		if ((rc = model_get_string(c, FIELD("peerType"), v, &s)) < 0)
			return rc;
		if (!strcmp(s, "eBGP"))
			r->peer_type = BGP_PEER_EBGP;
		else if (!strcmp(s, "iBGP"))
			r->peer_type = BGP_PEER_IBGP;
		else if (*s)
			return model_fail(c, f, "\"%s\" is not eBGP or iBGP", s);
	}
	if ((v = json_object_get(o, "communities")) && !json_is_null(v)) {
		const char *const *cf = bgp_filter_communities_fields;
		const json_t *vals;
		if (!json_is_object(v))
			return model_fail(c, FIELD("communities"), "must be an object with values");
		if ((rc = model_check_fields(c, FIELD("communities"), v, cf, NULL)) < 0)
			return rc;
		vals = json_object_get(v, "values");
		if (!json_is_array(vals) || json_array_size(vals) != 1)
			return model_fail(c, FIELD("communities.values"),
			                  "must hold exactly one community");
		if ((rc = decode_community_field(c, FIELD("communities.values[0]"),
		                                 json_array_get(vals, 0), &r->community)) < 0)
			return rc;
		r->has_community = true;
	}
	if ((v = json_object_get(o, "asPathPrefix")) && !json_is_null(v))
		if ((rc = decode_asn_list(c, FIELD("asPathPrefix"), v, 0, BGP_AS_PATH_PREFIX_MAX,
		                          &r->as_path_prefix, &r->nas_path_prefix)) < 0)
			return rc;
	if ((v = json_object_get(o, "priority")) && !json_is_null(v))
		if ((rc = model_parse_priority(c, FIELD("priority"), v, &r->priority)) < 0)
			return rc;

	if ((v = json_object_get(o, "operations")) && !json_is_null(v)) {
		size_t i;
		json_t *e;
		if (!json_is_array(v))
			return model_fail(c, FIELD("operations"), "must be a list");
		if (r->action != BGP_ACCEPT)
			return model_fail(c, FIELD("operations"),
			                  "only allowed with action Accept");
		if (json_array_size(v) < 1 || json_array_size(v) > 10)
			return model_fail(c, FIELD("operations"), "must have 1..10 items");
		r->ops = calloc(json_array_size(v), sizeof(*r->ops));
		if (!r->ops)
			return herr_set(c->err, -ENOMEM, "out of memory");
		json_array_foreach(v, i, e)
		{
			snprintf(f, sizeof(f), "%s.operations[%zu]", path, i);
			r->nops++;
			if ((rc = decode_operation(c, f, e, &r->ops[i])) < 0)
				return rc;
		}
	}
#undef FIELD
	return 0;
}

static void rule_free(struct bgp_filter_rule *r)
{
	free(r->cidr);
	free(r->iface);
	free(r->as_path_prefix);
	for (size_t i = 0; i < r->nops; i++)
		free(r->ops[i].prefix);
	free(r->ops);
}

void bgp_filter_free(struct bgp_filter *f)
{
	if (!f)
		return;
	free(f->name);
	for (int fam = 0; fam < 2; fam++)
		for (int d = 0; d < 2; d++) {
			for (size_t i = 0; i < f->rules[fam][d].n; i++)
				rule_free(&f->rules[fam][d].v[i]);
			free(f->rules[fam][d].v);
		}
	memset(f, 0, sizeof(*f));
}

const char *const bgp_filter_spec_fields[] = {"exportV4", "importV4", "exportV6", "importV6", NULL};

int bgp_filter_decode(const json_t *obj, struct bgp_filter *out, struct herr *err)
{
	static const char *const lists[2][2] = {{"importV4", "exportV4"}, {"importV6", "exportV6"}};
	const char *const *spec_fields = bgp_filter_spec_fields;
	const char *name;
	const json_t *spec;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = model_decode_name(obj, "BGPFilter", &name, err)) < 0)
		return rc;
	struct model_ctx c = {"BGPFilter", name, err};
	if (!model_dns1123_subdomain(name))
		return model_fail(&c, "metadata.name",
		                  "not a valid name (lower-case letters, digits, '-' and '.', "
		                  "starting and ending with a letter or digit, at most 253)");
	if (!(out->name = strdup(name)))
		return herr_set(err, -ENOMEM, "out of memory");
	spec = json_object_get(obj, "spec");
	if (spec && !json_is_null(spec)) {
		if (!json_is_object(spec)) {
			rc = model_fail(&c, "spec", "must be an object");
			goto out;
		}
		if ((rc = model_check_fields(&c, "spec", spec, spec_fields, NULL)) < 0)
			goto out;
		for (int fam = 0; fam < 2; fam++)
			for (int d = 0; d < 2; d++) {
				const json_t *l = json_object_get(spec, lists[fam][d]);
				struct bgp_rule_list *rl = &out->rules[fam][d];
				char path[64];
				size_t i;
				json_t *e;

				if (!l || json_is_null(l))
					continue;
				snprintf(path, sizeof(path), "spec.%s", lists[fam][d]);
				if (!json_is_array(l)) {
					rc = model_fail(&c, path, "must be a list of rules");
					goto out;
				}
				if (json_array_size(l) == 0)
					continue;
				rl->v = calloc(json_array_size(l), sizeof(*rl->v));
				if (!rl->v) {
					rc = herr_set(err, -ENOMEM, "out of memory");
					goto out;
				}
				json_array_foreach(l, i, e)
				{
					snprintf(path, sizeof(path), "spec.%s[%zu]", lists[fam][d],
					         i);
					rl->n++;
					rc = decode_rule(&c, path, e, fam == 0 ? 4 : 6, &rl->v[i]);
					if (rc < 0)
						goto out;
				}
			}
	}
	return 0;
out:
	bgp_filter_free(out);
	return rc;
}
