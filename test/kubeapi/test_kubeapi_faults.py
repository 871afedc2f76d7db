#!/usr/bin/python3
"""Every fault the test API server can inject is survived by
`handoff-watcher run --kubeconfig`: a LiveMigration created during the fault,
and deleted during a second one, gives its target exactly one TARGET and one
NONE role change (no event missed, none applied twice); the watch resumes
from its resourceVersion without a relist, except after a compaction (410 Gone
by HTTP status, then by ERROR event), which relists exactly once and sees the
objects deleted and changed during the gap. At the end a second watcher
started fresh reaches the same routes and roles, and /metrics counted the
relists.

Faults: a watch event cut mid-line with the connection dropped, a stalled
stream (the client gives up after timeoutSeconds and a grace), 500s, a
malformed JSON line, an expired token (401 until the token file has the new
one), and a compaction during a stall (410 Gone / ERROR 410).
"""
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kapi  # noqa: E402
from kapi import check  # noqa: E402

WATCH_TIMEOUT = 2  # seconds: a stall is noticed after 2 + 2


def tgt(n):
    return "vms/vm%d-tgt" % n


def objects_for(n, ip=None):
    """VM n: its source pod on node-a and target pod on node-b."""
    labels = {"vmi.kubevirt.io/id": "vm%d" % n}
    return [kapi.pod("vm%d-src" % n, "node-a", ip or "10.65.1.%d" % n, labels),
            kapi.pod("vm%d-tgt" % n, "node-b", ip or "10.65.1.%d" % n,
                     dict(labels, **{"kubevirt.io/migrationJobUID": "uid-%d" % n}))]


def lm(n):
    return kapi.live_migration("mig-%d" % n, "uid-%d" % n, "vm%d-src" % n, "vm%d" % n)


def roles(w, n):
    return [(d[2], d[3]) for d in w.decisions() if d[0] == "role" and d[1] == tgt(n)]


def body(h):
    h.apply(kapi.felix("1500ms"))
    for n in range(1, 16):
        h.apply(*objects_for(n))
    w = h.watcher("watcher", "node-b",
                  ["--no-dataplane", "--watch-timeout", str(WATCH_TIMEOUT)])
    w.wait_ready()
    h.wait("routes of the 15 target pods",
           lambda: len(kapi.final_state(w.decisions())[0]) == 15, 5)
    mark = [0]

    def since():
        """API requests since the previous call."""
        reqs = h.requests(mark[0])
        mark[0] += len(reqs)
        return reqs

    def lm_lists(reqs):
        return [r for r in reqs if r["resource"] == "livemigrations" and not r["watch"]]

    def wait_role(n, role):
        h.wait("%s %s" % (tgt(n), role), lambda: (role, "uid-%d" % n if role != "NONE" else "")
               in roles(w, n), 10)

    def lm_watch_open():
        h.wait("an open LiveMigration watch",
               lambda: h.get("/state")["open_watches"].get("livemigrations", 0) > 0, 5)

    def relists(kind):
        return w.metric("handoff_watch_relists_total", 'resource="%s"' % kind)

    since()

    # 1. A watch event cut in the middle of its line, connection dropped.
    for step in ("create", "delete"):
        lm_watch_open()
        h.fault(resource="livemigrations", drop=1)
        obj = (h.apply(lm(1)) if step == "create" else h.delete("LiveMigration", "mig-1", "vms"))[0]
        m0 = len(h.requests())
        wait_role(1, "TARGET" if step == "create" else "NONE")
        # The event came again on a watch resumed from before it.
        rv = int(obj["metadata"]["resourceVersion"])
        check(any(r["resource"] == "livemigrations" and r["watch"] and
                  int(urllib.parse.parse_qs(r["query"])["resourceVersion"][0]) < rv
                  for r in h.requests(m0)), "drop: no watch resumed from before the event")
    reqs = since()
    check(not lm_lists(reqs), "drop: the watch relisted instead of resuming: %s" % reqs)

    # 2. A stalled stream: silent, never ends; the client must give up.
    for step in ("create", "delete"):
        lm_watch_open()
        h.fault(resource="livemigrations", stall=0)
        t0 = time.monotonic()
        h.apply(lm(2)) if step == "create" else h.delete("LiveMigration", "mig-2", "vms")
        wait_role(2, "TARGET" if step == "create" else "NONE")
        check(time.monotonic() - t0 > 1.0, "stall: the event came through a stalled stream")
    check(not lm_lists(since()), "stall: the watch relisted instead of resuming")

    # 3. 500s: three in a row for LiveMigrations, events meanwhile.
    def lm500s(m0):
        return len([r for r in h.requests(m0)
                    if r["status"] == 500 and r["resource"] == "livemigrations"])

    for step in ("create", "delete"):
        m0 = len(h.requests())
        h.fault(resource="livemigrations", fail=3)
        h.wait("a 500", lambda: lm500s(m0) >= 1, 5)
        h.apply(lm(3)) if step == "create" else h.delete("LiveMigration", "mig-3", "vms")
        wait_role(3, "TARGET" if step == "create" else "NONE")
        h.wait("three 500s", lambda: lm500s(m0) == 3, 5)
    reqs = since()
    n500 = len([r for r in reqs if r["status"] == 500 and r["resource"] == "livemigrations"])
    check(n500 == 6, "500s: %d served, 6 expected" % n500)
    check(not lm_lists(reqs), "500s: the watch relisted instead of resuming")

    # 4. A line that is not JSON before the event.
    for step in ("create", "delete"):
        lm_watch_open()
        h.fault(resource="livemigrations", malformed=1)
        h.apply(lm(4)) if step == "create" else h.delete("LiveMigration", "mig-4", "vms")
        wait_role(4, "TARGET" if step == "create" else "NONE")
    check(len([l for l in w.lines() if "malformed line skipped" in l]) == 2,
          "malformed: two malformed lines should have been reported")
    check(not lm_lists(since()), "malformed: the watch relisted")

    # 5. The token expires; requests get 401 until the file has the new one.
    for step in ("create", "delete"):
        m0 = len(h.requests())
        new = h.fault(expire_token=True)["token"]
        h.wait("a 401 for LiveMigrations", lambda: any(
            r["status"] == 401 and r["resource"] == "livemigrations"
            for r in h.requests(m0)), 5)
        before = roles(w, 5)
        h.apply(lm(5)) if step == "create" else h.delete("LiveMigration", "mig-5", "vms")
        time.sleep(0.3)
        check(roles(w, 5) == before, "token: an event came without a valid token")
        with open(h.token_file + ".tmp", "w") as f:
            f.write(new + "\n")
        os.replace(h.token_file + ".tmp", h.token_file)
        wait_role(5, "TARGET" if step == "create" else "NONE")
    check(not lm_lists(since()), "token: the watch relisted")
    check(relists("LiveMigration") == 0 and relists("Pod") == 0,
          "relists before any compaction")

    # 6. Compaction while LiveMigration and Pod streams stall: what changed
    # in the gap (an LM deleted, one created, a pod deleted, a pod's IP
    # changed) comes from the relist. First 410 by HTTP, then by ERROR event.
    gone = {}
    for i, mode in enumerate(("http", "event")):
        a, b, p_del, p_mod = 6 + 4 * i, 7 + 4 * i, 8 + 4 * i, 9 + 4 * i
        h.apply(lm(a))
        wait_role(a, "TARGET")
        # Both streams open and past their first bookmark: the client holds
        # a 410 right after a relist, before its stream delivered, as the
        # server refusing (it backs off); that is not what is tested here.
        h.wait("LiveMigration and Pod watches open", lambda: all(
            h.get("/state")["open_watches"].get(r, 0) > 0 for r in ("livemigrations", "pods")),
            8)
        time.sleep(1.2)
        h.fault(resource="livemigrations", stall=0)
        h.fault(resource="pods", stall=0)
        time.sleep(0.2)
        h.delete("LiveMigration", "mig-%d" % a, "vms")
        h.apply(lm(b))
        h.delete("Pod", "vm%d-tgt" % p_del, "vms")
        h.apply(objects_for(p_mod, ip="10.65.2.%d" % p_mod)[1])
        time.sleep(0.3)
        h.post("/compact", {"mode": mode})
        wait_role(a, "NONE")
        wait_role(b, "TARGET")
        h.wait("pod deleted in the gap", lambda: (tgt(p_del), "10.65.1.%d/32" % p_del)
               not in kapi.final_state(w.decisions())[0], 5)
        h.wait("pod changed in the gap", lambda: (tgt(p_mod), "10.65.2.%d/32" % p_mod) in
               kapi.final_state(w.decisions())[0], 5)
        reqs = since()
        gone[mode] = [r for r in reqs if r["resource"] in ("livemigrations", "pods") and
                      r["status"] == 410]
        h.wait("relists counted", lambda: relists("LiveMigration") == i + 1 and
               relists("Pod") == i + 1, 3)
    check(gone["http"], "no 410 Gone was served")
    check(not gone["event"], "ERROR-event mode answered with an HTTP 410")
    for n, want in ((1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (6, 1), (10, 1)):
        got = roles(w, n)
        check(got == [("TARGET", "uid-%d" % n), ("NONE", "")],
              "vm%d: role changes %s, expected exactly TARGET then NONE" % (n, got))
    for n in (7, 11):  # created in the gaps: still migrating
        check(roles(w, n) == [("TARGET", "uid-%d" % n)], "vm%d: %s" % (n, roles(w, n)))

    # 7. The final state equals a fresh list, once the convergence time
    # (1.5 s) of the last TimeWait has passed.
    time.sleep(1.6)
    fresh = h.watcher("fresh", "node-b", ["--no-dataplane"])
    fresh.wait_ready()
    time.sleep(0.5)
    mine, theirs = kapi.final_state(w.decisions()), kapi.final_state(fresh.decisions())
    check(mine == theirs, "final state differs from a fresh list:\n  watcher: %s\n  fresh:   %s"
          % (mine, theirs))
    check(w.metric("handoff_endpoints") == fresh.metric("handoff_endpoints"),
          "endpoint counts differ")
    check(w.metric("handoff_watch_restarts_total", 'resource="LiveMigration"') >= 8,
          "LiveMigration watch restarts not counted")


kapi.Harness("faults", deadline=110).run(body)
