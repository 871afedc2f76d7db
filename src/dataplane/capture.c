/* capture.c - GARP/RARP detection with libpcap (calico-semantics B.7). */
#include "dataplane/capture.h"

#include <errno.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/plan.h"
#include "util/log.h"

#define ETH_HDR_LEN     14
#define ETHERTYPE_ARP_  0x0806
#define ETHERTYPE_RARP_ 0x8035

/* An ARP/RARP frame is 42 bytes; 64 leaves room and keeps the ring small. */
#define CAPTURE_SNAPLEN 64
/* Only a few frames ever matter; a small ring keeps 100 captures cheap. */
#define CAPTURE_BUFFER (64 * 1024)
#define CAPTURE_FILTER "arp or ether proto 0x8035"

bool frame_is_garp_or_rarp(const uint8_t *frame, size_t len)
{
	const uint8_t *arp;
	uint16_t type;

	if (!frame || len < ETH_HDR_LEN)
		return false;
	type = (uint16_t)(frame[12] << 8 | frame[13]);
	if (type == ETHERTYPE_RARP_)
		return true;
	if (type != ETHERTYPE_ARP_)
		return false;
	/* ARP header: htype(2) ptype(2) hlen(1) plen(1) op(2), then sha spa tha tpa.
	 * Only IPv4 protocol addresses (plen 4) are compared, at the offsets
	 * the hardware address length gives. */
	arp = frame + ETH_HDR_LEN;
	len -= ETH_HDR_LEN;
	if (len < 8)
		return false;
	size_t hlen = arp[4], plen = arp[5];
	if (plen != 4)
		return false;
	size_t spa = 8 + hlen, tpa = 8 + 2 * hlen + plen;
	if (len < tpa + plen)
		return false;
	return memcmp(arp + spa, arp + tpa, plen) == 0;
}

/* ---- one capture ---------------------------------------------------------- */

struct garp_capture {
	pcap_t *pcap;
	int fd;
	char ifname[IF_NAMESIZE];
	bool seen;     /* a qualifying frame was read by the current dispatch */
	bool reported; /* poll has returned 1 */
	char errbuf[PCAP_ERRBUF_SIZE];
};

static void on_frame(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct garp_capture *c = (struct garp_capture *)user;

	if (frame_is_garp_or_rarp(bytes, h->caplen))
		c->seen = true;
}

static struct garp_capture *open_fail(struct garp_capture *c, int code, struct herr *err,
                                      const char *what, const char *detail)
{
	herr_set(err, -code, "capture on interface %s: %s: %s", c->ifname, what, detail);
	if (c->pcap)
		pcap_close(c->pcap);
	free(c);
	errno = code;
	return NULL;
}

/* Map pcap_activate()'s status to an errno a caller can act on. */
static int activate_errno(int status)
{
	switch (status) {
	case PCAP_ERROR_NO_SUCH_DEVICE:
		return ENODEV;
	case PCAP_ERROR_PERM_DENIED:
		return EPERM;
	case PCAP_ERROR_IFACE_NOT_UP:
		return ENETDOWN;
	default:
		return EIO;
	}
}

struct garp_capture *garp_capture_open(const char *ifname, struct herr *err)
{
	struct garp_capture *c;
	struct bpf_program prog;
	int st;

	if (!ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE) {
		herr_set(err, -EINVAL, "capture: interface name \"%s\" must be 1 to %d characters",
		         ifname ? ifname : "", IF_NAMESIZE - 1);
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		herr_set(err, -ENOMEM, "capture on interface %s: out of memory", ifname);
		errno = ENOMEM;
		return NULL;
	}
	strcpy(c->ifname, ifname);
	c->fd = -1;

	/* pcap_create() only fails on memory; activation checks the device. */
	c->pcap = pcap_create(ifname, c->errbuf);
	if (!c->pcap)
		return open_fail(c, ENOMEM, err, "pcap_create", c->errbuf);
	if (pcap_set_snaplen(c->pcap, CAPTURE_SNAPLEN) || pcap_set_promisc(c->pcap, 0) ||
	    pcap_set_immediate_mode(c->pcap, 1) || pcap_set_buffer_size(c->pcap, CAPTURE_BUFFER))
		return open_fail(c, EINVAL, err, "setting capture options", pcap_geterr(c->pcap));
	st = pcap_activate(c->pcap);
	if (st < 0) {
		/* PCAP_ERROR_NO_SUCH_DEVICE etc. come with a short or empty text. */
		const char *txt = pcap_geterr(c->pcap);
		return open_fail(c, activate_errno(st), err, "pcap_activate",
		                 txt && *txt ? txt : pcap_statustostr(st));
	}
	if (pcap_datalink(c->pcap) != DLT_EN10MB)
		return open_fail(c, EPROTONOSUPPORT, err, "link type",
		                 "not Ethernet (GARP/RARP detection needs Ethernet frames)");
	/* What the VM sends arrives inbound; the host's own ARP (e.g. a
	 * gratuitous ARP of its own on link up) must never count. */
	if (pcap_setdirection(c->pcap, PCAP_D_IN) < 0)
		return open_fail(c, EIO, err, "pcap_setdirection", pcap_geterr(c->pcap));
	if (pcap_compile(c->pcap, &prog, CAPTURE_FILTER, 1, PCAP_NETMASK_UNKNOWN) < 0)
		return open_fail(c, EIO, err, "compiling filter \"" CAPTURE_FILTER "\"",
		                 pcap_geterr(c->pcap));
	st = pcap_setfilter(c->pcap, &prog);
	pcap_freecode(&prog);
	if (st < 0)
		return open_fail(c, EIO, err, "pcap_setfilter", pcap_geterr(c->pcap));
	if (pcap_setnonblock(c->pcap, 1, c->errbuf) < 0)
		return open_fail(c, EIO, err, "pcap_setnonblock", c->errbuf);
	c->fd = pcap_get_selectable_fd(c->pcap);
	if (c->fd < 0)
		return open_fail(c, EIO, err, "pcap_get_selectable_fd", "no selectable fd");
	return c;
}

void garp_capture_close(struct garp_capture *c)
{
	if (!c)
		return;
	pcap_close(c->pcap);
	free(c);
}

int garp_capture_fd(const struct garp_capture *c)
{
	return c->fd;
}

const char *garp_capture_ifname(const struct garp_capture *c)
{
	return c->ifname;
}

bool garp_capture_done(const struct garp_capture *c)
{
	return c->reported;
}

const char *garp_capture_error(const struct garp_capture *c)
{
	return c->errbuf;
}

int garp_capture_poll(struct garp_capture *c)
{
	int n;

	/* cnt -1: everything queued; in non-blocking mode this returns at
	 * once with 0 when nothing is there. Keep draining after the report so
	 * a level-triggered loop does not spin on the fd. */
	n = pcap_dispatch(c->pcap, -1, on_frame, (u_char *)c);
	if (n < 0) {
		snprintf(c->errbuf, sizeof(c->errbuf), "%s", pcap_geterr(c->pcap));
		return n == PCAP_ERROR_IFACE_NOT_UP || if_nametoindex(c->ifname) == 0 ? -ENETDOWN
		                                                                      : -EIO;
	}
	if (c->seen && !c->reported) {
		c->reported = true;
		return 1;
	}
	return 0;
}

/* ---- the plan's capture list --------------------------------------------- */

struct capture_entry {
	char ifname[IF_NAMESIZE];
	char *endpoint_key;
	struct garp_capture *cap; /* NULL: waiting for the link */
	unsigned ifindex;         /* the link the capture is bound to */
	bool reported;
};

struct capture_set {
	struct capture_entry *v;
	size_t n;
	int epfd;
};

struct capture_set *capture_set_new(void)
{
	struct capture_set *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0) {
		free(s);
		return NULL;
	}
	return s;
}

static void entry_close(struct capture_set *s, struct capture_entry *e)
{
	if (!e->cap)
		return;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, garp_capture_fd(e->cap), NULL);
	garp_capture_close(e->cap);
	e->cap = NULL;
	e->ifindex = 0;
}

static void entry_free(struct capture_set *s, struct capture_entry *e)
{
	entry_close(s, e);
	free(e->endpoint_key);
	e->endpoint_key = NULL;
}

void capture_set_free(struct capture_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		entry_free(s, &s->v[i]);
	free(s->v);
	close(s->epfd);
	free(s);
}

/* Open the entry's capture. 0 when open or waiting for its link (ENODEV,
 * ENETDOWN), a negative errno on a hard failure. */
static int entry_open(struct capture_set *s, struct capture_entry *e, struct herr *err)
{
	struct epoll_event ev = {.events = EPOLLIN};
	struct herr local;
	unsigned idx;

	if (e->cap || e->reported)
		return 0;
	/* Read the index first: if the link is replaced right after, the next
	 * link_up sees a different index and reopens. */
	idx = if_nametoindex(e->ifname);
	if (idx == 0) {
		hlog(HLOG_DEBUG, "capture waiting for interface", "ifname=%s endpoint=%s",
		     e->ifname, e->endpoint_key);
		return 0;
	}
	e->cap = garp_capture_open(e->ifname, &local);
	if (!e->cap) {
		int code = errno;
		if (code == ENODEV || code == ENETDOWN) {
			hlog(HLOG_DEBUG, "capture waiting for interface", "ifname=%s endpoint=%s",
			     e->ifname, e->endpoint_key);
			return 0;
		}
		return herr_set(err, -code, "endpoint %s: %s", e->endpoint_key, local.msg);
	}
	e->ifindex = idx;
	ev.data.ptr = NULL;
	ev.data.fd = garp_capture_fd(e->cap);
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0) {
		int code = errno;
		garp_capture_close(e->cap);
		e->cap = NULL;
		return herr_set(err, -code, "endpoint %s: adding the capture on %s to epoll: %s",
		                e->endpoint_key, e->ifname, strerror(code));
	}
	hlog(HLOG_INFO, "GARP/RARP capture started", "ifname=%s endpoint=%s", e->ifname,
	     e->endpoint_key);
	return 0;
}

static struct capture_entry *find_entry(struct capture_set *s, const char *key, const char *ifname)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].endpoint_key && !strcmp(s->v[i].endpoint_key, key) &&
		    !strcmp(s->v[i].ifname, ifname))
			return &s->v[i];
	return NULL;
}

int capture_set_sync(struct capture_set *s, const struct plan *p, struct herr *err)
{
	struct capture_entry *nv;
	size_t nn = 0, want = p ? p->ncaptures : 0;
	int ret = 0;

	nv = calloc(want ? want : 1, sizeof(*nv));
	if (!nv)
		return herr_set(err, -ENOMEM, "capture set: out of memory");
	/* Move the entries still wanted into the new vector, in plan order. */
	for (size_t i = 0; i < want; i++) {
		const struct plan_capture *pc = &p->captures[i];
		struct capture_entry *old = find_entry(s, pc->endpoint_key, pc->ifname);
		if (old) {
			nv[nn++] = *old;
			old->endpoint_key = NULL; /* moved: the sweep below skips it */
			old->cap = NULL;
			continue;
		}
		if (strlen(pc->ifname) == 0 || strlen(pc->ifname) >= IF_NAMESIZE) {
			if (!ret)
				ret = herr_set(err, -EINVAL,
				               "endpoint %s: capture interface name \"%s\" must be "
				               "1 to %d characters",
				               pc->endpoint_key, pc->ifname, IF_NAMESIZE - 1);
			continue;
		}
		struct capture_entry *e = &nv[nn];
		memset(e, 0, sizeof(*e));
		strcpy(e->ifname, pc->ifname);
		e->endpoint_key = strdup(pc->endpoint_key);
		if (!e->endpoint_key) {
			if (!ret)
				ret = herr_set(err, -ENOMEM, "capture set: out of memory");
			continue;
		}
		nn++;
	}
	/* Close what the plan no longer wants. */
	for (size_t i = 0; i < s->n; i++) {
		if (!s->v[i].endpoint_key)
			continue;
		if (s->v[i].cap)
			hlog(HLOG_INFO, "GARP/RARP capture stopped", "ifname=%s endpoint=%s",
			     s->v[i].ifname, s->v[i].endpoint_key);
		entry_free(s, &s->v[i]);
	}
	free(s->v);
	s->v = nv;
	s->n = nn;
	for (size_t i = 0; i < s->n; i++) {
		int r = entry_open(s, &s->v[i], ret ? NULL : err);
		if (r < 0 && !ret)
			ret = r;
	}
	return ret;
}

int capture_set_link_up(struct capture_set *s, const char *ifname, struct herr *err)
{
	int opened = 0, ret = 0;

	for (size_t i = 0; i < s->n; i++) {
		struct capture_entry *e = &s->v[i];
		if (strcmp(e->ifname, ifname) || e->reported)
			continue;
		/* The same name on a new link (pod recreated): the old capture is
		 * bound to a link that no longer exists. */
		if (e->cap && if_nametoindex(e->ifname) != e->ifindex)
			entry_close(s, e);
		if (e->cap)
			continue;
		int r = entry_open(s, e, ret ? NULL : err);
		if (r < 0 && !ret)
			ret = r;
		if (e->cap)
			opened++;
	}
	return ret < 0 ? ret : opened;
}

int capture_set_fd(const struct capture_set *s)
{
	return s->epfd;
}

static struct capture_entry *entry_by_fd(struct capture_set *s, int fd)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].cap && garp_capture_fd(s->v[i].cap) == fd)
			return &s->v[i];
	return NULL;
}

int capture_set_dispatch(struct capture_set *s, capture_report_fn report, void *arg)
{
	struct epoll_event evs[32];
	/* Reports are copied out and delivered after the loop: the callback
	 * typically recomputes the plan and calls capture_set_sync(), which
	 * may free the entries. */
	struct {
		char key[256];
		char ifname[IF_NAMESIZE];
	} out[32];
	int n, reports = 0;

	n = epoll_wait(s->epfd, evs, 32, 0);
	for (int i = 0; i < n; i++) {
		struct capture_entry *e = entry_by_fd(s, evs[i].data.fd);
		if (!e)
			continue;
		int r = garp_capture_poll(e->cap);
		if (r == 1) {
			e->reported = true;
			hlog(HLOG_INFO, "GARP/RARP detected", "ifname=%s endpoint=%s", e->ifname,
			     e->endpoint_key);
			snprintf(out[reports].key, sizeof(out[reports].key), "%s", e->endpoint_key);
			snprintf(out[reports].ifname, sizeof(out[reports].ifname), "%s", e->ifname);
			reports++;
		} else if (r < 0) {
			hlog(HLOG_WARN, "GARP/RARP capture failed",
			     "ifname=%s endpoint=%s error=%s", e->ifname, e->endpoint_key,
			     hlog_q(garp_capture_error(e->cap)));
			entry_close(s, e);
			/* If the link is still there (it only went down), capture again
			 * at once; otherwise wait for capture_set_link_up(). */
			entry_open(s, e, NULL);
		}
	}
	for (int i = 0; report && i < reports; i++)
		report(out[i].key, out[i].ifname, arg);
	return reports;
}

size_t capture_set_len(const struct capture_set *s)
{
	return s->n;
}

struct capture_slot capture_set_at(const struct capture_set *s, size_t i)
{
	const struct capture_entry *e = &s->v[i];
	struct capture_slot slot = {
	    .ifname = e->ifname,
	    .endpoint_key = e->endpoint_key,
	    .fd = e->cap ? garp_capture_fd(e->cap) : -1,
	    .reported = e->reported,
	};
	return slot;
}
