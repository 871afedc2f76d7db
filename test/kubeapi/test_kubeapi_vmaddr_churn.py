#!/usr/bin/python3
"""VM addresses under load and crashes (issue 11), against the test API
server with three simulated nodes whose ranges are small (a /26 and a /120:
31 and 127 VM addresses each), so that addresses are given, released and
given again many times:

1. churn: VMS virt-launcher pods (default 1000) on random nodes, 8 at a
   time: ADD, for one in four a migration target ADD on another node (same
   addresses), then DEL of every pod (the VMI does not exist: released).
   node-a has two watcher processes (as in a rollout), so their claims on
   node-a's range race in the API. At every answer no address is held by
   another VM whose pods were not all deleted yet; at the end no handle or claim is left. Prints the ADD
   median and throughput with 8 concurrent ADDs.
2. kill -9: 16 first-pod ADDs on node-c, 8 at a time, with every API request
   slowed by 20 ms; node-c's watcher is killed in the middle and started
   again. Then half of the pods retry their ADD (the kubelet's retry) and
   keep any address they were answered before the kill; the other half are
   deleted (DEL). Nothing is lost: every retried VM holds one distinct
   v4+v6; nothing leaks: after a collection every claim belongs to a handle
   holding that address, and the deleted ones hold nothing.
"""
import concurrent.futures
import os
import random
import signal
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kapi  # noqa: E402
import vmaddr_lib as L  # noqa: E402
from kapi import check  # noqa: E402

VMS = int(os.environ.get("VMADDR_CHURN", "1000"))
CIDRS = {"node-a": ("10.244.1.0/26", "fd00:10:244:1::/120"),
         "node-b": ("10.244.2.0/26", "fd00:10:244:2::/120"),
         "node-c": ("10.244.3.0/26", "fd00:10:244:3::/120")}
NODES = sorted(CIDRS)


def churn(h, c):
    lock = threading.Lock()
    held = {}  # address -> vm, from its first ADD until its pods' DELs are sent
    add_ms = []
    rng = random.Random(11)
    plan = []
    # "node-a-twin" is a second watcher process of node-a (a DaemonSet
    # rollout overlapping): its claims on node-a's range race the first
    # one's, which only the API's compare-and-swap can settle.
    sockets = NODES + ["node-a-twin"]
    for i in range(VMS):
        a = rng.choice(sockets)
        b = rng.choice([n for n in NODES if n not in (a, "node-a")]) if i % 4 == 0 else None
        plan.append((i, a, b))
    pods = []
    for i, a, b in plan:
        pods.append(L.vm_pod("virt-launcher-c%d-x" % i, a.replace("-twin", ""), "c%d" % i))
        if b:
            pods.append(L.vm_pod("virt-launcher-c%d-y" % i, b, "c%d" % i, migration_uid="m%d" % i))
    for k in range(0, len(pods), 200):
        h.apply(*pods[k:k + 200])

    def one(item):
        i, a, b = item
        vm = "c%d" % i
        t0 = time.monotonic()
        got = c.add(a, "virt-launcher-%s-x" % vm)
        dt = (time.monotonic() - t0) * 1000
        with lock:
            add_ms.append(dt)
            for ip in got["ips"]:
                check(held.get(ip, vm) == vm, "%s given to %s while %s holds it" %
                      (ip, vm, held.get(ip)))
                held[ip] = vm
        check(len(got["ips"]) == 2, "%s: one address per family: %s" % (vm, got))
        if b:
            t = c.add(b, "virt-launcher-%s-y" % vm)
            check(t["ips"] == got["ips"] and t["target"], "%s's target: %s vs %s" %
                  (vm, t, got))
        with lock:
            for ip in got["ips"]:
                del held[ip]
        if b:
            c.delete(b, "virt-launcher-%s-y" % vm)
        c.delete(a, "virt-launcher-%s-x" % vm)

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        for f in [ex.submit(one, item) for item in plan]:
            f.result()
    elapsed = time.monotonic() - t0
    # A release whose claim removal kept losing to other writers leaves it
    # to the collector (every second here).
    h.wait("every claim freed", lambda: not c.claims(), 10)
    handles, claims = c.check_consistent()
    check(not handles and not claims, "after the churn: %d handles, %d claims left" %
          (len(handles), len(claims)))
    conflicts = sum(1 for r in h.requests() if r["status"] == 409 and r["method"] == "PUT")
    add_ms.sort()
    print("churn: %d VMs (%d pods) on 3 nodes (4 watchers), 8 concurrent: %.1f s; ADD median %.1f ms, "
          "p90 %.1f ms; %.0f first-pod ADDs/s with ADD+DEL mixed; %d PUTs refused 409 "
          "and retried; %d answers 'try again later' retried" %
          (VMS, len(pods), elapsed, statistics.median(add_ms),
           add_ms[int(len(add_ms) * 0.9)], VMS / elapsed, conflicts, L.Cluster.retries))


def kill9(h, c):
    n = 16
    pods = ["virt-launcher-k%d-x" % i for i in range(n)]
    h.apply(*[L.vm_pod(p, "node-c", "k%d" % i) for i, p in enumerate(pods)])
    h.fault(latency=20)
    answers = {}

    def add(p):
        try:
            answers[p] = L.ask(c.sock("node-c"), "ADD", p, timeout=30)
        except OSError as e:
            answers[p] = {"error": str(e)}

    ex = concurrent.futures.ThreadPoolExecutor(8)
    futs = [ex.submit(add, p) for p in pods]
    # In the middle: the first ADDs answered, others between their writes,
    # the rest queued.
    h.wait("some ADDs done, others under way", lambda:
           sum(1 for o in c.state()[0] if o["spec"].get("ipv6")) >= 2, 20)
    old = c.w["node-c"]
    old.proc.send_signal(signal.SIGKILL)
    old.proc.wait()
    h.watchers.remove(old)
    h.procs.remove(old.proc)
    for f in futs:
        f.result()
    ex.shutdown()
    done = {p: a["ips"] for p, a in answers.items() if a and "ips" in a}
    check(len(done) < n, "the kill came after every ADD (%d answered)" % len(done))
    half = [o["metadata"]["name"] for o in c.state()[0] if not o["spec"].get("ipv6")]
    check(half, "no handle was between its writes at the kill")
    h.fault(latency=0)
    # The service's process dies with the daemon; its socket may be left.
    try:
        os.unlink(c.sock("node-c"))
    except FileNotFoundError:
        pass
    c.start("node-c")
    h.wait("node-c's socket again", lambda: os.path.exists(c.sock("node-c")), 15)

    keep, gone = pods[::2], pods[1::2]
    for p in keep:
        a = c.add("node-c", p)
        check(p not in done or a["ips"] == done[p], "%s answered %s before the kill, %s after" %
              (p, done.get(p), a["ips"]))
    for p in gone:
        h.delete("Pod", p, L.NS)
        c.delete("node-c", p)
    # The collector runs every second: claims of handles that never got
    # their addresses, or of handles released, go.
    h.wait("the collector", lambda: len(c.claims()) == 2 * len(keep), 10)
    handles, claims = c.check_consistent()
    names = sorted(o["spec"]["vm"] for o in handles)
    check(names == sorted("k%d" % i for i in range(0, n, 2)), "handles left: %s" % names)
    check(all(o["spec"].get("ipv4") and o["spec"].get("ipv6") for o in handles),
          "every kept VM has both addresses")
    print("kill -9: %d of %d ADDs answered before the kill, %d handles caught between "
          "writes; after the restart %d VMs hold %d distinct addresses, no claim left over" %
          (len(done), n, len(half), len(handles), len(claims)))


def body(h):
    c = L.Cluster(h, cidrs=CIDRS, workers=8)
    c.w["node-a-twin"] = h.watcher("node-a-twin", "node-a", [
        "--no-dataplane", "--ipam-socket", c.sock("node-a-twin"), "--ipam-workers", "8"])
    h.wait("the twin's socket", lambda: os.path.exists(c.sock("node-a-twin")), 15)
    churn(h, c)
    kill9(h, c)


if __name__ == "__main__":
    kapi.Harness("vmaddr_churn", deadline=300).run(body)
