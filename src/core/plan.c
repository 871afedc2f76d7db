/* plan.c - desired routes, ARP-reply drops and captures (calico-semantics B.5, B.8).
 *
 * Everything is derived from the endpoints, the FSM state of each and the
 * resolved priorities; nothing is remembered between calls. Addresses are
 * parsed once with inet_pton so that the text in the plan is canonical
 * (inet_ntop) and the sort is numeric, not textual. */
#include "core/plan.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The kernel metric for an endpoint's routes in `state`; 0 means no route. */
static uint32_t route_metric_for_state(enum lm_state state, int fam_idx,
                                       const struct route_config *cfg)
{
	switch (state) {
	case LM_TARGET:
		return 0; /* the VM still runs on the source: attract nothing */
	case LM_LIVE:
	case LM_TIMEWAIT:
		return cfg->elevated[fam_idx];
	default:
		return cfg->normal[fam_idx];
	}
}

/* A parsed address: family 4 or 6 and its bytes in network order. */
struct addr_bin {
	int family;
	unsigned char b[16];
};

static bool addr_parse(const char *text, struct addr_bin *a)
{
	memset(a, 0, sizeof(*a));
	a->family = addr_family(text);
	if (a->family == 4)
		return inet_pton(AF_INET, text, a->b) == 1;
	if (a->family == 6)
		return inet_pton(AF_INET6, text, a->b) == 1;
	return false;
}

/* Family first, then the address as a number. */
static int addr_cmp(const struct addr_bin *a, const struct addr_bin *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->b, b->b, a->family == 4 ? 4 : 16);
}

/* Copy a NUL-terminated string into a fixed field, truncated as snprintf
 * would; the field's tail is left as it was (zeroed by calloc here). */
static void field_copy(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* inet_ntop's text for an address: dotted decimal for IPv4 (written here:
 * glibc formats it with sprintf, which dominated the plan's cost), RFC 5952
 * for IPv6. Returns the length. */
static size_t addr_text(const struct addr_bin *a, char out[INET6_ADDRSTRLEN])
{
	char *p = out;

	if (a->family != 4) {
		inet_ntop(AF_INET6, a->b, out, INET6_ADDRSTRLEN);
		return strlen(out);
	}
	for (int i = 0; i < 4; i++) {
		unsigned v = a->b[i];
		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		if (i < 3)
			*p++ = '.';
	}
	*p = '\0';
	return (size_t)(p - out);
}

/* A route under construction, with its parsed destination for sorting. */
struct route_tmp {
	struct addr_bin addr;
	struct plan_route r;
};

/* The plan's route order: family, address as a number, then (two endpoints
 * claiming one address) interface and endpoint, so the output is deterministic. */
int plan_route_order(const struct plan_route *a, const struct plan_route *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if ((c = memcmp(a->addr, b->addr, a->family == 4 ? 4 : 16)))
		return c;
	if ((c = strcmp(a->ifname, b->ifname)))
		return c;
	return strcmp(a->endpoint_key, b->endpoint_key);
}

/* Sorting pointers: a route is some 110 bytes, too big to move around. */
static int route_ptr_cmp(const void *pa, const void *pb)
{
	return plan_route_order(*(const struct plan_route *const *)pa,
	                        *(const struct plan_route *const *)pb);
}

/* Interface, then (two endpoints on one interface) the first address. */
int plan_arp_order(const struct plan_arp *a, const struct plan_arp *b)
{
	int c = strcmp(a->ifname, b->ifname);
	if (c || !a->naddrs || !b->naddrs)
		return c ? c : (a->naddrs > b->naddrs) - (a->naddrs < b->naddrs);
	return strcmp(a->addrs[0], b->addrs[0]);
}

static int arp_cmp(const void *pa, const void *pb)
{
	return plan_arp_order(pa, pb);
}

int plan_capture_order(const struct plan_capture *a, const struct plan_capture *b)
{
	int c = strcmp(a->ifname, b->ifname);
	return c ? c : strcmp(a->endpoint_key, b->endpoint_key);
}

static int capture_cmp(const void *pa, const void *pb)
{
	return plan_capture_order(pa, pb);
}

int plan_compute(const struct endpoint *const *eps, size_t n, const struct lm_monitor *states,
                 const struct route_config *cfg, struct plan *out)
{
	size_t naddrs = 0, keys_len = 1, keys_used = 0;
	struct route_tmp *tmp = NULL;
	const struct plan_route **order = NULL;
	size_t ntmp = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		naddrs += eps[i]->naddrs;
		keys_len += strlen(eps[i]->key ? eps[i]->key : "") + 1;
	}
	/* Upper bounds: one route per address, one ARP entry and one capture
	 * per endpoint. calloc(0) may return NULL, so allocate at least one. */
	tmp = calloc(naddrs ? naddrs : 1, sizeof(*tmp));
	out->arps = calloc(n ? n : 1, sizeof(*out->arps));
	out->captures = calloc(n ? n : 1, sizeof(*out->captures));
	/* Routes and captures point into one pool of keys sized up front: one
	 * allocation, and no pointer moves. */
	out->keys = malloc(keys_len);
	if (!tmp || !out->arps || !out->captures || !out->keys)
		goto nomem;

	for (size_t i = 0; i < n; i++) {
		const struct endpoint *ep = eps[i];
		const char *key = ep->key ? ep->key : "";
		enum lm_state st = states ? lm_monitor_state(states, key) : LM_BASE;
		struct plan_arp *arp = &out->arps[out->narps];

		/* Without a host interface there is nothing to route to or filter on. */
		if (!ep->ifname[0])
			continue;
		size_t klen = strlen(key) + 1;
		memcpy(out->keys + keys_used, key, klen);
		key = out->keys + keys_used;
		keys_used += klen;
		for (size_t a = 0; a < ep->naddrs; a++) {
			struct route_tmp *t = &tmp[ntmp];
			if (!addr_parse(ep->addrs[a], &t->addr))
				continue; /* the decoder rejects these; never route garbage */

			char text[INET6_ADDRSTRLEN];
			size_t tlen = addr_text(&t->addr, text);
			/* Any text (at most 45) and "/128" fit dst. */
			memcpy(t->r.dst, text, tlen);
			memcpy(t->r.dst + tlen, t->addr.family == 4 ? "/32" : "/128",
			       t->addr.family == 4 ? 4 : 5);
			t->r.family = t->addr.family;
			memcpy(t->r.addr, t->addr.b, sizeof(t->r.addr));
			field_copy(t->r.ifname, sizeof(t->r.ifname), ep->ifname);
			t->r.endpoint_key = key;
			t->r.metric = route_metric_for_state(
			    st, t->addr.family == 4 ? AF_IDX_V4 : AF_IDX_V6, cfg);
			ntmp++;

			/* ARP-reply drops are IPv4 only, for every state (B.8). */
			if (t->addr.family != 4)
				continue;
			if (!arp->addrs) {
				arp->addrs = calloc(ep->naddrs, sizeof(*arp->addrs));
				if (!arp->addrs)
					goto nomem;
				field_copy(arp->ifname, sizeof(arp->ifname), ep->ifname);
				out->narps++;
			}
			field_copy(arp->addrs[arp->naddrs++], HANDOFF_ADDRSIZ, text);
		}
		if (st == LM_TARGET) {
			struct plan_capture *c = &out->captures[out->ncaptures++];
			field_copy(c->ifname, sizeof(c->ifname), ep->ifname);
			c->endpoint_key = key;
		}
	}

	out->keys_len = keys_used;
	qsort(out->arps, out->narps, sizeof(*out->arps), arp_cmp);
	qsort(out->captures, out->ncaptures, sizeof(*out->captures), capture_cmp);
	if (ntmp) {
		out->routes = malloc(ntmp * sizeof(*out->routes));
		order = malloc(ntmp * sizeof(*order));
		if (!out->routes || !order)
			goto nomem;
		for (size_t i = 0; i < ntmp; i++)
			order[i] = &tmp[i].r;
		qsort(order, ntmp, sizeof(*order), route_ptr_cmp);
		for (size_t i = 0; i < ntmp; i++)
			out->routes[i] = *order[i];
		out->nroutes = ntmp;
	}
	free(order);
	free(tmp);
	return 0;
nomem:
	free(order);
	free(tmp);
	plan_free(out);
	return -ENOMEM;
}

void plan_free(struct plan *p)
{
	for (size_t i = 0; p->arps && !p->addr_pool && i < p->narps; i++)
		free(p->arps[i].addrs);
	free(p->addr_pool);
	free(p->routes);
	free(p->arps);
	free(p->captures);
	free(p->keys);
	memset(p, 0, sizeof(*p));
}

/* Parse "<addr>/<len>" (the length must be the host length) or a bare address. */
static bool dst_parse(const char *dst, struct addr_bin *a)
{
	char text[HANDOFF_ADDRSIZ];
	const char *slash = strchr(dst, '/');
	size_t len = slash ? (size_t)(slash - dst) : strlen(dst);

	if (len >= sizeof(text))
		return false;
	memcpy(text, dst, len);
	text[len] = '\0';
	if (!addr_parse(text, a))
		return false;
	return !slash || !strcmp(slash + 1, a->family == 4 ? "32" : "128");
}

const struct plan_route *plan_find_route(const struct plan *p, const char *dst)
{
	struct addr_bin want, have;
	size_t lo = 0, hi = p->nroutes;

	if (!dst_parse(dst, &want))
		return NULL;
	/* Routes are sorted by (family, address): binary search for the first match. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		dst_parse(p->routes[mid].dst, &have);
		if (addr_cmp(&have, &want) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < p->nroutes && dst_parse(p->routes[lo].dst, &have) && !addr_cmp(&have, &want))
		return &p->routes[lo];
	return NULL;
}
