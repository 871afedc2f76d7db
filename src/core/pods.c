/* pods.c - decoded Pods by "namespace/name" (util/hmap), and the record merge. */
#include "core/pods.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "util/hmap.h"

struct pod_entry {
	struct hnode node; /* keyed by ep.key */
	struct endpoint ep;
};

struct pod_store {
	struct hmap map;
};

struct pod_store *pod_store_new(void)
{
	struct pod_store *s = calloc(1, sizeof(*s));

	if (s && hmap_init(&s->map) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

static struct pod_entry *entry_get(const struct pod_store *s, const char *key)
{
	struct hnode *n = hmap_get(&s->map, key, hmap_hash(key));

	return n ? container_of(n, struct pod_entry, node) : NULL;
}

void pod_store_free(struct pod_store *s)
{
	if (!s)
		return;
	/* Unlink everything first: freeing inside hmap_foreach would read freed nodes. */
	struct pod_entry **all = malloc((s->map.n + 1) * sizeof(*all));
	size_t n = 0;
	if (all) {
		hmap_foreach(&s->map, node) all[n++] = container_of(node, struct pod_entry, node);
		for (size_t i = 0; i < n; i++) {
			endpoint_free(&all[i]->ep);
			free(all[i]);
		}
		free(all);
	}
	hmap_fini(&s->map);
	free(s);
}

int pod_store_upsert(struct pod_store *s, const json_t *pod, struct herr *err)
{
	struct endpoint ep = {0};
	int r = endpoint_decode_pod(pod, &ep, err);

	if (r < 0)
		return r;
	if (ep.host_network) {
		/* Not a workload: whatever was stored under its name goes. */
		pod_store_delete(s, ep.key);
		endpoint_free(&ep);
		return 0;
	}
	struct pod_entry *e = entry_get(s, ep.key);
	if (e) {
		/* The node's key points into the old endpoint: re-link with the new one. */
		hmap_del(&s->map, &e->node);
		endpoint_free(&e->ep);
	} else if (!(e = calloc(1, sizeof(*e)))) {
		endpoint_free(&ep);
		return herr_set(err, -ENOMEM, "Pod %s: out of memory", ep.key);
	}
	e->ep = ep;
	hmap_put(&s->map, &e->node, e->ep.key);
	return 0;
}

int pod_store_delete(struct pod_store *s, const char *key)
{
	struct pod_entry *e = entry_get(s, key);

	if (!e)
		return -ENOENT;
	hmap_del(&s->map, &e->node);
	endpoint_free(&e->ep);
	free(e);
	return 0;
}

const struct endpoint *pod_store_get(const struct pod_store *s, const char *key)
{
	struct pod_entry *e = entry_get(s, key);

	return e ? &e->ep : NULL;
}

size_t pod_store_count(const struct pod_store *s)
{
	return s->map.n;
}

/* The record's "10.65.0.7/32"-style addresses, prefix dropped, in order;
 * anything that is not an address is skipped. */
static int record_addrs(struct endpoint *ep, const json_t *addrs)
{
	size_t i;
	json_t *a;

	if (!json_is_array(addrs) || !json_array_size(addrs))
		return 0;
	ep->addrs = calloc(json_array_size(addrs), sizeof(*ep->addrs));
	if (!ep->addrs)
		return -ENOMEM;
	json_array_foreach(addrs, i, a)
	{
		char buf[HANDOFF_ADDRSIZ + 8], *slash;
		if (!json_is_string(a) || json_string_length(a) >= sizeof(buf))
			continue;
		memcpy(buf, json_string_value(a), json_string_length(a) + 1);
		if ((slash = strchr(buf, '/')))
			*slash = '\0';
		if (strlen(buf) < HANDOFF_ADDRSIZ && addr_family(buf))
			memcpy(ep->addrs[ep->naddrs++], buf, strlen(buf) + 1);
	}
	return 0;
}

int endpoint_with_record(const struct endpoint *pod, const json_t *rec, struct endpoint *out)
{
	json_t *spec = json_object_get(rec, "spec");
	const char *ifname = json_string_value(json_object_get(spec, "interface"));
	const char *mac = json_string_value(json_object_get(spec, "mac"));

	if (endpoint_copy(out, pod) < 0)
		return -ENOMEM;
	if (!rec)
		return 0;
	if (ifname && *ifname && strlen(ifname) < sizeof(out->ifname))
		memcpy(out->ifname, ifname, strlen(ifname) + 1);
	if (mac && !out->mac[0] && strlen(mac) < sizeof(out->mac))
		memcpy(out->mac, mac, strlen(mac) + 1);
	if (!out->naddrs && record_addrs(out, json_object_get(spec, "addresses")) < 0) {
		endpoint_free(out);
		return -ENOMEM;
	}
	return 0;
}
