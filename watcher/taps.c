/* taps.c - adopt hypervisor-made interfaces (see taps.h). */
#include "taps.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "dataplane/link.h"
#include "dataplane/link_ll.h"
#include "util/log.h"
#include "watcher.h"

struct tap {
	char ifname[HANDOFF_IFNAMSIZ];
	char *key;        /* the endpoint's, for the log */
	unsigned ifindex; /* the link last prepared (0: none yet) */
	bool pending;     /* prepare at the next sync */
};

struct taps {
	char mac[18];
	struct tap *v;
	size_t n;
};

/* Six hex bytes separated by ':', the first one's multicast bit clear. */
static bool unicast_mac(const char *s)
{
	unsigned b[6];
	char tail;

	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
	                              &b[4], &b[5], &tail) != 6)
		return false;
	for (int i = 0; i < 6; i++)
		if (s[i * 3 + 2] != (i == 5 ? '\0' : ':'))
			return false;
	return !(b[0] & 1) && (b[0] | b[1] | b[2] | b[3] | b[4] | b[5]);
}

struct taps *taps_new(const char *gateway_mac, struct herr *err)
{
	const char *mac = gateway_mac ? gateway_mac : LINK_HOST_MAC_DEFAULT;
	struct taps *t;

	if (!unicast_mac(mac)) {
		herr_set(
		    err, -EINVAL,
		    "--gateway-mac: \"%s\" is not a unicast MAC address like ee:ee:ee:ee:ee:ee",
		    mac);
		return NULL;
	}
	if (!(t = calloc(1, sizeof(*t)))) {
		herr_set(err, -ENOMEM, "taps: out of memory");
		return NULL;
	}
	memcpy(t->mac, mac, sizeof(t->mac));
	return t;
}

static void tap_list_free(struct tap *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].key);
	free(v);
}

void taps_free(struct taps *t)
{
	if (!t)
		return;
	tap_list_free(t->v, t->n);
	free(t);
}

static const struct tap *find(const struct tap *v, size_t n, const char *ifname)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].ifname, ifname))
			return &v[i];
	return NULL;
}

void taps_on_link(void *arg, const char *ifname)
{
	struct watcher *w = arg;

	if (!w->taps)
		return;
	struct tap *tap = (struct tap *)find(w->taps->v, w->taps->n, ifname);

	if (tap)
		tap->pending = true;
}

/* The engine's endpoints whose interface the watcher prepares; what was
 * known of an interface already is kept. A list that cannot be built leaves
 * the old one in force (retried at the next change). */
static void follow_endpoints(struct watcher *w)
{
	const struct endpoint *const *eps;
	size_t n = engine_endpoints(w->engine, &eps), m = 0;
	struct tap *v = calloc(n + 1, sizeof(*v));

	if (!v) {
		hlog(HLOG_ERROR, "Out of memory", "what=\"hypervisor interfaces\"");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (!eps[i]->adopt_iface || !eps[i]->ifname[0] || find(v, m, eps[i]->ifname))
			continue;
		const struct tap *old = find(w->taps->v, w->taps->n, eps[i]->ifname);
		if (!(v[m].key = strdup(eps[i]->key))) {
			tap_list_free(v, m);
			return;
		}
		memcpy(v[m].ifname, eps[i]->ifname, sizeof(v[m].ifname));
		v[m].ifindex = old ? old->ifindex : 0;
		v[m].pending = old ? old->pending : true;
		m++;
	}
	tap_list_free(w->taps->v, w->taps->n);
	w->taps->v = v;
	w->taps->n = m;
}

static void prepare(struct taps *t, struct tap *tap)
{
	struct herr err = {{0}};
	unsigned idx = if_nametoindex(tap->ifname);

	tap->pending = false;
	if (!idx) {
		if (tap->ifindex)
			hlog(HLOG_INFO, "Hypervisor interface gone; waiting for it",
			     "interface=%s id=%s", tap->ifname, tap->key);
		else
			hlog(HLOG_DEBUG, "Hypervisor interface not there yet", "interface=%s id=%s",
			     tap->ifname, tap->key);
		tap->ifindex = 0;
		return;
	}
	if (link_setup_host_iface(tap->ifname, t->mac, &err) < 0 ||
	    link_ensure_gateway_ll(tap->ifname, t->mac, &err) < 0) {
		/* Retried when netlink reports the link again. */
		hlog(HLOG_WARN, "Cannot prepare hypervisor interface",
		     "interface=%s id=%s error=%s", tap->ifname, tap->key, hlog_q(err.msg));
		return;
	}
	if (idx != tap->ifindex)
		hlog(HLOG_INFO, "Adopted hypervisor interface",
		     "interface=%s id=%s ifindex=%u gateway_mac=%s", tap->ifname, tap->key, idx,
		     t->mac);
	tap->ifindex = idx;
}

void taps_sync(struct watcher *w, bool endpoints_changed)
{
	if (!w->taps)
		return;
	if (endpoints_changed)
		follow_endpoints(w);
	for (size_t i = 0; i < w->taps->n; i++)
		if (w->taps->v[i].pending)
			prepare(w->taps, &w->taps->v[i]);
}
