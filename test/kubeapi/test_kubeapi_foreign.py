#!/usr/bin/python3
"""An object of another kind on a watch stream is rejected and named; the
engine and BIRD never see it. Before, a BGPPeer sent on the LiveMigration
stream replaced the real peer in bird.cfg, and the next LiveMigration relist
deleted it for good.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kapi  # noqa: E402
from kapi import check  # noqa: E402


def body(h):
    h.apply({"apiVersion": "v1", "kind": "Node",
             "metadata": {"name": "node-b",
                          "annotations": {"projectcalico.org/IPv4Address": "10.0.0.2/24"}}},
            {"apiVersion": "projectcalico.org/v3", "kind": "BGPConfiguration",
             "metadata": {"name": "default"}, "spec": {"asNumber": 64512}},
            {"apiVersion": "projectcalico.org/v3", "kind": "BGPPeer",
             "metadata": {"name": "peer-1"},
             "spec": {"peerIP": "10.0.0.9", "asNumber": 65001}})
    bird_dir = os.path.join(h.dir, "bird")
    os.mkdir(bird_dir)
    cfg = os.path.join(bird_dir, "bird.cfg")
    w = h.watcher("watcher", "node-b", ["--no-dataplane", "--watch-timeout", "1",
                                        "--bird-dir", bird_dir,
                                        "--bird-socket", os.path.join(h.dir, "none.ctl"),
                                        "--bird6-socket", os.path.join(h.dir, "none6.ctl")])

    def bird():
        try:
            with open(cfg) as f:
                return f.read()
        except OSError:
            return ""

    h.wait("bird.cfg with the peer", lambda: "10.0.0.9" in bird(), 15)
    h.post("/inject", {"resource": "livemigrations", "type": "MODIFIED",
                       "object": {"apiVersion": "projectcalico.org/v3", "kind": "BGPPeer",
                                  "metadata": {"name": "peer-1"},
                                  "spec": {"peerIP": "10.0.0.77", "asNumber": 65002}}})
    h.wait("the rejection", lambda: any(
        "BGPPeer peer-1 rejected: not a LiveMigration" in l for l in w.lines()), 10)
    # A relist would delete the impostor, and with it the real peer, had it
    # been taken: the LiveMigration stream goes silent, the history moves on
    # and is compacted, and its next watch is refused with 410.
    h.fault(resource="livemigrations", stall=1)
    h.apply(kapi.pod("vm-1", "node-a", "10.65.3.1"))
    h.post("/compact", {"mode": "http"})
    h.wait("the LiveMigration relist", lambda: (
        w.metric("handoff_watch_relists_total", 'resource="LiveMigration"') or 0) >= 1, 15)
    h.apply({"apiVersion": "projectcalico.org/v3", "kind": "BGPConfiguration",
             "metadata": {"name": "default"}, "spec": {"asNumber": 64513}})
    h.wait("bird.cfg re-rendered after the relist", lambda: "64513" in bird(), 10)
    text = bird()
    check("10.0.0.9" in text and "10.0.0.77" not in text,
          "bird.cfg lost the real peer or took the impostor:\n%s" % text)


kapi.Harness("foreign", ["--missing", "virtualmachineinstancemigrations"],
             deadline=60).run(body)
