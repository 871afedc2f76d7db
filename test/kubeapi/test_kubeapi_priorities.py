#!/usr/bin/python3
"""`handoff-watcher run` warns, naming the objects, when FelixConfiguration's
route priorities and a BGPFilter's priority match / setPriority or the
BGPConfiguration's normal priority disagree (seed 001: they must match), once
per change, and says when they agree again.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kapi  # noqa: E402
from kapi import check  # noqa: E402

FILTER = {"apiVersion": "projectcalico.org/v3", "kind": "BGPFilter",
          "metadata": {"name": "kubevirt-lm"},
          "spec": {"exportV4": [{"action": "Accept", "peerType": "eBGP", "priority": 512,
                                 "operations": [{"addCommunity": {"value": "65000:100"}}]}]}}


def felix(normal, elevated):
    return {"apiVersion": "projectcalico.org/v3", "kind": "FelixConfiguration",
            "metadata": {"name": "default"},
            "spec": {"ipv4NormalRoutePriority": normal, "ipv4ElevatedRoutePriority": elevated}}


def warnings(w):
    return [l for l in w.lines() if "Route priorities disagree" in l]


def body(h):
    h.apply(FILTER, felix(1024, 512))
    w = h.watcher("watcher", "node-b", ["--no-dataplane"])
    h.wait("ready", lambda: w.http("/readyz")[0] == 200, 15)
    check(not warnings(w), "warnings while everything agrees: %s" % warnings(w))

    h.apply(felix(2000, 1000))
    h.wait("the warnings", lambda: len(warnings(w)) == 2, 10)
    text = "\n".join(warnings(w))
    check("BGPConfiguration" in text and "ipv4NormalRoutePriority 1024" in text and
          "2000" in text, "BGPConfiguration not named: %s" % text)
    check("BGPFilter kubevirt-lm: exportV4[0].priority 512" in text,
          "BGPFilter not named: %s" % text)
    # An unrelated change says nothing new.
    h.apply(kapi.pod("vm-1", "node-b", "10.65.3.1"))
    h.wait("the pod", lambda: any("vm-1" in l for l in w.lines()), 10)
    check(len(warnings(w)) == 2, "warnings repeated: %s" % warnings(w))
    h.apply(felix(1024, 512))
    h.wait("agree again", lambda: any("Route priorities agree again" in l
                                      for l in w.lines()), 10)


kapi.Harness("priorities", deadline=60).run(body)
