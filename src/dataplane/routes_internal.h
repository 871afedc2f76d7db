/* routes_internal.h - what the files of the route syncer share (routes.c has
 * the overview): its types, and the functions one file provides to the
 * others. Each file holds one part of the syncer:
 *   routes.c         sockets, notifications and the life cycle
 *   routes_sets.c    the keys and the two hash sets (no I/O)
 *   routes_kernel.c  netlink messages: decoding, the dump, pipelined operations
 *   routes_sync.c    the plan -> wanted routes, and one reconciliation pass
 * Not for use outside src/dataplane/routes*.c. */
#ifndef HANDOFF_DATAPLANE_ROUTES_INTERNAL_H
#define HANDOFF_DATAPLANE_ROUTES_INTERNAL_H

#include <net/if.h>
#include <netlink/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dataplane/routes.h"

#define SEND_BATCH_BYTES 32768 /* one sendmsg carries this much (< default sndbuf) */
#define ACK_WINDOW       512   /* unacknowledged requests in flight */
#define RCVBUF_BYTES     (8 << 20)
#define MSGBUF_BYTES     65536 /* > the kernel's largest dump skb (32 KiB) */

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

/* ---- the syncer ------------------------------------------------------------ */

enum op_kind { OP_ADD, OP_REPLACE, OP_DEL };

struct op {
	enum op_kind kind;
	struct rkey k;
	int oif;
	struct want *w; /* NULL for deletes */
	int result;     /* 0, negative errno; 1 while unacknowledged */
};

struct route_syncer {
	uint8_t protocol;
	uint32_t table;
	void (*on_link_up)(void *arg, const char *ifname);
	void *on_link_up_arg;
	void (*on_link)(void *arg, const char *ifname);
	struct nl_sock *req; /* requests, dumps */
	struct nl_sock *ev;  /* notifications */
	struct nl_cb *ack_cb, *dump_cb, *ev_cb;
	struct nl_cache *links;
	struct kset kern;
	struct wset wants;
	struct route_syncer_stats st;
	uint8_t *sendbuf;

	/* The pipeline in progress (rs_run_ops). */
	struct op *ops;
	size_t nops, nacked;
	uint32_t seq0, next_seq;
	char extack[160]; /* the kernel's message for the first failure */

	/* Set while reading notifications. links_stale: some link changed since
	 * `links` was read (a link made before a plan wants it must still be
	 * found when the plan comes). */
	bool need_dump, need_sync, links_stale;
	/* No reconciliation before the first plan: an empty want set would delete
	 * every route a restarted watcher is meant to keep. */
	bool have_plan;
	struct kset *dump_into;
};

/* ---- decoding route messages ------------------------------------------------- */

struct rt_info {
	uint8_t family, plen, protocol, type;
	uint32_t table, metric;
	uint8_t addr[16];
	int oif;
};

/* ---- routes_sets.c ------------------------------------------------------- */

uint64_t rs_dst_hash(uint8_t family, const uint8_t *addr);
void rs_rkey_format(const struct rkey *k, char *out, size_t len);
struct kroute *rs_kset_get(const struct kset *s, const struct rkey *k);
int rs_kset_put(struct kset *s, const struct rkey *k, int oif);
void rs_kset_del(struct kset *s, const struct rkey *k);
void rs_kset_clear(struct kset *s);
struct want *rs_wset_get(const struct wset *s, uint8_t family, const uint8_t *addr);
void rs_wset_free(struct wset *s);

/* ---- routes_kernel.c ----------------------------------------------------- */

int decode_route(struct nlmsghdr *nlh, struct rt_info *ri);
void rs_rt_info_key(const struct rt_info *ri, struct rkey *k);
int rs_on_dump_msg(struct nl_msg *msg, void *arg);
int rs_reread_kernel(struct route_syncer *rs, struct herr *err);
int rs_on_ack(struct nl_msg *msg, void *arg);
int rs_on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg);
int rs_run_ops(struct route_syncer *rs, struct op *ops, size_t n, struct herr *err);

/* ---- routes_sync.c ------------------------------------------------------- */

int rs_sync_routes(struct route_syncer *rs, struct herr *err);
int rs_parse_plan_route(const struct plan_route *pr, struct rkey *k, struct herr *err);

#endif
