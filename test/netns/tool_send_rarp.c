/* tool_send_rarp - send one QEMU-style RARP announcement on an interface.
 *
 *   tool_send_rarp IFNAME MAC [--on-cue]
 *
 * With --on-cue it opens the interface, prints "ready" and sends when a line
 * arrives on stdin: a benchmark then times the switchover without a process
 * start between stopping the source and the announcement, as QEMU announces
 * the moment the guest resumes.
 *
 * The frame QEMU sends when a migrated VM resumes (qemu_announce_self):
 * broadcast destination, source the VM's MAC, EtherType 0x8035, a RARP body
 * with opcode 3 (reverse request), sender and target hardware address the
 * VM's MAC, protocol addresses 0.0.0.0, padded to the 60-byte minimum.
 * Prints "sent SECONDS.NANOSECONDS" (CLOCK_REALTIME) once the frame is out. */
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int parse_mac(const char *s, unsigned char mac[6])
{
	unsigned v[6];
	char tail;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 0xff)
			return -1;
		mac[i] = (unsigned char)v[i];
	}
	return 0;
}

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	unsigned char mac[6], f[60] = {0};
	pcap_t *p;

	bool on_cue = argc == 4 && !strcmp(argv[3], "--on-cue");
	if ((argc != 3 && !on_cue) || parse_mac(argv[2], mac) < 0) {
		fprintf(stderr, "usage: %s IFNAME MAC [--on-cue] (MAC as aa:bb:cc:dd:ee:ff)\n",
		        argv[0]);
		return 2;
	}
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x80, f[13] = 0x35;
	unsigned char *r = f + 14;
	r[0] = 0x00, r[1] = 0x01; /* htype Ethernet */
	r[2] = 0x08, r[3] = 0x00; /* ptype IPv4 */
	r[4] = 6, r[5] = 4;
	r[6] = 0x00, r[7] = 0x03; /* opcode 3: reverse request */
	memcpy(r + 8, mac, 6);    /* sha; spa 0.0.0.0 */
	memcpy(r + 18, mac, 6);   /* tha; tpa 0.0.0.0 */

	p = pcap_open_live(argv[1], 64, 0, 100, errbuf);
	if (!p) {
		fprintf(stderr, "%s: %s\n", argv[1], errbuf);
		return 1;
	}
	if (on_cue) {
		char line[16];
		printf("ready\n");
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin)) {
			fprintf(stderr, "%s: stdin closed before the cue\n", argv[1]);
			pcap_close(p);
			return 1;
		}
	}
	if (pcap_inject(p, f, sizeof(f)) != (int)sizeof(f)) {
		fprintf(stderr, "%s: pcap_inject: %s\n", argv[1], pcap_geterr(p));
		pcap_close(p);
		return 1;
	}
	/* When it left, for benchmarks that time what follows the announcement. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	printf("sent %lld.%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
	pcap_close(p);
	return 0;
}
