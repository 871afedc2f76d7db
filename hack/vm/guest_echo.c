/* guest_echo - the demo guest's UDP echo service (port 7, IPv4 and IPv6).
 *
 * The guest's initramfs has only busybox, whose nc cannot do UDP; this tiny
 * static program answers the numbered probes of hack/demo/udp_probe.py so
 * that the client can tell, probe by probe, when the migrated guest answers.
 * A line on the console every 10,000 echoes shows on the serial log that it
 * kept running across migrations. */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(7)};
	int off = 0, s = socket(AF_INET6, SOCK_DGRAM, 0);
	unsigned long n = 0;
	char buf[2048];

	if (s < 0 || setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0 ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("guest_echo");
		return 1;
	}
	printf("guest_echo: ready\n");
	fflush(stdout);
	for (;;) {
		struct sockaddr_in6 peer;
		socklen_t len = sizeof(peer);
		ssize_t r = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &len);
		if (r < 0)
			continue;
		sendto(s, buf, (size_t)r, 0, (struct sockaddr *)&peer, len);
		if (++n % 10000 == 0) {
			printf("guest_echo: %lu echoed\n", n);
			fflush(stdout);
		}
	}
}
