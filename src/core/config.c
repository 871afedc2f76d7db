/* config.c - route priorities and convergence time from FelixConfigurations
 * (calico-semantics C.1): defaults, then `default`, then `node.<node>`. */
#include "core/config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void route_config_defaults(struct route_config *rc)
{
	rc->normal[AF_IDX_V4] = rc->normal[AF_IDX_V6] = DEFAULT_NORMAL_PRIORITY;
	rc->elevated[AF_IDX_V4] = rc->elevated[AF_IDX_V6] = DEFAULT_ELEVATED_PRIORITY;
	rc->convergence_ms = DEFAULT_CONVERGENCE_MS;
}

/* Copy the fields `fc` carries over what is resolved so far. */
static void route_config_overlay(struct route_config *rc, const struct felix_config *fc)
{
	if (fc->set & FC_IPV4_NORMAL)
		rc->normal[AF_IDX_V4] = fc->ipv4_normal;
	if (fc->set & FC_IPV4_ELEVATED)
		rc->elevated[AF_IDX_V4] = fc->ipv4_elevated;
	if (fc->set & FC_IPV6_NORMAL)
		rc->normal[AF_IDX_V6] = fc->ipv6_normal;
	if (fc->set & FC_IPV6_ELEVATED)
		rc->elevated[AF_IDX_V6] = fc->ipv6_elevated;
	if (fc->set & FC_CONVERGENCE)
		rc->convergence_ms = fc->convergence_ms;
}

void route_config_resolve(const struct felix_config *const *objs, size_t n, const char *node,
                          struct route_config *out, struct herr *warn)
{
	char node_name[300] = "";
	size_t off = 0;

	route_config_defaults(out);
	if (node && *node)
		snprintf(node_name, sizeof(node_name), "node.%s", node);
	/* Two passes so that input order never matters: the node object wins. */
	for (int pass = 0; pass < 2; pass++) {
		const char *want = pass == 0 ? "default" : node_name;
		if (!*want)
			continue;
		for (size_t i = 0; i < n; i++)
			if (objs[i] && objs[i]->name && !strcmp(objs[i]->name, want))
				route_config_overlay(out, objs[i]);
	}

	if (!warn)
		return;
	warn->msg[0] = '\0';
	/* Calico documents elevated < normal but does not enforce it (C.1):
	 * keep the values, and say why migrations will not be preferred. */
	for (int af = AF_IDX_V4; af <= AF_IDX_V6; af++) {
		if (out->elevated[af] < out->normal[af])
			continue;
		int w = snprintf(warn->msg + off, sizeof(warn->msg) - off,
		                 "%sIPv%d elevated route priority %u is not below normal priority "
		                 "%u: a migrated workload's route will not be preferred",
		                 off ? "; " : "", af == AF_IDX_V4 ? 4 : 6, out->elevated[af],
		                 out->normal[af]);
		if (w < 0 || (size_t)w >= sizeof(warn->msg) - off)
			break;
		off += (size_t)w;
	}
}

/* Milliseconds per unit; longer names first so "ms" is not read as "m". */
static const struct {
	const char *name;
	uint64_t ms;
} duration_units[] = {
    {"ms", 1},
    {"h", 3600000},
    {"m", 60000},
    {"s", 1000},
};

#define DURATION_MAX_MS (UINT64_MAX / 2)

/* Go's time.ParseDuration grammar (what Kubernetes uses), restricted to the
 * units the FelixConfiguration CRD pattern allows: a sequence of decimal
 * numbers, each with an optional fraction and a unit (h, m, s, ms), e.g.
 * "1h", "1m30s", "1.5s", "500ms"; a bare "0" is zero. Negative durations are
 * rejected (a negative convergence time means nothing), and so is Go's
 * optional "+" sign, which no Kubernetes object carries. Precision is one
 * millisecond: a fraction of a millisecond is truncated. */
int parse_k8s_duration(const char *text, uint64_t *ms, struct herr *err)
{
	static const char hint[] = "(expected e.g. 30s, 1m30s, 500ms)";
	const char *p = text;
	uint64_t total = 0;

	if (!text || !*text)
		return herr_set(err, -EINVAL, "\"\" is not a duration %s", hint);
	if (*p == '-')
		return herr_set(err, -EINVAL, "\"%s\" is negative; a duration must be >= 0", text);
	if (!strcmp(text, "0")) {
		*ms = 0;
		return 0;
	}
	while (*p) {
		uint64_t whole = 0, frac = 0, scale = 1;
		bool digits = false;

		for (; *p >= '0' && *p <= '9'; p++, digits = true) {
			if (whole > (DURATION_MAX_MS - 9) / 10)
				return herr_set(err, -EINVAL, "\"%s\" is too large", text);
			whole = whole * 10 + (uint64_t)(*p - '0');
		}
		if (*p == '.') {
			/* Nine fraction digits are more than a millisecond needs. */
			for (p++; *p >= '0' && *p <= '9'; p++, digits = true)
				if (scale < 1000000000u) {
					frac = frac * 10 + (uint64_t)(*p - '0');
					scale *= 10;
				}
		}
		if (!digits)
			return herr_set(err, -EINVAL, "\"%s\" is not a duration %s", text, hint);
		size_t u;
		for (u = 0; u < sizeof(duration_units) / sizeof(duration_units[0]); u++)
			if (!strncmp(p, duration_units[u].name, strlen(duration_units[u].name)))
				break;
		if (u == sizeof(duration_units) / sizeof(duration_units[0]))
			return herr_set(err, -EINVAL, "\"%s\" is not a duration %s", text, hint);
		uint64_t unit = duration_units[u].ms;
		p += strlen(duration_units[u].name);
		if (whole > (DURATION_MAX_MS - total) / unit)
			return herr_set(err, -EINVAL, "\"%s\" is too large", text);
		/* frac < scale <= 1e9 and unit <= 3.6e6: the product fits. */
		total += whole * unit + frac * unit / scale;
		if (total > DURATION_MAX_MS)
			return herr_set(err, -EINVAL, "\"%s\" is too large", text);
	}
	*ms = total;
	return 0;
}
