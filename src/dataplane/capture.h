/* capture.h - detect a migrated VM's first GARP/RARP on its host interface.
 *
 * On a migration target the endpoint sits in state Target until the VM
 * announces itself (calico-semantics B.7): QEMU sends a RARP on resume, the
 * guest sends a gratuitous ARP. A garp_capture is one libpcap live capture on
 * the endpoint's host-side interface: immediate mode, non-blocking, a kernel
 * BPF filter that passes only ARP and RARP, inbound frames only (what the VM
 * sends; never what the host itself puts on the wire). Its selectable fd goes
 * into the watcher's epoll loop; garp_capture_poll() reads what is there and
 * reports the first qualifying frame once.
 *
 * struct capture_set keeps one capture per entry of the plan's capture list,
 * opening and closing them as the plan changes, and remembering interfaces
 * that do not exist yet until the watcher says the link appeared. */
#ifndef HANDOFF_DATAPLANE_CAPTURE_H
#define HANDOFF_DATAPLANE_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct plan;

/* The frame test of B.7 on an Ethernet frame without VLAN tag:
 *   EtherType 0x8035 (RARP): yes, nothing else inspected;
 *   EtherType 0x0806 (ARP) with IPv4-sized addresses and sender protocol
 *     address byte-equal to target protocol address: yes, whatever the opcode;
 *   anything else, or a frame too short to hold what is inspected: no. */
bool frame_is_garp_or_rarp(const uint8_t *frame, size_t len);

/* ---- one capture ---------------------------------------------------------- */

struct garp_capture;

/* Open and activate a capture on `ifname`. Returns NULL with errno set and a
 * message in err on failure; errno is ENODEV when the interface does not exist
 * (the caller may retry when the link appears), EPERM without CAP_NET_RAW. */
struct garp_capture *garp_capture_open(const char *ifname, struct herr *err);
void garp_capture_close(struct garp_capture *c);

/* The fd to wait on (readable when frames are queued). Stays the same for the
 * life of the capture. */
int garp_capture_fd(const struct garp_capture *c);
const char *garp_capture_ifname(const struct garp_capture *c);

/* Read every queued frame without blocking. Returns 1 the first time a
 * qualifying frame has been read (the capture is then done: later calls only
 * drain the queue and return 0), 0 when nothing qualifying was read, or a
 * negative errno when the capture failed (-ENETDOWN: the interface went down
 * or away; garp_capture_error() says what happened). */
int garp_capture_poll(struct garp_capture *c);
bool garp_capture_done(const struct garp_capture *c);
const char *garp_capture_error(const struct garp_capture *c);

/* ---- the plan's capture list --------------------------------------------- */

struct capture_set;

/* One entry of the set as the watcher sees it. fd is -1 while the interface
 * does not exist (waiting for capture_set_link_up) or after the capture failed. */
struct capture_slot {
	const char *ifname;
	const char *endpoint_key;
	int fd;
	bool reported; /* the GARP/RARP has been reported */
};

struct capture_set *capture_set_new(void);
void capture_set_free(struct capture_set *s);

/* Make the set match p->captures: open captures that are missing, close the
 * ones no longer wanted (an entry whose interface changed is reopened). An
 * interface that does not exist yet is kept as waiting, not an error. Returns
 * 0, or the first hard error (the other entries are still handled).
 *
 * Closing a capture is slow: the kernel waits for an RCU grace period when a
 * packet socket is released (10 to 40 ms measured here). After a GARP report,
 * program the routes first and sync the captures after, so that the close is
 * never on the GARP -> route path; that is also why a capture that reported
 * is not closed by capture_set_dispatch() itself. */
int capture_set_sync(struct capture_set *s, const struct plan *p, struct herr *err);

/* The watcher saw link `ifname` appear (RTM_NEWLINK): open waiting captures on
 * it. Returns the number opened (0 if none was waiting) or a negative errno. */
int capture_set_link_up(struct capture_set *s, const char *ifname, struct herr *err);

/* A single fd (an epoll fd holding every open capture) that becomes readable
 * when any capture has frames queued: the watcher adds only this one to its
 * loop and calls capture_set_dispatch() when it fires. */
int capture_set_fd(const struct capture_set *s);

/* Poll every capture that has frames queued; call report(endpoint_key,
 * ifname, arg) once per capture whose first GARP/RARP was just read. The
 * callbacks run after the set is done reading, so they may call
 * capture_set_sync() (the strings they get are copies, valid during the call).
 * A capture that fails (its interface went away) is closed and reopened at
 * once if the link is still there, else waits for capture_set_link_up().
 * Returns the number of reports. */
typedef void (*capture_report_fn)(const char *endpoint_key, const char *ifname, void *arg);
int capture_set_dispatch(struct capture_set *s, capture_report_fn report, void *arg);

/* Iteration: entries 0..capture_set_len()-1, in plan order. The slot's
 * strings stay valid until the next sync. */
size_t capture_set_len(const struct capture_set *s);
struct capture_slot capture_set_at(const struct capture_set *s, size_t i);

#endif
