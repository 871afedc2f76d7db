#!/usr/bin/env python3
"""blackout_stats.py OUTDIR [--json FILE] [--png-dir DIR]: the figures of
hack/bench-blackout.sh (with --png-dir, DIR/blackout-MODE.png: handoff's and
the baseline's blackout distributions, drawn by hack/demo/plot.py).

For every migration of every series that blackout-series.sh left in OUTDIR
(MODE-KIND.tsv: run, RARP time, from, to; MODE-KIND-probe.txt: node c's
probes; MODE-mon-ROUTER.log: `ip -ts monitor route` where the path is chosen):

  blackout   the longest run of unanswered probes around the switchover
             (probes leave every 1 ms on a fixed schedule: 1 probe = 1 ms),
             from 0.25 s before the announcement until the next migration
             is being prepared (at most 10 s);
  network    the announcement on the wire (the RARP's send time) to the
             first route at the deciding router that goes via the target
             alone: node c's kernel on the mesh, tor1's on the eBGP fabric
             (node c itself only ever sees its ToR there).

Prints median, p90, p99 and max per series, and baseline/handoff ratios."""
import datetime
import json
import os
import statistics
import sys

NODE_IP = {"ibgp": {"a": "10.99.0.1", "b": "10.99.0.2"},
           "ebgp": {"a": "10.91.0.1", "b": "10.91.0.2"}}
ROUTER = {"ibgp": "c", "ebgp": "tor1"}
VM = "10.65.0.50"
INTERVAL = 0.001


def pct(xs, p):
    """Nearest-rank percentile of a non-empty list."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def summary(xs):
    if not xs:
        return None
    return {"n": len(xs), "median": statistics.median(xs), "p90": pct(xs, 90),
            "p99": pct(xs, 99), "max": max(xs)}


def load_probe(path):
    lines = open(path).read().split("\n")
    sent = int(lines[0].split()[1])
    answered = {}
    for l in lines[1:]:
        if l.strip():
            seq, t_sent, _ = l.split()
            answered[int(seq)] = float(t_sent)
    # The sender keeps a fixed schedule: seq k leaves at t0 + k * INTERVAL.
    t0 = statistics.median(t - k * INTERVAL for k, t in answered.items())
    return sent, answered, t0


def blackout_ms(sent, answered, t0, t, t_end):
    lo = max(0, int((t - 0.25 - t0) / INTERVAL))
    hi = min(sent, int((t_end - t0) / INTERVAL))
    run = best = 0
    for k in range(lo, hi):
        run = 0 if k in answered else run + 1
        best = max(best, run)
    return best * INTERVAL * 1000


def route_entries(path):
    """(epoch, text) per `ip -ts monitor route` entry; multipath routes span
    several lines, the continuation lines indented."""
    out = []
    for line in open(path).read().split("\n"):
        if line.startswith("["):
            stamp, _, text = line[1:].partition("] ")
            t = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f").timestamp()
            out.append([t, text])
        elif line.strip() and out:
            out[-1][1] += " " + line.strip()
    return out


def network_ms(entries, t, target_ip):
    for te, text in entries:
        if te < t or not text.startswith(VM + " "):
            continue
        if "nexthop" in text:
            continue
        if f"via {target_ip} " in text:
            return (te - t) * 1000
    return None


def main():
    d = sys.argv[1]
    res = {}
    for mode in ("ibgp", "ebgp"):
        mon = os.path.join(d, f"{mode}-mon-{ROUTER[mode]}.log")
        if not os.path.exists(mon):
            continue
        entries = route_entries(mon)
        for kind in ("handoff", "baseline"):
            tsv = os.path.join(d, f"{mode}-{kind}.tsv")
            if not os.path.exists(tsv):
                continue
            sent, answered, t0 = load_probe(os.path.join(d, f"{mode}-{kind}-probe.txt"))
            bo, net = [], []
            runs = [l.split("\t") for l in open(tsv).read().split("\n") if l.strip()]
            for i, (_, t, _, to) in enumerate(runs):
                t = float(t)
                # Up to the next migration's preparations (or 10 s).
                t_end = min(t + 10, float(runs[i + 1][1]) - 0.5) if i + 1 < len(runs) else t + 10
                bo.append(blackout_ms(sent, answered, t0, t, t_end))
                n = network_ms(entries, t, NODE_IP[mode][to])
                if n is not None:
                    net.append(n)
            res[f"{mode}/{kind}"] = {"blackout_ms": summary(bo), "network_ms": summary(net),
                                     "runs": len(bo), "blackouts": bo}
    print(f"{'series':<18} {'what':<12} {'n':>3} {'median':>9} {'p90':>9} {'p99':>9} {'max':>9}  (ms)")
    for name, r in res.items():
        for what in ("blackout_ms", "network_ms"):
            s = r[what]
            if not s:
                print(f"{name:<18} {what[:-3]:<12}   -")
                continue
            print(f"{name:<18} {what[:-3]:<12} {s['n']:>3} {s['median']:>9.2f} {s['p90']:>9.2f}"
                  f" {s['p99']:>9.2f} {s['max']:>9.2f}")
    for mode in ("ibgp", "ebgp"):
        h, b = res.get(f"{mode}/handoff"), res.get(f"{mode}/baseline")
        if h and b and h["blackout_ms"] and b["blackout_ms"]:
            hm, bm = h["blackout_ms"]["median"], b["blackout_ms"]["median"]
            print(f"{mode}: baseline/handoff blackout, median {bm:.1f}/{hm:.1f} ms = "
                  f"{(bm / hm) if hm else float('inf'):.1f}x; p99 "
                  f"{b['blackout_ms']['p99']:.1f}/{h['blackout_ms']['p99']:.1f} ms")
    vm = os.path.join(d, "vm.results")
    if os.path.exists(vm):
        kv = dict(l.split("=", 1) for l in open(vm).read().split("\n") if "=" in l)
        sil = [float(v) for k, v in kv.items() if k.endswith("_silence_ms")]
        down = [float(v) for k, v in kv.items() if k.endswith("_downtime_ms")]
        for name, xs in (("silence", sil), ("QEMU downtime", down)):
            s = summary(xs)
            if s:
                print(f"{'real VM':<18} {name:<12} {s['n']:>3} {s['median']:>9.2f} {s['p90']:>9.2f}"
                      f" {s['p99']:>9.2f} {s['max']:>9.2f}")
        res["vm"] = {"silence_ms": summary(sil), "downtime_ms": summary(down)}
    opts = dict(zip(sys.argv[2::2], sys.argv[3::2]))
    if "--json" in opts:
        with open(opts["--json"], "w") as f:
            json.dump(res, f, indent=1)
    if "--png-dir" in opts:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "demo"))
        import plot  # matplotlib: only when pictures are asked for
        for mode in ("ibgp", "ebgp"):
            series = {k: res[f"{mode}/{k}"]["blackouts"] for k in ("handoff", "baseline")
                      if f"{mode}/{k}" in res}
            if series:
                path = os.path.join(opts["--png-dir"], f"blackout-{mode}.png")
                plot.distribution(path, series, title=f"client blackout per migration, {mode} "
                                  "(handoff against a plain routed CNI)")
                print(f"picture: {path}")


if __name__ == "__main__":
    main()
