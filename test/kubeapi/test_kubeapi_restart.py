#!/usr/bin/python3
"""A watcher restarted while its API server is slow to list LiveMigrations
touches no route before it knows them (issue 9, section 1), on a real kernel.

The target pod's LiveMigration list answers 500 a few times after each
restart, so the Pod list completes first: a watcher that programs routes from
a partial view gives the target its normal route (metric 1024) for a moment,
which attracts traffic to a VM that is not running there, or drops a Live
endpoint's elevated route to 1024. Checked with `ip monitor route` across:
  1. a restart (SIGKILL) while Target: no route event; the capture reopens
     and the GARP after the restart makes the route elevated;
  2. a restart (SIGKILL) while Live: no route event; still Live, no
     transition logged, its /migrations record restored.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kapi  # noqa: E402
from kapi import check  # noqa: E402

TAG = os.getpid()
NODE_NS, WL_NS = "hkr-node-%d" % TAG, "hkr-wl-%d" % TAG
POD, DST = "vm1-target", "10.65.0.10"


def ifname(ns, name):
    h = 0xcbf29ce484222325
    for c in ("%s.%s" % (ns, name)).encode():
        h ^= c
        h = (h * 0x100000001b3) & 0xffffffffffffffff
    return "ho%012x" % (h & 0xffffffffffff)


def ip(*a):
    subprocess.run(["ip"] + list(a), check=True)


def setup_netns():
    ip("netns", "add", NODE_NS)
    ip("netns", "add", WL_NS)
    ip("-n", NODE_NS, "link", "set", "lo", "up")
    ip("-n", NODE_NS, "link", "add", ifname("vms", POD), "type", "veth", "peer", "name", "eth0",
       "netns", WL_NS)
    ip("-n", NODE_NS, "link", "set", ifname("vms", POD), "up")
    ip("-n", WL_NS, "link", "set", "eth0", "up")
    ip("-n", WL_NS, "addr", "add", DST + "/32", "dev", "eth0")


def teardown_netns():
    for ns in (NODE_NS, WL_NS):
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


def metrics():
    r = subprocess.run(["ip", "-n", NODE_NS, "route", "show", DST, "proto", "88"],
                       capture_output=True, text=True)
    return sorted(int(l.split(" metric ")[1].split()[0]) for l in r.stdout.splitlines()
                  if " metric " in l)


class RouteMonitor:
    """Every change to the node's routes while it runs."""

    def __init__(self, h):
        self.path = os.path.join(h.dir, "routes.%d" % time.monotonic_ns())
        self.f = open(self.path, "w")
        self.p = subprocess.Popen(["ip", "-n", NODE_NS, "monitor", "route"], stdout=self.f,
                                  stderr=subprocess.STDOUT)
        time.sleep(0.2)  # subscribed

    def stop(self):
        self.p.terminate()
        self.p.wait()
        self.f.close()
        with open(self.path) as f:
            return [l for l in f.read().splitlines() if DST in l]


def lm(name, uid):
    return {"apiVersion": "projectcalico.org/v3", "kind": "LiveMigration",
            "metadata": {"namespace": "vms", "name": name, "uid": uid},
            "spec": {"source": {"workload": {"orchestratorID": "k8s",
                                             "workloadID": "vms/vm1-source"}},
                     "target": {"selector": "vm == 'vm1'"}}}


def body(h):
    state = os.path.join(h.dir, "node-b.state")
    n = [0]

    def start():
        n[0] += 1
        w = h.watcher("node-b-%d" % n[0], "node-b", ["--state-file", state], netns=NODE_NS)
        w.wait_ready(20)
        return w

    def kill(w):
        w.proc.kill()
        w.proc.wait()
        h.watchers.remove(w)  # not a clean exit, by design

    def slow_lm_list():
        # The next LiveMigration requests answer 500: the Pod list is done first.
        h.fault(fail=3, resource="livemigrations")

    h.apply(kapi.felix("4s"), kapi.pod(POD, "node-b", DST, {"vm": "vm1"}))
    w = start()
    h.wait("normal route", lambda: metrics() == [1024])
    h.apply(lm("mig-7", "uid-7"))
    h.wait("suppressed on the target", lambda: metrics() == [])
    h.wait("capture", lambda: any("GARP/RARP capture started" in l for l in w.lines()))

    # 1. Target.
    mon = RouteMonitor(h)
    kill(w)
    slow_lm_list()
    w = start()
    h.wait("capture reopened", lambda: any("GARP/RARP capture started" in l for l in w.lines()))
    events = mon.stop()
    check(not events, "restart while Target changed the route: %s" % events)
    subprocess.run(["ip", "netns", "exec", WL_NS, "arping", "-U", "-c1", "-I", "eth0", DST],
                   check=True, stdout=subprocess.DEVNULL)
    h.wait("elevated after the GARP", lambda: metrics() == [512])

    # 2. Live.
    mon = RouteMonitor(h)
    kill(w)
    slow_lm_list()
    w = start()
    time.sleep(0.5)  # the first plan is applied
    events = mon.stop()
    check(not events, "restart while Live changed the route: %s" % events)
    check(metrics() == [512], "route after the restart while Live: %s" % metrics())
    check(not any("state transition" in l for l in w.lines()),
          "a transition after the restart while Live")
    _, text = w.http("/migrations")
    check('"state": "Live"' in text and "restoredAtMs" in text, "/migrations: %s" % text)


teardown_netns()
setup_netns()
h = kapi.Harness("restart-netns", netns=NODE_NS, deadline=90, hooks=[teardown_netns])
h.run(body)
