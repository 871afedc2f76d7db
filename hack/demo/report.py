#!/usr/bin/env python3
"""The live demo's report: one timeline and the figures, from what live.sh
kept in its work directory:

  events.tsv        the script's own steps   (epoch seconds, "script", text)
  watcher-X.log     each node's handoff-watcher (logfmt, ts=...Z)
  mon-X.log         `ip -ts monitor route` on each node
  probe.txt         udp_probe.py: node-c's numbered datagrams echoed by the VM
  garp.log          tcpdump in the target VM (the GARP on the wire)
  metrics-b.txt     node-b's watcher /metrics at the end
  route-c-final.txt node-c's kernel routes for the VM at the end
  vm-dst-link.json  the target guest's eth0 counters

t = 0 is the gratuitous ARP of the resumed VM. With --results FILE the
figures are also written as key=value lines (the e2e test reads them); with
--png FILE the timeline is also drawn (plot.py)."""
import argparse
import datetime
import json
import os
import re
import sys


def local_epoch(stamp):
    """ip -ts prints local time without a zone."""
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f").timestamp()


def utc_epoch(stamp):
    d = datetime.datetime.strptime(stamp.rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f")
    return d.replace(tzinfo=datetime.timezone.utc).timestamp()


def logfmt(line):
    return dict(
        (k, v.strip('"'))
        for k, v in re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', line)
    )


def read(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


class Report:
    def __init__(self, d, vm, node_ip):
        self.d, self.vm, self.node_ip = d, vm, node_ip
        self.events = []  # (time, who, text)
        self.routes = {}  # node -> [(time, text)]
        self.first = {}  # name -> time of a marker event
        self.transitions = {}  # node -> ["from>input>to", ...]

    def node_of(self, ip):
        for n, a in self.node_ip.items():
            if a == ip:
                return n
        return ip

    def load_script(self):
        for line in read(os.path.join(self.d, "events.tsv")):
            t, who, text = line.split("\t", 2)
            self.events.append((float(t), who, text))
            if text.startswith("target VM resumed"):
                self.first["garp_sent"] = float(t)
            if text.startswith("switchover"):
                self.first["switchover"] = float(t)

    def load_garp(self):
        """tcpdump in the target VM: the first gratuitous ARP on the wire."""
        pat = re.compile(r"^(\d+\.\d+) ARP, Request who-has (\S+)(?: \([^)]*\))? tell ([0-9.]+)")
        for line in read(os.path.join(self.d, "garp.log")):
            m = pat.match(line)
            if m and m.group(2) == self.vm and m.group(3) == self.vm:
                t = float(m.group(1))
                self.first["garp_wire"] = t
                self.events.append((t, "node-b VM", f"gratuitous ARP for {self.vm} on the wire"))
                return

    def load_watchers(self):
        for n in "abc":
            for line in read(os.path.join(self.d, f"watcher-{n}.log")):
                f = logfmt(line)
                msg, ts = f.get("msg", ""), f.get("ts")
                if not ts:
                    continue
                t = utc_epoch(ts)
                if msg == "Live migration state transition":
                    self.transitions.setdefault(n, []).append(
                        f"{f.get('from')}>{f.get('input')}>{f.get('to')}")
                    self.events.append(
                        (t, f"node-{n} watcher",
                         f"{f.get('id')}: {f.get('from')} --{f.get('input')}--> {f.get('to')}"))
                elif msg.startswith("Detected GARP"):
                    self.events.append((t, f"node-{n} watcher", f"GARP/RARP seen on {f.get('interface')}"))
                    self.first.setdefault("garp_seen_" + n, t)

    def load_routes(self):
        pat = re.compile(r"^\[(\S+)\] (Deleted )?" + re.escape(self.vm) + r" (.*)$")
        for n in "abc":
            for line in read(os.path.join(self.d, f"mon-{n}.log")):
                m = pat.match(line)
                if not m:
                    continue
                t = local_epoch(m.group(1))
                rest = m.group(3)
                via = re.search(r"via (\S+)", rest)
                dev = re.search(r"dev (\S+)", rest)
                metric = re.search(r"metric (\d+)", rest)
                proto = re.search(r"proto (\S+)", rest)
                where = (f"via node-{self.node_of(via.group(1))}" if via
                         else f"dev {dev.group(1) if dev else '?'} (the VM)")
                text = (f"{'-' if m.group(2) else '+'} {self.vm} {where} "
                        f"metric {metric.group(1) if metric else 0} "
                        f"proto {proto.group(1) if proto else '?'}")
                self.routes.setdefault(n, []).append((t, text))
                self.events.append((t, f"node-{n} kernel", text))
                if not m.group(2) and metric:
                    key = f"route_{n}_{metric.group(1)}" + (f"_{self.node_of(via.group(1))}" if via else "")
                    self.first.setdefault(key, t)

    def load_probe(self):
        """udp_probe.py's record: (received, seq) per echo, and how many were sent."""
        replies, sent = [], None
        for line in read(os.path.join(self.d, "probe.txt")):
            f = line.split()
            if f[0] == "sent":
                sent = int(f[1])
            elif len(f) == 3:
                replies.append((float(f[2]), int(f[0])))
        replies.sort()
        return replies, sent, len(replies)


def ms(x):
    return f"{x * 1000:.1f} ms"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--vm", required=True)
    ap.add_argument("--interval", type=float, required=True)
    ap.add_argument("--node-a", required=True)
    ap.add_argument("--node-b", required=True)
    ap.add_argument("--results")
    ap.add_argument("--png", help="also draw the timeline into this PNG file")
    a = ap.parse_args()

    r = Report(a.dir, a.vm, {"a": a.node_a, "b": a.node_b})
    r.load_script()
    r.load_garp()
    r.load_watchers()
    r.load_routes()
    replies, sent, received = r.load_probe()
    out = {}

    # t = 0: the GARP on the wire (tcpdump's kernel timestamp), else the
    # script's step that launched it.
    t0 = r.first.get("garp_wire", r.first.get("garp_sent"))
    if t0 is None:
        sys.exit("report: no GARP in garp.log nor a GARP step in events.tsv")

    # The blackout: the silence around the switchover, from the source VM's
    # last reply to the target VM's first (the gap between replies that
    # spans the GARP). Other gaps are this machine's scheduling jitter or
    # losses elsewhere, reported apart.
    gap, gap_from, gap_to = 0.0, None, None
    other = (0.0, None)
    for (t1, s1), (t2, s2) in zip(replies, replies[1:]):
        if t1 <= t0 < t2:
            gap, gap_from, gap_to = t2 - t1, (t1, s1), (t2, s2)
        elif t2 - t1 > other[0]:
            other = (t2 - t1, t1)
    if gap_from:
        r.events.append((gap_from[0], "node-c traffic", f"last reply before the blackout (seq {gap_from[1]})"))
        r.events.append((gap_to[0], "node-c traffic", f"first reply after the blackout (seq {gap_to[1]})"))
    # Requests never answered, by when their neighbours were answered.
    answered = dict((sq, t) for t, sq in replies)
    lost_elsewhere = []
    if replies:
        prev_t = replies[0][0]
        for sq in range(replies[0][1], replies[-1][1] + 1):
            if sq in answered:
                prev_t = answered[sq]
            elif not (gap_from and gap_from[1] < sq < gap_to[1]):
                lost_elsewhere.append((sq, prev_t))

    when = datetime.datetime.fromtimestamp(t0, datetime.timezone.utc)
    print(f"== timeline (t = 0: the resumed VM's gratuitous ARP on the wire, {when:%H:%M:%S.%f} UTC)")
    for t, who, text in sorted(r.events, key=lambda e: e[0]):
        print(f"  {t - t0:+9.4f} s  {who:<15} {text}")

    print()
    print(f"== node-c's route to {a.vm} over time (its kernel, ip monitor)")
    for t, text in r.routes.get("c", []):
        print(f"  {t - t0:+9.4f} s  {text}")
    final = " ".join(read(os.path.join(a.dir, "route-c-final.txt"))).strip()
    print(f"  at the end: {final or '<none>'}")
    out["c_final_route"] = final.replace(" ", ",")
    for n in "ab":
        out[f"{n}_transitions"] = ",".join(r.transitions.get(n, []))

    print()
    print(f"== traffic: a numbered UDP datagram from node-c to the VM every {a.interval * 1000:g} ms, echoed")
    after = [t for t, _ in replies if t > t0]
    out["sent"] = sent if sent is not None else 0
    out["received"] = received if received is not None else len(replies)
    out["lost"] = out["sent"] - out["received"]
    out["replies_after_garp"] = len(after)
    if sent:  # the end of the run: node-c at 1024 via node-b, the source pod gone
        out["answered_of_last_500"] = sum(1 for _, sq in replies if sq >= sent - 500)
    out["blackout_ms"] = f"{gap * 1000:.1f}"
    out["lost_at_switchover"] = gap_to[1] - gap_from[1] - 1 if gap_from else -1
    out["lost_elsewhere"] = len(lost_elsewhere)
    out["longest_other_gap_ms"] = f"{other[0] * 1000:.1f}"
    print(f"  sent {out['sent']}, received {out['received']}, lost {out['lost']}")
    if gap_from:
        print(f"  blackout (no reply around the switchover): {ms(gap)}, "
              f"from {gap_from[0] - t0:+.4f} s to {gap_to[0] - t0:+.4f} s, "
              f"{out['lost_at_switchover']} datagram(s) unanswered")
    for sq, t in lost_elsewhere:
        print(f"  datagram {sq} unanswered, at {t - t0:+.4f} s")
    if other[1] is not None:
        print(f"  longest other gap between replies: {ms(other[0])} at {other[1] - t0:+.4f} s "
              "(scheduling on this machine)")
    print(f"  replies after the GARP: {len(after)} (the source VM is paused: all from node-b's VM)")
    try:
        with open(os.path.join(a.dir, "vm-dst-link.json")) as f:
            out["target_vm_tx_packets"] = json.load(f)[0]["stats64"]["tx"]["packets"]
        print(f"  node-b's VM sent {out['target_vm_tx_packets']} packets")
    except (OSError, ValueError, KeyError, IndexError):
        pass

    print()
    print("== where the blackout goes")
    rows = []
    b512 = r.first.get("route_b_512")
    c512 = r.first.get("route_c_512_b")
    a512 = r.first.get("route_a_512_b")
    if gap_from and "switchover" in r.first:
        rows.append(("last reply from the source VM -> GARP on the wire", t0 - gap_from[0]))
    if b512:
        out["garp_to_route_b_ms"] = f"{(b512 - t0) * 1000:.2f}"
        rows.append(("GARP on the wire -> route at 512 in node-b's kernel (handoff)", b512 - t0))
    if b512 and c512:
        out["route_b_to_c_ms"] = f"{(c512 - b512) * 1000:.2f}"
        rows.append(("node-b's route -> node-c's route via node-b (BIRD, iBGP)", c512 - b512))
    if gap_to and c512:
        rows.append(("node-c's route -> first reply (next datagram, there and back)",
                     gap_to[0] - c512))
    for text, x in rows:
        print(f"  {text:<68} {ms(x):>9}")
    if gap_from and gap_to:
        print(f"  {'= the blackout':<68} {ms(gap):>9}")
    print("  notes:")
    if "switchover" in r.first:
        print(f"    source paused -> GARP on the wire (this script): {ms(t0 - r.first['switchover'])}")
    metrics = "\n".join(read(os.path.join(a.dir, "metrics-b.txt")))
    s_ = re.search(r"^handoff_garp_to_route_seconds_sum (\S+)", metrics, re.M)
    c_ = re.search(r"^handoff_garp_to_route_seconds_count (\S+)", metrics, re.M)
    if s_ and c_ and float(c_.group(1)) > 0:
        g2r = float(s_.group(1)) / float(c_.group(1))
        out["watcher_garp_to_route_ms"] = f"{g2r * 1000:.3f}"
        print(f"    GARP captured -> route programmed, inside node-b's watcher (/metrics): {ms(g2r)}")
    if b512 and a512:
        print(f"    node-a (the source node) routes via node-b {ms(a512 - b512)} after node-b's route")
    print("    (kernel route times are when `ip monitor` read the change, GARP and")
    print("     traffic times the kernel's packet stamps: sub-millisecond figures are")
    print("     within this machine's scheduling noise)")

    if a.png:
        import plot  # matplotlib only when a picture is asked for

        plot.timeline(a.png, t0, [t for t, _ in replies], r.routes, r.events,
                      blackout=(gap_from[0], gap_to[0]) if gap_from else None,
                      title=f"handoff demo: {a.vm} migrates from node-a to node-b, "
                            f"node-c sends a datagram every {a.interval * 1000:g} ms")
        print(f"\n== the timeline as a picture: {a.png}")

    if a.results:
        with open(a.results, "w") as f:
            for k, v in out.items():
                f.write(f"{k}={v}\n")


if __name__ == "__main__":
    main()
