#!/usr/bin/python3
"""bench-vmaddr.py - VM addresses (issue 11): CNI ADD latency of handoff-cni
for a VM pod (addresses from the node's watcher, state in the API) next to
an ordinary pod (Debian's host-local), interleaved in one run, the way a
runtime runs them (one exec each, through `ip netns exec`, real veths); and
the watcher's allocation throughput with 1 and with 8 concurrent first-pod
ADDs on one node. Against hack/test-apiserver.py (Python, TLS): its own cost
is in the figures. Root. Prints figures; never fails on timing.

  hack/bench-vmaddr.py [CYCLES (default 30)] [VMS for throughput (default 400)]
"""
import concurrent.futures
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test", "kubeapi"))
os.environ.setdefault("HANDOFF_SOURCE_DIR", os.path.join(HERE, ".."))
import kapi  # noqa: E402
import vmaddr_lib as L  # noqa: E402
import test_kubeapi_vmaddr_cni as T  # noqa: E402

CYCLES = int(sys.argv[1]) if len(sys.argv) > 1 else 30
VMS = int(sys.argv[2]) if len(sys.argv) > 2 else 400


def stats(v):
    v = sorted(v)
    return "median %6.1f ms  p90 %6.1f ms  max %6.1f ms" % (
        statistics.median(v), v[min(len(v) - 1, int(len(v) * 0.9))], v[-1])


def body(h):
    # One fresh node per throughput run, each range with 2047 VM addresses.
    cidrs = dict(L.Cluster.NODES, **{"node-b": ("10.244.16.0/20", "fd00:10:244:2::/64"),
                                     "node-c": ("10.244.32.0/20", "fd00:10:244:3::/64")})
    c = L.Cluster(h, cidrs=cidrs, gc_interval=0, workers=8)
    a = T.Node(h, c, "node-a")
    h.apply(*[L.vm_pod("virt-launcher-b%d" % i, "node-a", "b%d" % i) for i in range(CYCLES)])
    plain, vm = [], []
    for i in range(CYCLES):
        rc, out, _ = a.run("ADD", "web-%d" % i)
        kapi.check(rc == 0, "ordinary ADD: %s" % out)
        plain.append(a.last_ms)
        rc, out, _ = a.run("ADD", "virt-launcher-b%d" % i)
        kapi.check(rc == 0, "VM ADD: %s" % out)
        vm.append(a.last_ms)
        a.run("DEL", "web-%d" % i)
        a.run("DEL", "virt-launcher-b%d" % i)  # no VMI: released, the next is a fresh allocation
    print("CNI ADD, %d each, interleaved (exec of handoff-cni, veth, addresses):" % CYCLES)
    print("  ordinary pod, host-local      %s" % stats(plain))
    print("  VM pod, watcher + API (first) %s" % stats(vm))
    print("  ratio of medians VM/host-local: %.2f" % (statistics.median(vm) /
                                                      statistics.median(plain)))

    for conc, node in ((1, "node-b"), (8, "node-c")):
        batch = ["virt-launcher-%s-%d" % (node, i) for i in range(VMS)]
        for k in range(0, len(batch), 200):
            h.apply(*[L.vm_pod(p, node, p[len("virt-launcher-"):]) for p in batch[k:k + 200]])
        before = len(h.requests())
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(conc) as ex:
            for f in [ex.submit(c.add, node, p) for p in batch]:
                f.result()
        dt = time.monotonic() - t0
        reqs = [r for r in h.requests(before) if not r["watch"]]
        print("allocation, %d concurrent first-pod ADDs on one node (socket, v4+v6): "
              "%d in %.2f s = %.0f/s; %.1f API requests per ADD (%d answered 409), "
              "%.0f requests/s served by the Python test server" %
              (conc, len(batch), dt, len(batch) / dt, len(reqs) / len(batch),
               sum(1 for r in reqs if r["status"] == 409), len(reqs) / dt))
    c.check_consistent()
    print("load average: %s" % open("/proc/loadavg").read().split()[:3])


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("bench-vmaddr.py: needs root (network namespaces)")
    kapi.Harness("bench_vmaddr", deadline=600).run(body)
