/* tool_tap_probe.c - plays a VM attached to a pod's tap, the way QEMU does
 * (open /dev/net/tun, TUNSETIFF by name), and checks that it reaches the
 * node: ARP for the gateway 169.254.1.1 must be answered with the fixed host
 * MAC, and an ICMP echo from the pod's address must come back (the host
 * ARPs for the pod's address meanwhile; the probe answers as the VM would).
 *
 *   tool_tap_probe NETNS TAP POD_IP DST_IP [--uid N] [--gid N] [--queues N]
 *                  [--attach-only] [--rarp]
 *
 * --uid/--gid: attach after dropping to that uid/gid (no capabilities left),
 * as an unprivileged VM process; /dev/net/tun is opened before the drop, as a
 * launcher passing the fd would. --queues N: a multiqueue tap, N fds. --rarp:
 * then send the RARP frame QEMU sends when a migrated VM resumes (the
 * watcher detects it on the host side). Prints
 * "gateway <mac>" and "reply <dst>"; exit 0 on success, 2 when the attach is
 * refused, 1 on any other failure. Bounded: 3 s per exchange. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/if_ether.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAXQ 8

static const unsigned char vm_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static int fds[MAXQ], nq = 1;
static struct in_addr pod_ip, dst_ip, gw_ip;
static unsigned char gw_mac[6];

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void arp_frame(unsigned char *f, int op, const unsigned char *dmac, struct in_addr tip)
{
	struct ether_header *eh = (struct ether_header *)f;
	struct ether_arp *a = (struct ether_arp *)(f + sizeof(*eh));

	memcpy(eh->ether_dhost, dmac, 6);
	memcpy(eh->ether_shost, vm_mac, 6);
	eh->ether_type = htons(ETHERTYPE_ARP);
	a->arp_hrd = htons(ARPHRD_ETHER);
	a->arp_pro = htons(ETHERTYPE_IP);
	a->arp_hln = 6;
	a->arp_pln = 4;
	a->arp_op = htons((uint16_t)op);
	memcpy(a->arp_sha, vm_mac, 6);
	memcpy(a->arp_spa, &pod_ip, 4);
	memcpy(a->arp_tha, op == ARPOP_REPLY ? dmac : (const unsigned char *)"\0\0\0\0\0\0", 6);
	memcpy(a->arp_tpa, &tip, 4);
}

static uint16_t csum(const void *p, size_t n)
{
	const uint16_t *w = p;
	uint32_t s = 0;
	for (; n > 1; n -= 2)
		s += *w++;
	if (n)
		s += *(const uint8_t *)w;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static size_t echo_frame(unsigned char *f)
{
	struct ether_header *eh = (struct ether_header *)f;
	struct iphdr *ip = (struct iphdr *)(f + sizeof(*eh));
	struct icmphdr *ic = (struct icmphdr *)(ip + 1);
	size_t plen = 32;

	memcpy(eh->ether_dhost, gw_mac, 6);
	memcpy(eh->ether_shost, vm_mac, 6);
	eh->ether_type = htons(ETHERTYPE_IP);
	memset(ip, 0, sizeof(*ip));
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_ICMP;
	ip->tot_len = htons((uint16_t)(sizeof(*ip) + sizeof(*ic) + plen));
	ip->saddr = pod_ip.s_addr;
	ip->daddr = dst_ip.s_addr;
	ip->check = csum(ip, sizeof(*ip));
	memset(ic, 0, sizeof(*ic) + plen);
	ic->type = ICMP_ECHO;
	ic->un.echo.id = htons(0x4e4f);
	ic->un.echo.sequence = htons(1);
	ic->checksum = csum(ic, sizeof(*ic) + plen);
	return sizeof(*eh) + sizeof(*ip) + sizeof(*ic) + plen;
}

/* Send `req` (len bytes) and read frames on every queue until `want` says
 * done or the deadline passes, sending again every 250 ms as a guest's stack
 * retries: the first frames after an attach can meet the tap's queue before
 * the kernel has switched it on (carrier-on is applied asynchronously by
 * linkwatch). ARP requests for the pod's address are answered on the way. */
static int exchange(const unsigned char *req, size_t len,
                    int (*want)(const unsigned char *, ssize_t))
{
	long deadline = now_ms() + 3000, resend = 0;
	/* Frames start 2 bytes into aligned storage so that the IP header after
	 * the 14-byte Ethernet header is 4-byte aligned. */
	static unsigned char inraw[2050] __attribute__((aligned(8))),
	    outraw[66] __attribute__((aligned(8)));
	unsigned char *buf = inraw + 2, *out = outraw + 2;
	struct pollfd p[MAXQ];

	for (int i = 0; i < nq; i++)
		p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
	while (now_ms() < deadline) {
		if (now_ms() >= resend) {
			if (write(fds[0], req, len) < 0) {
				perror("write");
				return -1;
			}
			resend = now_ms() + 250;
		}
		if (poll(p, (nfds_t)nq, (int)(resend - now_ms())) <= 0)
			continue;
		for (int i = 0; i < nq; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			ssize_t n = read(fds[i], buf, sizeof(inraw) - 2);
			if (n < (ssize_t)sizeof(struct ether_header))
				continue;
			struct ether_header *eh = (struct ether_header *)buf;
			struct ether_arp *a = (struct ether_arp *)(buf + sizeof(*eh));
			if (ntohs(eh->ether_type) == ETHERTYPE_ARP &&
			    n >= (ssize_t)(sizeof(*eh) + sizeof(*a)) &&
			    ntohs(a->arp_op) == ARPOP_REQUEST && !memcmp(a->arp_tpa, &pod_ip, 4)) {
				struct in_addr asker;
				memcpy(&asker, a->arp_spa, 4);
				arp_frame(out, ARPOP_REPLY, a->arp_sha, asker);
				if (write(fds[0], out, sizeof(struct ether_header) + sizeof(*a)) <
				    0)
					perror("write ARP reply");
				continue;
			}
			if (want(buf, n))
				return 0;
		}
	}
	return -1;
}

static int is_gw_reply(const unsigned char *f, ssize_t n)
{
	const struct ether_arp *a = (const struct ether_arp *)(f + sizeof(struct ether_header));

	if (ntohs(((const struct ether_header *)f)->ether_type) != ETHERTYPE_ARP ||
	    n < (ssize_t)(sizeof(struct ether_header) + sizeof(*a)) ||
	    ntohs(a->arp_op) != ARPOP_REPLY || memcmp(a->arp_spa, &gw_ip, 4))
		return 0;
	memcpy(gw_mac, a->arp_sha, 6);
	return 1;
}

static int is_echo_reply(const unsigned char *f, ssize_t n)
{
	const struct ether_header *eh = (const struct ether_header *)f;
	const struct iphdr *ip = (const struct iphdr *)(f + sizeof(*eh));
	const struct icmphdr *ic = (const struct icmphdr *)(ip + 1);

	if (ntohs(eh->ether_type) != ETHERTYPE_IP ||
	    n < (ssize_t)(sizeof(*eh) + sizeof(*ip) + sizeof(*ic)) ||
	    ip->protocol != IPPROTO_ICMP || ip->saddr != dst_ip.s_addr ||
	    ip->daddr != pod_ip.s_addr || ic->type != ICMP_ECHOREPLY)
		return 0;
	/* From the gateway's MAC to the VM's: routed by the node, not bridged. */
	if (memcmp(eh->ether_shost, gw_mac, 6) || memcmp(eh->ether_dhost, vm_mac, 6)) {
		fprintf(stderr, "echo reply with unexpected MACs\n");
		return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	long uid = -1, gid = -1;
	int attach_only = 0, rarp = 0, ns;
	static unsigned char raw[130] __attribute__((aligned(8)));
	unsigned char *frame = raw + 2; /* IP header 4-byte aligned */

	if (argc < 5) {
		fprintf(stderr,
		        "usage: %s NETNS TAP POD_IP DST_IP [--uid N] [--gid N] [--queues N] "
		        "[--attach-only]\n",
		        argv[0]);
		return 1;
	}
	for (int i = 5; i < argc; i++) {
		if (!strcmp(argv[i], "--uid") && i + 1 < argc)
			uid = atol(argv[++i]);
		else if (!strcmp(argv[i], "--gid") && i + 1 < argc)
			gid = atol(argv[++i]);
		else if (!strcmp(argv[i], "--queues") && i + 1 < argc)
			nq = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--attach-only"))
			attach_only = 1;
		else if (!strcmp(argv[i], "--rarp"))
			rarp = 1;
	}
	if (nq < 1 || nq > MAXQ || inet_pton(AF_INET, argv[3], &pod_ip) != 1 ||
	    inet_pton(AF_INET, argv[4], &dst_ip) != 1) {
		fprintf(stderr, "bad queues or address\n");
		return 1;
	}
	inet_pton(AF_INET, "169.254.1.1", &gw_ip);
	if ((ns = open(argv[1], O_RDONLY | O_CLOEXEC)) < 0 || setns(ns, CLONE_NEWNET) < 0) {
		perror(argv[1]);
		return 1;
	}
	for (int i = 0; i < nq; i++)
		if ((fds[i] = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) < 0) {
			perror("/dev/net/tun");
			return 1;
		}
	if (gid >= 0 &&
	    (setgroups(0, NULL) < 0 || setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) < 0)) {
		perror("setresgid");
		return 1;
	}
	if (uid >= 0 && setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0) {
		perror("setresuid");
		return 1;
	}
	for (int i = 0; i < nq; i++) {
		struct ifreq ifr = {0};
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[2]);
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (nq > 1 ? IFF_MULTI_QUEUE : 0);
		if (ioctl(fds[i], TUNSETIFF, &ifr) < 0) {
			printf("attach refused: %s\n", strerror(errno));
			return 2;
		}
	}
	printf("attached %d queue(s)\n", nq);
	if (attach_only)
		return 0;
	arp_frame(frame, ARPOP_REQUEST, (const unsigned char *)"\xff\xff\xff\xff\xff\xff", gw_ip);
	if (exchange(frame, sizeof(struct ether_header) + sizeof(struct ether_arp), is_gw_reply) <
	    0) {
		printf("no ARP reply for 169.254.1.1\n");
		return 1;
	}
	printf("gateway %02x:%02x:%02x:%02x:%02x:%02x\n", gw_mac[0], gw_mac[1], gw_mac[2],
	       gw_mac[3], gw_mac[4], gw_mac[5]);
	if (exchange(frame, echo_frame(frame), is_echo_reply) < 0) {
		printf("no echo reply from %s\n", argv[4]);
		return 1;
	}
	printf("reply %s\n", argv[4]);
	if (rarp) {
		/* QEMU's announce: RARP "request reverse" (opcode 3) from the guest
		 * MAC about itself, addresses 0.0.0.0, broadcast. */
		struct ether_header *eh = (struct ether_header *)frame;
		arp_frame(frame, 3, (const unsigned char *)"\xff\xff\xff\xff\xff\xff",
		          (struct in_addr){0});
		struct ether_arp *a = (struct ether_arp *)(frame + sizeof(*eh));
		eh->ether_type = htons(0x8035);
		memcpy(a->arp_tha, vm_mac, 6);
		memset(a->arp_spa, 0, 4);
		if (write(fds[0], frame, sizeof(*eh) + sizeof(*a)) < 0) {
			perror("write RARP");
			return 1;
		}
		printf("rarp sent\n");
	}
	return 0;
}
