/* model.c - label sets, identities, endpoint helpers. Decoders are in decode.c. */
#include "core/model.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Binary search for `key`; returns its index or where it would be inserted. */
static size_t labels_find(const struct labels *l, const char *key, bool *found)
{
	size_t lo = 0, hi = l->n;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(l->v[mid].key, key);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const char *labels_get(const struct labels *l, const char *key)
{
	bool found;
	size_t i;

	if (!l || !l->n)
		return NULL;
	i = labels_find(l, key, &found);
	return found ? l->v[i].value : NULL;
}

int labels_set(struct labels *l, const char *key, const char *value)
{
	bool found;
	size_t i = labels_find(l, key, &found);
	char *v = strdup(value);

	if (!v)
		return -ENOMEM;
	if (found) {
		free(l->v[i].value);
		l->v[i].value = v;
		return 0;
	}
	char *k = strdup(key);
	struct label *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (!k || !nv) {
		free(k);
		free(v);
		if (nv)
			l->v = nv;
		return -ENOMEM;
	}
	l->v = nv;
	memmove(&l->v[i + 1], &l->v[i], (l->n - i) * sizeof(*nv));
	l->v[i].key = k;
	l->v[i].value = v;
	l->n++;
	return 0;
}

int labels_copy(struct labels *dst, const struct labels *src)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; src && i < src->n; i++) {
		if (labels_set(dst, src->v[i].key, src->v[i].value) < 0) {
			labels_free(dst);
			return -ENOMEM;
		}
	}
	return 0;
}

bool labels_equal(const struct labels *a, const struct labels *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].key, b->v[i].key) || strcmp(a->v[i].value, b->v[i].value))
			return false;
	return true;
}

void labels_free(struct labels *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int wep_ident_set(struct wep_ident *id, const char *hostname, const char *orchestrator,
                  const char *workload, const char *endpoint)
{
	struct wep_ident n;

	orchestrator = orchestrator ? orchestrator : "";
	/* A k8s workload id (namespace/pod) is unique without the host. */
	if (!hostname || !strcmp(orchestrator, "k8s"))
		hostname = "";
	n.hostname = strdup(hostname);
	n.orchestrator = strdup(orchestrator);
	n.workload = strdup(workload ? workload : "");
	n.endpoint = strdup(endpoint ? endpoint : "");
	if (!n.hostname || !n.orchestrator || !n.workload || !n.endpoint) {
		wep_ident_free(&n);
		return -ENOMEM;
	}
	wep_ident_free(id);
	*id = n;
	return 0;
}

bool wep_ident_equal(const struct wep_ident *a, const struct wep_ident *b)
{
	return !strcmp(a->hostname, b->hostname) && !strcmp(a->orchestrator, b->orchestrator) &&
	       !strcmp(a->workload, b->workload) && !strcmp(a->endpoint, b->endpoint);
}

void wep_ident_free(struct wep_ident *id)
{
	free(id->hostname);
	free(id->orchestrator);
	free(id->workload);
	free(id->endpoint);
	memset(id, 0, sizeof(*id));
}

void endpoint_ifname(const char *ns, const char *name, char out[HANDOFF_IFNAMSIZ])
{
	/* FNV-1a over "<ns>.<name>": stable across releases and hosts, and the
	 * CNI and the watcher compute it independently. */
	uint64_t h = 0xcbf29ce484222325ull;
	const char *parts[3] = {ns, ".", name};

	for (int p = 0; p < 3; p++)
		for (const unsigned char *c = (const unsigned char *)parts[p]; *c; c++) {
			h ^= *c;
			h *= 0x100000001b3ull;
		}
	snprintf(out, HANDOFF_IFNAMSIZ, "ho%012llx", (unsigned long long)(h & 0xffffffffffffull));
}

int addr_family(const char *addr)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, addr, buf) == 1)
		return 4;
	if (inet_pton(AF_INET6, addr, buf) == 1)
		return 6;
	return 0;
}

int endpoint_copy(struct endpoint *dst, const struct endpoint *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->key = strdup(src->key ? src->key : "");
	dst->ns = strdup(src->ns ? src->ns : "");
	dst->name = strdup(src->name ? src->name : "");
	dst->node = strdup(src->node ? src->node : "");
	if (!dst->key || !dst->ns || !dst->name || !dst->node)
		goto nomem;
	if (src->id.orchestrator && wep_ident_set(&dst->id, src->id.hostname, src->id.orchestrator,
	                                          src->id.workload, src->id.endpoint) < 0)
		goto nomem;
	if (labels_copy(&dst->labels, &src->labels) < 0)
		goto nomem;
	if (src->naddrs) {
		dst->addrs = malloc(src->naddrs * sizeof(*dst->addrs));
		if (!dst->addrs)
			goto nomem;
		memcpy(dst->addrs, src->addrs, src->naddrs * sizeof(*dst->addrs));
		dst->naddrs = src->naddrs;
	}
	memcpy(dst->ifname, src->ifname, sizeof(dst->ifname));
	memcpy(dst->mac, src->mac, sizeof(dst->mac));
	dst->host_network = src->host_network;
	dst->adopt_iface = src->adopt_iface;
	return 0;
nomem:
	endpoint_free(dst);
	return -ENOMEM;
}

void endpoint_free(struct endpoint *ep)
{
	free(ep->key);
	free(ep->ns);
	free(ep->name);
	free(ep->node);
	wep_ident_free(&ep->id);
	labels_free(&ep->labels);
	free(ep->addrs);
	memset(ep, 0, sizeof(*ep));
}
