#!/usr/bin/python3
"""`handoff-watcher status` of a daemon that follows an API server shows each
watch's health: events applied and when the last came, relists after 410
Gone, failed requests; and the endpoint in migration.

The server cuts a LiveMigration stream and fails the next two requests
(500, retried), then compacts its history while the stream stalls (410 Gone,
one relist). The status table and --json must then say: LiveMigration from
the API, one relist, the errors /metrics counts (at least the two 500s),
events and a recent last event; Pod with no relist and no error; the target
pod in state Target with migration uid-7 and no route.
"""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kapi  # noqa: E402
from kapi import check  # noqa: E402

LABELS = {"vmi.kubevirt.io/id": "vm1", "kubevirt.io/migrationJobUID": "uid-7"}


def status(w, *args):
    return subprocess.run([kapi.WATCHER, "status", "--http", "127.0.0.1:%d" % w.port] +
                          list(args), capture_output=True, text=True, timeout=10)


def body(h):
    h.apply(kapi.felix("30s"), kapi.pod("vm1-tgt", "node-1", "10.65.0.10", LABELS))
    w = h.watcher("node-1", "node-1", ["--no-dataplane"])
    w.wait_ready()
    h.apply(kapi.live_migration("mig-7", "uid-7", "vm1-src", "vm1"))
    h.wait("the target role", lambda: any(d[0] == "role" and d[2] == "TARGET"
                                          for d in w.decisions()), 10)

    def lm_status(code):
        return len([r for r in h.requests() if r["resource"] == "livemigrations" and
                    r["status"] == code])

    # A stream cut in the middle of an event, then two failed requests, retried.
    h.fault(resource="livemigrations", drop=1, fail=2)
    h.apply(kapi.live_migration("mig-9", "uid-9", "vm3-src", "vm3"))
    h.wait("two 500s", lambda: lm_status(500) == 2, 10)
    # A compaction while the stream stalls: 410 Gone, one relist.
    h.wait("an open LiveMigration watch",
           lambda: h.get("/state")["open_watches"].get("livemigrations", 0) > 0, 8)
    time.sleep(1.2)
    h.fault(resource="livemigrations", stall=0)
    time.sleep(0.2)
    h.apply(kapi.live_migration("mig-8", "uid-8", "vm2-src", "vm2"))
    time.sleep(0.3)
    h.post("/compact", {"mode": "http"})
    h.wait("one relist", lambda: w.metric("handoff_watch_relists_total",
                                          'resource="LiveMigration"') == 1, 8)

    errors = int(w.metric("handoff_watch_errors_total", 'resource="LiveMigration"'))
    check(errors >= 2, "handoff_watch_errors_total{LiveMigration} %d, 2 500s served" % errors)
    r = status(w)
    check(r.returncode == 0, "status exited %d: %s" % (r.returncode, r.stderr))
    print(r.stdout)
    rows = {l.split()[0]: l.split() for l in r.stdout.splitlines()
            if re.match(r"^  [A-Z]\w+ +api ", l)}
    # RESOURCE SOURCE EVENTS LAST EVENT(2 words) RELISTS RESTARTS ERRORS REJECTED
    lm = rows.get("LiveMigration")
    check(lm and int(lm[2]) >= 2 and lm[4] == "ago" and lm[5] == "1" and lm[7] == str(errors) and
          lm[8] == "0", "LiveMigration row: %s" % lm)
    pod = rows.get("Pod")
    check(pod and int(pod[2]) >= 1 and pod[5] == "0" and pod[7] == "0", "Pod row: %s" % pod)
    check(re.search(r"^  vms/vm1-tgt +TARGET +Target +\d+s ago +uid-7 +none +-$", r.stdout, re.M),
          "no Target row for vms/vm1-tgt")
    check("not managed by this daemon" in r.stdout, "BIRD section without --bird-dir")

    r = status(w, "--json")
    check(r.returncode == 0, "status --json exited %d" % r.returncode)
    d = json.loads(r.stdout)
    ws = {x["resource"]: x for x in d["watches"]}
    x = ws["LiveMigration"]
    check(x["source"] == "api" and x["relists"] == 1 and x["errors"] == errors and x["synced"] and
          0 < d["now_ms"] - x["last_event_ms"] < 60000, "LiveMigration watch: %s" % x)
    check("bird" not in d, "a bird section without --bird-dir")

    w.stop()
    r = status(w)
    check(r.returncode == 1 and "not running" in r.stderr, "after stop: %d %s" %
          (r.returncode, r.stderr))


h = kapi.Harness("status", deadline=60)
h.run(body)
