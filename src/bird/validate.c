/* bird/validate.c - shared address rules for the BGP resources (validate.h). */
#include "bird/validate.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bird_addr_canon(const char *s, int family, char *out, int *family_out)
{
	unsigned char buf[16];
	int af;

	if (family != 6 && inet_pton(AF_INET, s, buf) == 1)
		af = AF_INET;
	else if (family != 4 && inet_pton(AF_INET6, s, buf) == 1)
		af = AF_INET6;
	else
		return -EINVAL;
	if (!inet_ntop(af, buf, out, INET6_ADDRSTRLEN))
		return -EINVAL;
	if (family_out)
		*family_out = af == AF_INET ? 4 : 6;
	return 0;
}

int bird_neighbour_check(const char *canon, char *why, size_t whylen)
{
	unsigned char b[16];

	if (inet_pton(AF_INET, canon, b) == 1) {
		if (!b[0] && !b[1] && !b[2] && !b[3])
			goto unspecified;
		return 0;
	}
	if (inet_pton(AF_INET6, canon, b) != 1) {
		snprintf(why, whylen, "\"%s\" is not an IP address", canon);
		return -EINVAL;
	}
	static const unsigned char zero[16];
	if (!memcmp(b, zero, 16))
		goto unspecified;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) {
		snprintf(why, whylen,
		         "\"%s\" is link-local: BIRD needs an interface for it, which a BGPPeer "
		         "cannot name",
		         canon);
		return -EINVAL;
	}
	/* A multicast address parses in BIRD 1.6 and Calico accepts it (its
	 * own confd cases peer with ffee::10); the session never comes up,
	 * which BIRD reports per protocol without refusing the file. */
	return 0;
unspecified:
	snprintf(why, whylen, "\"%s\" is the unspecified address, not a neighbour", canon);
	return -EINVAL;
}

int bird_cidr_canon(const char *s, int family, char *out, int *bits, char *why, size_t whylen)
{
	char addr[INET6_ADDRSTRLEN + 8], canon[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	unsigned char b[16], net[16];
	size_t alen;
	int fam, max;
	char *end;
	long len;

	if (!slash)
		return -EINVAL;
	alen = (size_t)(slash - s);
	if (alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (bird_addr_canon(addr, family, canon, &fam) < 0)
		return -EINVAL;
	max = fam == 4 ? 32 : 128;
	/* Digits only (no sign, no space), at most 3 of them. */
	if (!isdigit((unsigned char)slash[1]) || strlen(slash + 1) > 3)
		return -EINVAL;
	len = strtol(slash + 1, &end, 10);
	if (*end || len < 0 || len > max)
		return -EINVAL;
	inet_pton(fam == 4 ? AF_INET : AF_INET6, canon, b);
	memcpy(net, b, 16);
	for (int i = 0; i < max / 8; i++) {
		int keep = (int)len - i * 8;
		unsigned char mask = keep >= 8   ? 0xff
		                     : keep <= 0 ? 0
		                                 : (unsigned char)(0xff << (8 - keep));
		net[i] &= mask;
	}
	/* len is 0..128 here: the mask keeps the compiler sure it fits. */
	snprintf(out, BIRD_CIDR_LEN, "%s/%u", canon, (unsigned)len & 0xffu);
	*bits = (int)len;
	if (memcmp(net, b, (size_t)max / 8)) {
		char netstr[INET6_ADDRSTRLEN];
		inet_ntop(fam == 4 ? AF_INET : AF_INET6, net, netstr, sizeof(netstr));
		snprintf(why, whylen, "\"%s\" has host bits set (the network is %s/%ld)", s, netstr,
		         len);
		return -ERANGE;
	}
	return 0;
}
