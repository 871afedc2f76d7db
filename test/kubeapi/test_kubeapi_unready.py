#!/usr/bin/python3
"""/readyz of `handoff-watcher run --kubeconfig` turns 503 when a required
watch has failed for longer than --unready-after (here 3 s; 60 s by
default), naming the resource and the server's answer, and 200 again once
the watch works: RBAC withdrawn (403) and a CRD removed (404). A KubeVirt CRD
that is not installed (optional) never makes the node unready.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kapi  # noqa: E402
from kapi import check  # noqa: E402


def body(h):
    h.apply(kapi.pod("vm-1", "node-b", "10.65.3.1"))
    w = h.watcher("watcher", "node-b", ["--no-dataplane", "--watch-timeout", "1",
                                        "--unready-after", "3"])
    h.wait("ready", lambda: w.http("/readyz")[0] == 200, 15)

    # A failure shorter than the stated time leaves the node ready.
    h.fault(resource="bgppeers", forbidden=True)
    h.wait("a 403", lambda: any(r["status"] == 403 for r in h.requests()), 10)
    code, text = w.http("/readyz")
    check(code == 200, "/readyz right after the first 403: %d %r" % (code, text))
    h.wait("unready after 3 s of 403s", lambda: w.http("/readyz")[0] == 503, 15)
    code, text = w.http("/readyz")
    check("BGPPeer: failing for" in text and "HTTP 403" in text and "forbidden" in text,
          "/readyz names the watch and the 403: %r" % text)
    check(w.http("/healthz")[0] == 200, "/healthz stays 200: the loop turns")
    h.fault(resource="bgppeers", forbidden=False)
    h.wait("ready again", lambda: w.http("/readyz")[0] == 200, 20)

    # The LiveMigration CRD removed: a required resource, 404.
    h.fault(resource="livemigrations", missing=True)
    h.wait("unready after 3 s of 404s", lambda: w.http("/readyz")[0] == 503, 20)
    code, text = w.http("/readyz")
    check("LiveMigration: failing for" in text and "HTTP 404" in text,
          "/readyz names the watch and the 404: %r" % text)
    h.fault(resource="livemigrations", missing=False)
    h.wait("ready again", lambda: w.http("/readyz")[0] == 200, 20)
    # KubeVirt missing all along did not count.
    check(any(r["resource"] == "virtualmachineinstancemigrations" and r["status"] == 404
              for r in h.requests()), "KubeVirt's CRD was not asked for")
    time.sleep(0.2)


kapi.Harness("unready", ["--missing", "virtualmachineinstancemigrations"],
             deadline=90).run(body)
