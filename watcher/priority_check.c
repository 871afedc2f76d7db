/* priority_check.c - see priority_check.h. Pure: the caller logs. */
#define _GNU_SOURCE
#include "priority_check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
	char **v;
	size_t n;
	int err;
};

static void add(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct out *o, const char *fmt, ...)
{
	char *s = NULL, **nv;
	va_list ap;

	if (o->err)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s || !(nv = realloc(o->v, (o->n + 1) * sizeof(*nv)))) {
		free(s);
		o->err = -ENOMEM;
		return;
	}
	o->v = nv;
	o->v[o->n++] = s;
}

static const char *const rule_lists[2][2] = {{"importV4", "exportV4"}, {"importV6", "exportV6"}};

/* A value a rule compares with or sets: one of the node's two priorities. */
static void check_value(struct out *o, const struct route_config *rc, const struct bgp_filter *f,
                        int fam, int dir, size_t i, const char *field, uint32_t v)
{
	uint32_t n = rc->normal[fam], e = rc->elevated[fam];

	if (v == n || v == e)
		return;
	add(o,
	    "BGPFilter %s: %s[%zu].%s %u is neither the normal (%u) nor the elevated (%u) IPv%d "
	    "route priority of FelixConfiguration",
	    f->name, rule_lists[fam][dir], i, field, v, n, e, fam == BGP_V4 ? 4 : 6);
}

int priority_check(const struct route_config *rc, const struct bgp_resources *set, char ***out)
{
	struct out o = {0};
	const struct bgp_config *global = NULL;

	for (size_t i = 0; i < set->nconfigs; i++)
		if (!strcmp(set->configs[i].name, "default"))
			global = &set->configs[i];
	for (int fam = BGP_V4; fam <= BGP_V6; fam++) {
		uint32_t bgp = global ? global->normal[fam] : BGP_DEFAULT_PRIORITY;
		if (bgp != rc->normal[fam])
			add(&o,
			    "BGPConfiguration %s: ipv%dNormalRoutePriority %u differs from "
			    "FelixConfiguration's IPv%d normal route priority %u (they must be "
			    "equal)",
			    global ? "default" : "(none, so the default)", fam == BGP_V4 ? 4 : 6,
			    bgp, fam == BGP_V4 ? 4 : 6, rc->normal[fam]);
	}
	for (size_t k = 0; k < set->nfilters; k++) {
		const struct bgp_filter *f = &set->filters[k];
		for (int fam = BGP_V4; fam <= BGP_V6; fam++)
			for (int dir = BGP_IMPORT; dir <= BGP_EXPORT; dir++)
				for (size_t i = 0; i < f->rules[fam][dir].n; i++) {
					const struct bgp_filter_rule *r = &f->rules[fam][dir].v[i];
					if (r->priority)
						check_value(&o, rc, f, fam, dir, i, "priority",
						            r->priority);
					for (size_t j = 0; j < r->nops; j++)
						if (r->ops[j].kind == BGP_OP_SET_PRIORITY)
							check_value(&o, rc, f, fam, dir, i,
							            "operations.setPriority",
							            r->ops[j].priority);
				}
	}
	if (o.err) {
		priority_check_free(o.v, o.n);
		*out = NULL;
		return o.err;
	}
	*out = o.v;
	return (int)o.n;
}

void priority_check_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
