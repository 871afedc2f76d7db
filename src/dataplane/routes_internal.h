/* routes_internal.h - what the files of the route syncer share (routes.c has
 * the overview): its types, and the functions one file provides to the
 * others. Each file holds one part of the syncer:
 *   routes.c         sockets, notifications and the life cycle
 *   routes_sets.c    the keys and the two hash sets (no I/O)
 * Not for use outside src/dataplane/routes*.c. */
#ifndef HANDOFF_DATAPLANE_ROUTES_INTERNAL_H
#define HANDOFF_DATAPLANE_ROUTES_INTERNAL_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dataplane/routes.h"

/* ---- keys and the two hash sets ------------------------------------------ */

struct rkey {
	uint8_t family; /* AF_INET, AF_INET6 */
	uint8_t plen;
	uint8_t addr[16];
	uint32_t metric;
};

static inline size_t addr_len(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

/* A kernel route of ours. */
struct kroute {
	struct rkey k;
	int oif;
	struct kroute *next;
};

struct kset {
	struct kroute **b;
	size_t nb, n;
};

enum want_state {
	W_NEW,      /* not tried yet */
	W_OK,       /* in the kernel */
	W_LINK,     /* interface missing or down */
	W_CONFLICT, /* another protocol's route holds (dst, metric) */
	W_ERROR,    /* last attempt failed otherwise */
};

/* A plan route with metric > 0. */
struct want {
	struct rkey k; /* full-length prefix */
	char ifname[IFNAMSIZ];
	int ifindex; /* resolved at the last sync, 0 when missing */
	enum want_state st;
};

/* The wants, and an open-addressing index on (family, dst): slot = index + 1. */
struct wset {
	struct want *v;
	size_t n;
	uint32_t *slot;
	size_t nslot;
};

/* ---- routes_sets.c ------------------------------------------------------- */

uint64_t dst_hash(uint8_t family, const uint8_t *addr);
void rkey_format(const struct rkey *k, char *out, size_t len);
struct kroute *kset_get(const struct kset *s, const struct rkey *k);
int kset_put(struct kset *s, const struct rkey *k, int oif);
void kset_del(struct kset *s, const struct rkey *k);
void kset_clear(struct kset *s);
struct want *wset_get(const struct wset *s, uint8_t family, const uint8_t *addr);
void wset_free(struct wset *s);

#endif
