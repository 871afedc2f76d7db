#!/usr/bin/python3
"""hack/test-apiserver.py follows the Kubernetes API conventions the
watcher's client relies on (and that the other kubeapi tests do not reach
through the watcher): YAML objects on the control port, uid and
creationTimestamp kept across updates, label and field selectors, paged
lists whose continue token expires with a compaction, watches from RV 0
(current objects first), an object leaving a field selector seen as DELETED,
namespaced paths, a compacted RV refused by status or by ERROR event, and
bad input answered with the reason."""
import json
import os
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kapi  # noqa: E402
from kapi import check  # noqa: E402

PODS_YAML = b"""
apiVersion: v1
kind: Pod
metadata: {namespace: a, name: p1, labels: {app: web, tier: front}}
spec: {nodeName: n1}
---
apiVersion: v1
kind: Pod
metadata: {namespace: a, name: p2, labels: {app: web}}
spec: {nodeName: n2}
---
apiVersion: v1
kind: Pod
metadata: {namespace: b, name: p3, labels: {app: db}}
spec: {nodeName: n1}
"""


def body(h):
    ctx = ssl.create_default_context(cafile=os.path.join(h.dir, "tls", "ca.crt"))
    with open(h.token_file) as f:
        token = f.read().strip()

    def get(path, **q):
        url = h.api + path + ("?" + urllib.parse.urlencode(q) if q else "")
        req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def lst(path, **q):
        code, text = get(path, **q)
        check(code == 200, "%s %s: %d %s" % (path, q, code, text))
        return json.loads(text)

    def names(doc):
        return [i["metadata"]["name"] for i in doc["items"]]

    def watch(path, **q):
        code, text = get(path, watch="1", timeoutSeconds="1", **q)
        check(code == 200, "watch %s: %d %s" % (path, code, text))
        return [json.loads(l) for l in text.splitlines() if l.strip()]

    created = h.post("/objects", PODS_YAML)
    check([o["metadata"]["name"] for o in created] == ["p1", "p2", "p3"], "YAML documents")
    rvs = [int(o["metadata"]["resourceVersion"]) for o in created]
    check(rvs == sorted(rvs) and len(set(rvs)) == 3, "resourceVersions not increasing: %s" % rvs)
    uid = created[0]["metadata"]["uid"]
    ts = created[0]["metadata"]["creationTimestamp"]

    doc = lst("/api/v1/pods")
    check(doc["kind"] == "PodList" and doc["apiVersion"] == "v1", "list kind")
    check(int(doc["metadata"]["resourceVersion"]) == rvs[-1], "list resourceVersion")
    check(all("kind" not in i and "apiVersion" not in i for i in doc["items"]),
          "list items carry kind/apiVersion")
    check(names(lst("/api/v1/pods", labelSelector="app=web")) == ["p1", "p2"], "labelSelector")
    check(names(lst("/api/v1/pods", labelSelector="app=web,tier")) == ["p1"], "label exists")
    check(names(lst("/api/v1/pods", labelSelector="app!=web")) == ["p3"], "label !=")
    check(names(lst("/api/v1/pods", fieldSelector="spec.nodeName=n1")) == ["p1", "p3"],
          "fieldSelector spec.nodeName")
    check(names(lst("/api/v1/pods", fieldSelector="metadata.name=p2")) == ["p2"],
          "fieldSelector metadata.name")
    check(names(lst("/api/v1/namespaces/a/pods")) == ["p1", "p2"], "namespaced list")
    code, text = get("/api/v1/namespaces/b/pods/p3")
    check(code == 200 and json.loads(text)["metadata"]["name"] == "p3", "GET one object")
    code, text = get("/api/v1/pods", fieldSelector="status.phase=Running")
    check(code == 400 and "status.phase" in text, "unsupported field selector: %s" % text)

    # Paging: two pages, the second from the first's snapshot even after a change.
    p1 = lst("/api/v1/pods", limit="2")
    check(names(p1) == ["p1", "p2"] and p1["metadata"].get("continue") and
          p1["metadata"]["remainingItemCount"] == 1, "first page: %s" % p1["metadata"])
    h.post("/objects", json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "namespace": "c", "name": "p4"}, "spec": {"nodeName": "n2"}}).encode())
    p2 = lst("/api/v1/pods", limit="2", **{"continue": p1["metadata"]["continue"]})
    check(names(p2) == ["p3"] and "continue" not in p2["metadata"] and
          p2["metadata"]["resourceVersion"] == p1["metadata"]["resourceVersion"],
          "second page is not the first one's snapshot: %s" % p2)

    # Watch from RV 0: the current objects as ADDED, then a bookmark-free end.
    evs = watch("/api/v1/pods", resourceVersion="0", fieldSelector="spec.nodeName=n1")
    check([(e["type"], e["object"]["metadata"]["name"]) for e in evs] ==
          [("ADDED", "p1"), ("ADDED", "p3")], "watch from 0: %s" % evs)
    check(evs[0]["object"]["kind"] == "Pod", "watch events carry kind")

    # An update keeps uid and creationTimestamp; moving off n1 is DELETED for n1's watch.
    rv0 = lst("/api/v1/pods")["metadata"]["resourceVersion"]
    moved = h.post("/objects", json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "namespace": "a", "name": "p1", "labels": {"app": "web"}},
        "spec": {"nodeName": "n2"}}).encode())[0]
    check(moved["metadata"]["uid"] == uid and moved["metadata"]["creationTimestamp"] == ts,
          "update changed uid or creationTimestamp")
    h.delete("Pod", "p3", "b")
    evs = watch("/api/v1/pods", resourceVersion=rv0, fieldSelector="spec.nodeName=n1",
                allowWatchBookmarks="true")
    kinds = [(e["type"], e["object"]["metadata"].get("name")) for e in evs]
    check(kinds[:2] == [("DELETED", "p1"), ("DELETED", "p3")], "selector watch: %s" % kinds)
    check(all(e["type"] == "BOOKMARK" for e in evs[2:]), "after the events: bookmarks only")
    evs = watch("/api/v1/pods", resourceVersion=rv0)
    check([(e["type"], e["object"]["metadata"]["name"]) for e in evs[:2]] ==
          [("MODIFIED", "p1"), ("DELETED", "p3")], "unfiltered watch: %s" % evs)

    # Compaction: the continue token and the old RV are gone.
    h.post("/compact", {})
    code, text = get("/api/v1/pods", limit="2", **{"continue": p1["metadata"]["continue"]})
    check(code == 410 and json.loads(text)["reason"] == "Expired", "continue after compaction")
    code, text = get("/api/v1/pods", watch="1", resourceVersion=rv0)
    check(code == 410 and json.loads(text)["code"] == 410, "watch from a compacted RV: %d" % code)
    h.post("/compact", {"mode": "event"})
    evs = watch("/api/v1/pods", resourceVersion=rv0)
    check(len(evs) == 1 and evs[0]["type"] == "ERROR" and evs[0]["object"]["code"] == 410,
          "ERROR event mode: %s" % evs)

    # Not installed; bad control input named.
    h.fault(resource="bgpfilters", missing=True)
    check(get("/apis/projectcalico.org/v3/bgpfilters")[0] == 404, "missing resource")
    h.fault(resource="bgpfilters", missing=False)
    check(get("/apis/projectcalico.org/v3/bgpfilters")[0] == 200, "resource back")
    for path, bad, word in (("/objects", b'{"kind": "Widget", "metadata": {"name": "x"}}',
                             "Widget"),
                            ("/objects", b'{"kind": "Pod", "metadata": {}}', "metadata.name"),
                            ("/fault", b'{"resource": "widgets", "fail": 1}', "widgets")):
        try:
            h.post(path, bad)
            h.fail("control %s accepted %s" % (path, bad))
        except kapi.Fail as e:
            check(" 400 " in str(e) and word in str(e), "control error: %s" % e)


kapi.Harness("apiserver", ["--bookmark-interval", "0.3"], deadline=30).run(body)
