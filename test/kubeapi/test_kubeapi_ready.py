#!/usr/bin/python3
"""/readyz of `handoff-watcher run --kubeconfig` says 503 until every
non-optional initial list is done, then 200; and the lists behind it are
read the way the API server hands them out.

The server starts with the watcher's token rejected (401 until the token
file gets the accepted one), 500s for the Pod list after that, pages of at
most 2 items (continue tokens), and KubeVirt's CRD not installed (404: an
optional resource that must not hold readiness back). The kubeconfig names
the CA by path (the other tests use certificate-authority-data).
"""
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kapi  # noqa: E402
from kapi import check  # noqa: E402


def body(h):
    # The server itself: HTTPS with the CA made at start, bearer tokens.
    ctx = ssl.create_default_context(cafile=os.path.join(h.dir, "tls", "ca.crt"))
    for auth in (None, "Bearer wrong"):
        req = urllib.request.Request(h.api + "/api/v1/pods")
        if auth:
            req.add_header("Authorization", auth)
        try:
            urllib.request.urlopen(req, context=ctx, timeout=5)
            h.fail("the API answered without a valid token")
        except urllib.error.HTTPError as e:
            st = json.loads(e.read())
            check(e.code == 401 and st["kind"] == "Status" and st["code"] == 401,
                  "no token: %d %s" % (e.code, st))

    local = ["pod-%d" % i for i in range(5)]
    for i, name in enumerate(local):
        h.apply(kapi.pod(name, "node-b", "10.65.3.%d" % (i + 1)))
    h.apply(kapi.pod("remote", "node-a", "10.65.3.99"))
    good = h.get("/state")["token"]
    h.post("/token", {"token": "not-yet"})  # the file's token is refused
    h.fault(resource="pods", fail=4)

    w = h.watcher("watcher", "node-b", ["--no-dataplane"])
    h.wait("the watcher's 401s", lambda: len([
        r for r in h.requests() if r["status"] == 401 and "limit=" in r["query"]]) >= 8, 5)
    h.wait("/readyz answering", lambda: w.http("/readyz")[0] != 0, 5)
    code, text = w.http("/readyz")
    check(code == 503 and "waiting for 8 initial list(s)" in text,
          "/readyz while every list is refused: %d %r" % (code, text))
    h.post("/token", {"token": good})  # the file's token works again
    h.wait("the Pod list failing", lambda: any(
        r["status"] == 500 for r in h.requests()), 10)
    code, text = w.http("/readyz")
    check(code == 503, "/readyz while the Pod list fails: %d %r" % (code, text))
    h.wait("ready", lambda: w.http("/readyz")[0] == 200, 15)
    reqs = h.requests()
    pod_lists = [r for r in reqs if r["resource"] == "pods" and not r["watch"]]
    check(len([r for r in pod_lists if r["status"] == 500]) == 4, "500s: %s" % pod_lists)
    ok = [r for r in pod_lists if r["status"] == 200]
    check(len(ok) == 3 and all("spec.nodeName%3Dnode-b" in r["query"] for r in ok) and
          len([r for r in ok if "continue=" in r["query"]]) == 2,
          "the Pod list: 3 pages of 2 with continue tokens expected: %s" % ok)
    check(any(r["resource"] == "virtualmachineinstancemigrations" and r["status"] == 404
              for r in reqs), "KubeVirt's CRD was not asked for")
    # Ready means decided: every local pod has its route, the remote none.
    routes = kapi.final_state(w.decisions())[0]
    check(sorted(routes) == sorted(("vms/%s" % n, "10.65.3.%d/32" % (i + 1))
                                   for i, n in enumerate(local)), "routes when ready: %s" % routes)
    lines = w.lines()
    ready_at = [i for i, l in enumerate(lines) if "Initial sync done; ready" in l]
    pods_at = [i for i, l in enumerate(lines) if 'msg="Initial list done" kind=Pod ' in l]
    check(len(ready_at) == 1 and pods_at and pods_at[0] < ready_at[0],
          "ready logged once, after the Pod list")
    check(w.metric("handoff_ready") == 1, "handoff_ready gauge")
    # And it stays ready through later watch failures.
    h.fault(resource="pods", fail=2)
    time.sleep(0.5)
    check(w.http("/readyz")[0] == 200, "not ready any more after a failed request")


kapi.Harness("ready", ["--max-page", "2", "--missing", "virtualmachineinstancemigrations",
                       "--ca-path"], deadline=60).run(body)
