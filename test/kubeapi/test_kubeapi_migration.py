#!/usr/bin/python3
"""A migration driven by objects on the test API server reaches the decisions
of the corresponding replay scenario (test/replay/clean-migration.jsonl).

The scenario's objects are created and deleted on the server in the recorded
order; `handoff-watcher run --kubeconfig` for node-a and node-b must log the
same role, transition and route decisions, in the same order, as
`handoff-watcher replay` expects in clean-migration.node-{a,b}.expected.
The only difference: FelixConfiguration's convergence time is 1500ms instead
of 30s, which changes when the TimerPop comes, not what is decided.

  test_kubeapi_migration.py            no root: node-a whole; node-b up to the
                                       GARP (no capture without a dataplane)
  test_kubeapi_migration.py --netns    root: node-b's watcher runs with its
                                       dataplane in a network namespace with
                                       the pod's veth; the VM's GARP is a real
                                       arping; the whole node-b sequence, and
                                       the kernel routes, are checked.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kapi  # noqa: E402
from kapi import check  # noqa: E402

NETNS = "--netns" in sys.argv
SCENARIO = os.path.join(kapi.SRC, "test", "replay", "clean-migration")
TAG = os.getpid()
NODE_NS, WL_NS = "hka-node-%d" % TAG, "hka-wl-%d" % TAG
TARGET_IF = "hobf80acc2e55f"  # what the CNI names vms/virt-launcher-vm1-bbbbb's veth


def expected(node):
    with open("%s.%s.expected" % (SCENARIO, node)) as f:
        return [(json.loads(l)["t"], kapi.decision_from_replay(json.loads(l)))
                for l in f if l.strip()]


def setup_netns():
    def ip(*a):
        subprocess.run(["ip"] + list(a), check=True)
    ip("netns", "add", NODE_NS)
    ip("netns", "add", WL_NS)
    ip("-n", NODE_NS, "link", "set", "lo", "up")
    ip("-n", NODE_NS, "link", "add", TARGET_IF, "type", "veth", "peer", "name", "eth0",
       "netns", WL_NS)
    ip("-n", NODE_NS, "link", "set", TARGET_IF, "up")
    ip("-n", WL_NS, "link", "set", "eth0", "up")
    ip("-n", WL_NS, "addr", "add", "10.65.0.10/32", "dev", "eth0")


def teardown_netns():
    for ns in (NODE_NS, WL_NS):
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


def kernel_metric(dst):
    r = subprocess.run(["ip", "-n", NODE_NS, "-j", "route", "show", dst, "proto", "88"],
                       capture_output=True, text=True)
    routes = json.loads(r.stdout or "[]")
    return [x.get("metric", 0) for x in routes]


def body(h):
    ops = []
    with open(SCENARIO + ".jsonl") as f:
        for line in f:
            if line.strip():
                ops.append(json.loads(line))
    exp = {"node-a": expected("node-a"), "node-b": expected("node-b")}
    # Up to the GARP only, unless the GARP can be seen (dataplane in a netns).
    garp_t = min(o["t"] for o in ops if o["op"] in ("garp", "rarp"))
    if not NETNS:
        exp["node-b"] = [e for e in exp["node-b"] if e[0] < garp_t]

    wa = h.watcher("node-a", "node-a", ["--no-dataplane"], netns=h.netns)
    wb = h.watcher("node-b", "node-b", [] if NETNS else ["--no-dataplane"], netns=h.netns)
    for w in (wa, wb):
        w.wait_ready()
    watchers = {"node-a": wa, "node-b": wb}

    for i, op in enumerate(ops):
        if op["op"] == "apply":
            obj = op["object"]
            if obj["kind"] == "FelixConfiguration":
                obj = kapi.felix("1500ms")
            h.apply(obj)
        elif op["op"] == "delete":
            m = op["object"]["metadata"]
            h.delete(op["object"]["kind"], m["name"], m.get("namespace"))
        elif op["op"] in ("garp", "rarp"):
            if not NETNS:
                continue
            # The VM resumed on node-b announces itself (a second one is seen
            # too and decides nothing, as in the replay), once node-b listens.
            h.wait("node-b's capture on the target", lambda: any(
                "GARP/RARP capture started" in l and TARGET_IF in l for l in wb.lines()), 5)
            time.sleep(0.2)
            subprocess.run(["ip", "netns", "exec", WL_NS, "arping", "-U", "-c1", "-I", "eth0",
                            "10.65.0.10"], check=True, stdout=subprocess.DEVNULL)
        # Everything decided before the next op must have been decided now:
        # the next object change may not race ahead of it.
        nxt = ops[i + 1]["t"] if i + 1 < len(ops) else float("inf")
        for node, w in watchers.items():
            if node == "node-b" and not NETNS and op["t"] >= garp_t:
                continue  # without the GARP node-b leaves the scenario here
            want = len([e for e in exp[node] if e[0] < nxt])
            h.wait("%s: %d decisions before t=%s" % (node, want, nxt),
                   lambda: len(w.decisions()) >= want, 8)
    time.sleep(0.5)  # nothing more may come
    for node, w in watchers.items():
        got = w.decisions()
        want = [e[1] for e in exp[node]]
        if node == "node-b" and not NETNS:
            got = got[:len(want)]
        if got != want:
            h.fail("%s decided differently from the replay:\n  got:  %s\n  want: %s" %
                   (node, "\n        ".join(map(str, got)), "\n        ".join(map(str, want))))
    if NETNS:
        # What the kernel holds matches the last route decision.
        check(kernel_metric("10.65.0.10") == [1024],
              "node-b kernel route: %s" % kernel_metric("10.65.0.10"))
        _, text = wb.http("/metrics")
        check('handoff_migrations_total{outcome="completed"} 1' in text,
              "node-b: migration not counted as completed")


if NETNS:
    teardown_netns()
    setup_netns()
h = kapi.Harness("migration" + ("-netns" if NETNS else ""), netns=NODE_NS if NETNS else None,
                 deadline=60, hooks=[teardown_netns] if NETNS else [])
h.run(body)
