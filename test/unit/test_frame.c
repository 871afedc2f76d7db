/* test_frame.c - the GARP/RARP frame test (calico-semantics B.7) on handmade frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/capture.h"

static const uint8_t vm_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* Ethernet header + IPv4-over-Ethernet ARP body: 42 bytes. */
static size_t arp_frame(uint8_t f[64], uint16_t ethertype, uint16_t op, const uint8_t spa[4],
                        const uint8_t tpa[4])
{
	memset(f, 0, 64);
	memcpy(f, bcast, 6);
	memcpy(f + 6, vm_mac, 6);
	f[12] = ethertype >> 8;
	f[13] = ethertype & 0xff;
	uint8_t *a = f + 14;
	a[0] = 0, a[1] = 1;       /* htype Ethernet */
	a[2] = 0x08, a[3] = 0x00; /* ptype IPv4 */
	a[4] = 6, a[5] = 4;
	a[6] = op >> 8, a[7] = op & 0xff;
	memcpy(a + 8, vm_mac, 6);
	memcpy(a + 14, spa, 4);
	memcpy(a + 18, ethertype == 0x8035 ? vm_mac : bcast, 6);
	memcpy(a + 24, tpa, 4);
	return 42;
}

static const uint8_t ip_a[4] = {10, 65, 0, 10};
static const uint8_t ip_b[4] = {10, 65, 0, 1};
static const uint8_t zero[4] = {0, 0, 0, 0};

static void garp_request_counts(void **state)
{
	uint8_t f[64];
	size_t n = arp_frame(f, 0x0806, 1, ip_a, ip_a);
	assert_true(frame_is_garp_or_rarp(f, n));
}

static void garp_reply_counts(void **state)
{
	uint8_t f[64];
	size_t n = arp_frame(f, 0x0806, 2, ip_a, ip_a);
	assert_true(frame_is_garp_or_rarp(f, n));
}

static void any_opcode_counts(void **state)
{
	/* B.7: the opcode is not inspected (even a nonsense one). */
	uint8_t f[64];
	size_t n = arp_frame(f, 0x0806, 0x1234, ip_a, ip_a);
	assert_true(frame_is_garp_or_rarp(f, n));
}

static void ordinary_request_does_not_count(void **state)
{
	uint8_t f[64];
	size_t n = arp_frame(f, 0x0806, 1, ip_a, ip_b);
	assert_false(frame_is_garp_or_rarp(f, n));
}

static void ordinary_reply_does_not_count(void **state)
{
	uint8_t f[64];
	size_t n = arp_frame(f, 0x0806, 2, ip_b, ip_a);
	assert_false(frame_is_garp_or_rarp(f, n));
}

static void ip_differing_in_last_byte_does_not_count(void **state)
{
	uint8_t f[64];
	uint8_t other[4] = {10, 65, 0, 11};
	size_t n = arp_frame(f, 0x0806, 1, ip_a, other);
	assert_false(frame_is_garp_or_rarp(f, n));
}

static void arp_probe_with_zero_addresses_counts(void **state)
{
	/* SPA == TPA byte-equal, even both zero: B.7 compares bytes, nothing more. */
	uint8_t f[64];
	size_t n = arp_frame(f, 0x0806, 1, zero, zero);
	assert_true(frame_is_garp_or_rarp(f, n));
}

static void qemu_rarp_counts(void **state)
{
	uint8_t f[64];
	size_t n = arp_frame(f, 0x8035, 3, zero, zero);
	assert_true(frame_is_garp_or_rarp(f, n));
}

static void rarp_is_not_inspected(void **state)
{
	/* Any 0x8035 frame, even with only the Ethernet header. */
	uint8_t f[64];
	arp_frame(f, 0x8035, 4, ip_a, ip_b);
	assert_true(frame_is_garp_or_rarp(f, 14));
}

static void ipv4_does_not_count(void **state)
{
	uint8_t f[64];
	/* Bytes that would look like a GARP if read as ARP. */
	size_t n = arp_frame(f, 0x0800, 1, ip_a, ip_a);
	assert_false(frame_is_garp_or_rarp(f, n));
}

static void vlan_tagged_does_not_count(void **state)
{
	uint8_t f[64];
	size_t n = arp_frame(f, 0x8100, 1, ip_a, ip_a);
	assert_false(frame_is_garp_or_rarp(f, n));
}

static void truncated_frames_do_not_count(void **state)
{
	uint8_t f[64];
	size_t n = arp_frame(f, 0x0806, 1, ip_a, ip_a);

	/* Every prefix shorter than the full ARP body misses the TPA. */
	for (size_t len = 0; len < n; len++)
		assert_false(frame_is_garp_or_rarp(f, len));
	assert_false(frame_is_garp_or_rarp(NULL, 0));
	/* RARP needs the EtherType at least. */
	n = arp_frame(f, 0x8035, 3, zero, zero);
	for (size_t len = 0; len < 14; len++)
		assert_false(frame_is_garp_or_rarp(f, len));
}

static void padded_frame_counts(void **state)
{
	/* Ethernet pads to 60 bytes on the wire; the padding is ignored. */
	uint8_t f[64];
	arp_frame(f, 0x0806, 1, ip_a, ip_a);
	assert_true(frame_is_garp_or_rarp(f, 60));
}

static void non_ipv4_protocol_length_does_not_count(void **state)
{
	uint8_t f[64];
	size_t n = arp_frame(f, 0x0806, 1, ip_a, ip_a);
	f[14 + 5] = 16; /* plen 16: the compared bytes would be elsewhere */
	assert_false(frame_is_garp_or_rarp(f, n));
}

static void hardware_length_moves_the_addresses(void **state)
{
	/* hlen 8: SPA at 16, TPA at 28 of the ARP body; still compared right. */
	uint8_t f[64] = {0};
	memcpy(f, bcast, 6);
	f[12] = 0x08, f[13] = 0x06;
	uint8_t *a = f + 14;
	a[1] = 1, a[2] = 0x08, a[4] = 8, a[5] = 4, a[7] = 1;
	memcpy(a + 16, ip_a, 4);
	memcpy(a + 28, ip_a, 4);
	assert_true(frame_is_garp_or_rarp(f, 14 + 32));
	assert_false(frame_is_garp_or_rarp(f, 14 + 31));
	a[31] ^= 1;
	assert_false(frame_is_garp_or_rarp(f, 14 + 32));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(garp_request_counts),
	    cmocka_unit_test(garp_reply_counts),
	    cmocka_unit_test(any_opcode_counts),
	    cmocka_unit_test(ordinary_request_does_not_count),
	    cmocka_unit_test(ordinary_reply_does_not_count),
	    cmocka_unit_test(ip_differing_in_last_byte_does_not_count),
	    cmocka_unit_test(arp_probe_with_zero_addresses_counts),
	    cmocka_unit_test(qemu_rarp_counts),
	    cmocka_unit_test(rarp_is_not_inspected),
	    cmocka_unit_test(ipv4_does_not_count),
	    cmocka_unit_test(vlan_tagged_does_not_count),
	    cmocka_unit_test(truncated_frames_do_not_count),
	    cmocka_unit_test(padded_frame_counts),
	    cmocka_unit_test(non_ipv4_protocol_length_does_not_count),
	    cmocka_unit_test(hardware_length_moves_the_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
