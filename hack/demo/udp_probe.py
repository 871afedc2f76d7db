#!/usr/bin/env python3
"""udp_probe.py: the demo's traffic, numbered, at a steady pace.

  udp_probe.py echo PORT
      send every datagram received on PORT back to its sender (the VM side)
  udp_probe.py send ADDR PORT INTERVAL_S MAX_S OUT
      (ADDR IPv4 or IPv6) send datagram 0, 1, 2, ... to ADDR:PORT every INTERVAL_S seconds, on a
      fixed schedule, until SIGINT/SIGTERM or MAX_S; then write OUT:
          sent N
          SEQ SENT RECEIVED      (one line per echo, wall-clock seconds)

Why not ping: iputils ping holds its next request back by up to 10 ms while
one is unanswered at intervals below 10 ms, which would stretch the very gap
the demo measures. This sender keeps its schedule whatever comes back."""
import signal
import socket
import struct
import sys
import threading
import time

FMT = "!Id"  # sequence number, send time


def echo(port):
    # One socket for both families: IPv4 arrives as v4-mapped addresses.
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    print("ready", flush=True)
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(data, peer)


def send(addr, port, interval, max_s, out):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.connect((addr, port))
    s.settimeout(0.2)
    stop = threading.Event()
    got = []  # (seq, sent, received)

    def on_signal(signo, frame):
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    def receiver():
        while not stop.is_set():
            try:
                data = s.recv(64)
            except socket.timeout:
                continue
            except OSError:  # an ICMP error for an earlier datagram
                continue
            now = time.time()
            if len(data) >= struct.calcsize(FMT):
                seq, sent = struct.unpack_from(FMT, data)
                got.append((seq, sent, now))

    rx = threading.Thread(target=receiver)
    rx.start()
    print("ready", flush=True)
    start = time.monotonic()
    seq = 0
    while not stop.is_set():
        due = start + seq * interval
        if due - start > max_s:
            break
        delay = due - time.monotonic()
        if delay > 0:
            stop.wait(delay)
            if stop.is_set():
                break
        try:
            s.send(struct.pack(FMT, seq, time.time()))
        except OSError:  # no route for a moment, or an ICMP error reported here
            pass
        seq += 1
    time.sleep(0.05)  # the last echoes
    stop.set()
    rx.join()
    with open(out, "w") as f:
        f.write(f"sent {seq}\n")
        for g in got:
            f.write("%d %.6f %.6f\n" % g)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "echo":
        echo(int(sys.argv[2]))
    elif len(sys.argv) == 7 and sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
