#!/usr/bin/env python3
"""announce.py IFNAME MAC IP: the resumed guest's gratuitous ARP, on cue.

Started in the target VM's namespace before the switchover, it opens its
raw socket and waits for one line on stdin, then sends one gratuitous ARP
(an ARP request whose sender and target are IP, to the broadcast address:
what `arping -U` sends) and exits. The demo thus times the switchover
without a process start between pausing the source and the announcement, as
QEMU announces as soon as the guest resumes."""
import socket
import struct
import sys


def main():
    ifname, mac, ip = sys.argv[1:4]
    hw = bytes.fromhex(mac.replace(":", ""))
    pa = socket.inet_aton(ip)
    bcast = b"\xff" * 6
    frame = (bcast + hw + struct.pack("!H", 0x0806)
             + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1)  # Ethernet/IPv4, request
             + hw + pa + bcast + pa)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    print("ready", flush=True)
    if not sys.stdin.readline():
        sys.exit("announce: stdin closed before the cue")
    s.send(frame)


if __name__ == "__main__":
    main()
