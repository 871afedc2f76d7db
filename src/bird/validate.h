/* bird/validate.h - the address rules BGP resources share, to what BIRD 1.6
 * accepts (measured with `bird -p` on Debian's 1.6.8, see
 * test/bird/test_bird_accept.sh) and in one spelling per address.
 *
 * Every address handoff renders goes through inet_pton and back through
 * inet_ntop: "FD00:0::9" and "fd00::9" are one neighbour, one protocol name
 * and one comparison with the node's own address. The `why` texts are
 * sentences without the "<Kind> <name>: <field>: " prefix the decoders add. */
#ifndef HANDOFF_BIRD_VALIDATE_H
#define HANDOFF_BIRD_VALIDATE_H

#include <arpa/inet.h>
#include <stddef.h>

/* Large enough for a canonical CIDR: address, '/', up to 3 digits. */
#define BIRD_CIDR_LEN (INET6_ADDRSTRLEN + 4)

/* `s` as an address of `family` (4, 6, or 0 for either) in canonical form
 * into out (INET6_ADDRSTRLEN bytes); *family_out (may be NULL) gets 4 or 6.
 * 0, or -EINVAL when `s` is not such an address. */
int bird_addr_canon(const char *s, int family, char *out, int *family_out);

/* Whether a canonical address can be a BGP neighbour (a BGPPeer's peerIP, a
 * Node's address that every other node peers with). BIRD refuses the
 * unspecified address ("Neighbor must be configured") and an IPv6 link-local
 * one without an interface, which handoff cannot give. A multicast address
 * is accepted: BIRD parses it and Calico takes it (its own cases peer with
 * ffee::10), though no session will come up. 0, or -EINVAL with `why`. */
int bird_neighbour_check(const char *canon, char *why, size_t whylen);

/* "addr/len" of `family` (4, 6, or 0 for either) in canonical form into out
 * (BIRD_CIDR_LEN bytes), the length in *bits. Returns 0; -EINVAL when `s` is
 * not a CIDR of that family (the caller says so in its own words); -ERANGE
 * when host bits are set, with `why` naming the network: BIRD refuses the
 * whole file ("Invalid network prefix") and masking them silently could
 * change what a rule matches or a node announces. */
int bird_cidr_canon(const char *s, int family, char *out, int *bits, char *why, size_t whylen);

#endif
