#!/usr/bin/python3
"""test-apiserver.py - a small Kubernetes API server for handoff's integration tests.

It serves list and watch for the resources handoff-watcher follows, the way
kube-apiserver does, and lets a test change objects and inject faults.

API (HTTPS on 127.0.0.1, bearer-token auth; --plain-http for debugging):
  GET /api/v1/{pods,nodes,secrets}, /apis/projectcalico.org/v3/{felixconfigurations,
      bgpconfigurations,bgppeers,bgpfilters,livemigrations},
      /apis/kubevirt.io/v1/virtualmachineinstancemigrations
      (also /.../namespaces/NS/<plural>[/NAME] for namespaced kinds)
  - one global, monotonically increasing resourceVersion (a decimal string);
    every object carries metadata.resourceVersion, uid, creationTimestamp.
  - LIST: {kind: <Kind>List, apiVersion, metadata: {resourceVersion,
    continue?, remainingItemCount?}, items: [...]}; items carry no
    kind/apiVersion, as from the real server. `limit` pages the list (and
    --max-page caps every page, to make clients use `continue`); a continue
    token reads the snapshot of the first page; it expires (410) when that
    snapshot is compacted.
  - fieldSelector: metadata.name=X, metadata.namespace=X, and for pods
    spec.nodeName=X (also `!=`); labelSelector: k=v, k!=v, k (comma = and).
  - WATCH (?watch=1&resourceVersion=RV&allowWatchBookmarks=true&timeoutSeconds=N):
    HTTP/1.1 chunked, one JSON event per line {type, object}: every change
    after RV (an object that starts or stops matching the selectors is
    ADDED or DELETED), a BOOKMARK ({kind, apiVersion, metadata:
    {resourceVersion}}) every --bookmark-interval seconds, and a clean end
    after timeoutSeconds. RV "0" or none: the current objects as ADDED first.
    An RV older than the last compaction: HTTP 410 Gone with a Status, or
    (--gone-mode event, or per compaction) HTTP 200 and an ERROR event
    carrying that Status.
  - no token or a wrong one: 401 with a Status.
  - writes, as kube-apiserver does them (JSON bodies):
    POST <collection>        create; 409 AlreadyExists when the name is taken.
    PUT  <collection>/NAME   replace; metadata.resourceVersion, when given, is
                             a precondition: 409 Conflict when it is not the
                             stored one; 404 when the object does not exist.
    DELETE <collection>/NAME 200 with the object; a DeleteOptions body's
                             preconditions.resourceVersion/uid: 409 Conflict
                             when they do not match; 404 when absent.

Control (plain HTTP on 127.0.0.1, no auth; JSON bodies, answers JSON):
  POST /objects        body: YAML (several documents) or JSON object/list:
                       create or replace each object (by kind/namespace/name);
                       answers the stored objects.
  POST /delete         body: {kind, namespace?, name} or a list of them.
  POST /compact        {"mode": "http"|"event"}: forget all history up to now;
                       stalled watch streams end (mode http) or get an ERROR
                       410 event (mode event), and stalls still pending are
                       dropped; mode also becomes the way later
                       watches from a compacted RV are refused.
  POST /fault          one or more of, each optionally with "resource": plural
                       (e.g. "pods") to apply only to it:
                       {"drop": N}      the next N watch events are cut in the
                                        middle of their line and the TCP
                                        connection is closed;
                       {"stall": N}     streams open now (or, when none is,
                                        the next one) and the next N new
                                        ones go silent (no events, no
                                        bookmarks, no end) until the client
                                        gives up or a compaction;
                       {"fail": N}      the next N API requests answer 500;
                       {"malformed": N} the next N watch events are preceded
                                        by a line that is not JSON;
                       {"latency": MS}  every API request but watches waits MS
                                        milliseconds before it is served (0: off);
                       {"missing": true|false} the resource answers 404
                                        (CRD not installed);
                       {"forbidden": true|false} the resource answers 403
                                        (RBAC withdrawn);
                       {"expire_token": true} the token in use stops working
                                        (401) and a new one is made; the answer
                                        holds it ("token"); "write": true also
                                        writes it to --token-file.
  POST /inject         {"resource": plural, "type": "MODIFIED", "object": {...}}:
                       the object goes out on that resource's watch streams as
                       is (e.g. of another kind: a proxy's or server's bug),
                       without being stored or listed.
  POST /token          {"token": T}: accept T (only) from now on.
  GET  /requests       the API requests served so far: [{method, resource,
                       watch, query, status}], ?since=N for those after the Nth.
  GET  /state          {resourceVersion, compactedRV, token, gone_mode,
                       open_watches: {plural: n}, objects: {plural: [...]}}.

Start-up: --tls-dir DIR gets a CA and a server certificate for 127.0.0.1 and
localhost made with the openssl CLI; --kubeconfig-out PATH writes a
kubeconfig for the server (certificate-authority-data, or the CA file with
--ca-path, and tokenFile); when both ports are listening --ready-file gets
{"api_port", "control_port", "server"} (ports 0 = any free port).

Stdlib only (python3-yaml for YAML bodies).
"""

import argparse
import base64
import copy
import datetime
import json
import os
import secrets
import select
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    import yaml
except ImportError:  # JSON bodies still work
    yaml = None

# kind -> (group/version path prefix, plural, namespaced, apiVersion)
KINDS = {
    "Pod": ("/api/v1", "pods", True, "v1"),
    "Node": ("/api/v1", "nodes", False, "v1"),
    "Secret": ("/api/v1", "secrets", True, "v1"),
    "FelixConfiguration": ("/apis/projectcalico.org/v3", "felixconfigurations", False,
                           "projectcalico.org/v3"),
    "BGPConfiguration": ("/apis/projectcalico.org/v3", "bgpconfigurations", False,
                         "projectcalico.org/v3"),
    "BGPPeer": ("/apis/projectcalico.org/v3", "bgppeers", False, "projectcalico.org/v3"),
    "BGPFilter": ("/apis/projectcalico.org/v3", "bgpfilters", False, "projectcalico.org/v3"),
    "LiveMigration": ("/apis/projectcalico.org/v3", "livemigrations", True,
                      "projectcalico.org/v3"),
    "VirtualMachineInstanceMigration": ("/apis/kubevirt.io/v1",
                                        "virtualmachineinstancemigrations", True,
                                        "kubevirt.io/v1"),
    "VirtualMachineInstance": ("/apis/kubevirt.io/v1", "virtualmachineinstances", True,
                               "kubevirt.io/v1"),
    "VMAddress": ("/apis/handoff.dev/v1", "vmaddresses", False, "handoff.dev/v1"),
    "VMAddressBlock": ("/apis/handoff.dev/v1", "vmaddressblocks", False, "handoff.dev/v1"),
}
PLURALS = {v[1]: k for k, v in KINDS.items()}
PREFIXES = sorted({v[0] for v in KINDS.values()}, key=len, reverse=True)


def status_obj(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def obj_key(obj):
    m = obj.get("metadata") or {}
    return (m.get("namespace") or "", m.get("name") or "")


class Selector:
    """fieldSelector / labelSelector terms (equality-based only)."""

    def __init__(self, fields, labels):
        self.terms = []
        for text, is_label in ((fields, False), (labels, True)):
            for term in filter(None, (text or "").split(",")):
                if "!=" in term:
                    k, v = term.split("!=", 1)
                    op = "!="
                elif "==" in term:
                    k, v = term.split("==", 1)
                    op = "="
                elif "=" in term:
                    k, v = term.split("=", 1)
                    op = "="
                else:
                    if not is_label:
                        raise ValueError("field selector term without '=': %r" % term)
                    k, v, op = term, None, "exists"
                if not is_label and k not in ("metadata.name", "metadata.namespace",
                                              "spec.nodeName"):
                    raise ValueError('field label not supported: "%s"' % k)
                self.terms.append((is_label, k.strip(), op, v))

    def matches(self, obj):
        if obj is None:
            return False
        for is_label, k, op, v in self.terms:
            if is_label:
                labels = (obj.get("metadata") or {}).get("labels") or {}
                have = labels.get(k)
                if op == "exists":
                    ok = k in labels
                else:
                    ok = (have == v) if op == "=" else (have != v)
            else:
                a, b = k.split(".", 1)
                have = (obj.get(a) or {}).get(b) or ""
                ok = (have == v) if op == "=" else (have != v)
            if not ok:
                return False
        return True


class Store:
    """Objects, the global resourceVersion, the event history and the faults.
    One lock; watch streams wait on its condition."""

    def __init__(self, args):
        self.args = args
        self.cond = threading.Condition()
        self.rv = 1
        self.objects = {}  # plural -> {(ns, name): obj}
        self.history = []  # (rv, plural, type, old, new)
        self.compacted = 0  # watches from an RV below this are too old
        self.gone_mode = args.gone_mode
        self.compactions = 0  # streams notice a compaction by this changing
        self.snapshots = {}  # continue token id -> (rv, plural, [objects])
        self.faults = {"drop": {}, "stall": {}, "fail": {}, "malformed": {}}
        self.missing = set(args.missing or [])
        self.forbidden = set()
        self.stall_epoch = {}  # plural -> counter; open streams stall when it moves
        self.open_watches = {}  # plural -> watch streams being served
        self.token = None
        self.requests = []
        self.latency = 0.0  # seconds before each non-watch request

    # --- faults: counters per resource ("" = any) ---

    def take(self, fault, plural):
        """Consume one unit of `fault` for `plural`; True when it applies."""
        d = self.faults[fault]
        for k in (plural, ""):
            if d.get(k, 0) > 0:
                d[k] -= 1
                return True
        return False

    # --- objects ---

    def apply(self, obj):
        kind = obj.get("kind")
        if kind not in KINDS:
            raise ValueError('kind "%s" is not served (known: %s)' % (kind, ", ".join(KINDS)))
        _, plural, namespaced, api_version = KINDS[kind]
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name"):
            raise ValueError("%s: metadata.name is required" % kind)
        if namespaced:
            meta.setdefault("namespace", "default")
        else:
            meta.pop("namespace", None)
        obj["apiVersion"] = obj.get("apiVersion") or api_version
        with self.cond:
            objs = self.objects.setdefault(plural, {})
            old = objs.get(obj_key(obj))
            if old is not None:
                meta["uid"] = old["metadata"]["uid"]
                meta["creationTimestamp"] = old["metadata"]["creationTimestamp"]
            else:
                meta.setdefault("uid", str(uuid.uuid4()))
                meta["creationTimestamp"] = datetime.datetime.now(
                    datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            self.rv += 1
            meta["resourceVersion"] = str(self.rv)
            objs[obj_key(obj)] = obj
            self.history.append((self.rv, plural, "MODIFIED" if old else "ADDED", old, obj))
            self.cond.notify_all()
            return copy.deepcopy(obj)

    def delete(self, ref):
        kind = ref.get("kind")
        if kind not in KINDS:
            raise ValueError('kind "%s" is not served' % kind)
        _, plural, namespaced, _ = KINDS[kind]
        ns = (ref.get("namespace") or (ref.get("metadata") or {}).get("namespace") or
              ("default" if namespaced else ""))
        name = ref.get("name") or (ref.get("metadata") or {}).get("name")
        with self.cond:
            old = self.objects.get(plural, {}).pop((ns if namespaced else "", name), None)
            if old is None:
                raise KeyError('%s "%s/%s" not found' % (kind, ns, name))
            self.rv += 1
            gone = copy.deepcopy(old)
            gone["metadata"]["resourceVersion"] = str(self.rv)
            self.history.append((self.rv, plural, "DELETED", old, gone))
            self.cond.notify_all()
            return gone

    def inject(self, body):
        plural, obj = body.get("resource"), copy.deepcopy(body.get("object"))
        if plural not in PLURALS or not isinstance(obj, dict):
            raise ValueError("inject: resource (a plural) and object are required")
        with self.cond:
            self.rv += 1
            obj.setdefault("metadata", {})["resourceVersion"] = str(self.rv)
            self.history.append((self.rv, plural, body.get("type") or "MODIFIED", obj, obj))
            self.cond.notify_all()
            return obj

    def write(self, method, plural, ns, name, body):
        """An API write: (status code, object or Status)."""
        kind = PLURALS[plural]
        namespaced = KINDS[kind][2]
        with self.cond:
            objs = self.objects.get(plural, {})
            if method == "DELETE":
                old = objs.get((ns, name))
                if old is None:
                    return 404, status_obj(404, "NotFound", '%s "%s" not found' % (plural, name))
                pre = (body or {}).get("preconditions") or {}
                for f in ("resourceVersion", "uid"):
                    if pre.get(f) and pre[f] != old["metadata"][f]:
                        return 409, status_obj(409, "Conflict", "Precondition failed: %s" % f)
                return 200, self.delete({"kind": kind, "namespace": ns, "name": name})
            if not isinstance(body, dict):
                return 400, status_obj(400, "BadRequest", "the body must be a JSON object")
            meta = body.get("metadata") or {}
            if body.get("kind") not in (None, kind):
                return 400, status_obj(400, "BadRequest", "kind must be %s" % kind)
            bname = meta.get("name")
            if method == "PUT" and bname not in (None, name):
                return 400, status_obj(400, "BadRequest", "metadata.name does not match")
            name = name or bname
            if not name:
                return 422, status_obj(422, "Invalid", "metadata.name: Required value")
            if namespaced and meta.get("namespace") not in (None, ns):
                return 400, status_obj(400, "BadRequest", "metadata.namespace does not match")
            old = objs.get((ns, name))
            if method == "POST" and old is not None:
                return 409, status_obj(409, "AlreadyExists",
                                       '%s "%s" already exists' % (plural, name))
            if method == "PUT":
                if old is None:
                    return 404, status_obj(404, "NotFound", '%s "%s" not found' % (plural, name))
                rv = meta.get("resourceVersion")
                if rv and rv != old["metadata"]["resourceVersion"]:
                    return 409, status_obj(
                        409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object '
                        "has been modified; please apply your changes to the latest version "
                        "and try again" % (plural, name))
            obj = copy.deepcopy(body)
            obj["kind"] = kind
            m = obj.setdefault("metadata", {})
            m["name"] = name
            if namespaced:
                m["namespace"] = ns or "default"
            return 201 if method == "POST" else 200, self.apply(obj)

    def compact(self, mode):
        with self.cond:
            self.compacted = self.rv
            self.history = []
            self.snapshots = {k: v for k, v in self.snapshots.items() if v[0] >= self.rv}
            if mode:
                self.gone_mode = mode
            self.faults["stall"] = {}  # a stall lasts until a compaction
            self.compactions += 1
            self.cond.notify_all()
            return self.rv


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "test-apiserver/1"

    def log_message(self, fmt, *a):
        if self.server.store.args.verbose:
            sys.stderr.write("test-apiserver: %s %s\n" % (self.address_string(), fmt % a))

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle holds
        # the body until the client's delayed ACK (tens of ms per request).
        try:
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def send_json(self, code, body, close=False):
        data = (json.dumps(body) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""


# ---------------------------------------------------------------- the API


class ApiHandler(Handler):

    def record(self, resource, watch, query, status):
        with self.server.store.cond:
            self.server.store.requests.append({"method": self.command, "resource": resource,
                                               "watch": watch, "query": query,
                                               "status": status,
                                               "path": urllib.parse.urlsplit(self.path).path})

    def do_GET(self):
        st = self.server.store
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        route = self.route(url.path)
        resource = route[0] if route else None
        watch = q.get("watch") in ("1", "true")

        def refuse(code, reason, message):
            self.record(resource, watch, url.query, code)
            self.send_json(code, status_obj(code, reason, message))

        auth = self.headers.get("Authorization") or ""
        with st.cond:
            token_ok = st.token is not None and auth == "Bearer " + st.token
        if not token_ok:
            return refuse(401, "Unauthorized", "Unauthorized")
        if route is None:
            return refuse(404, "NotFound", "the server could not find the requested resource")
        plural, ns, name = route
        with st.cond:
            missing = plural in st.missing
            forbidden = plural in st.forbidden
            fail = not missing and not forbidden and st.take("fail", plural)
        if missing:
            return refuse(404, "NotFound", "the server could not find the requested resource")
        if forbidden:
            return refuse(403, "Forbidden", '%s is forbidden: User "system:serviceaccount:'
                          'handoff:handoff" cannot list resource "%s"' % (plural, plural))
        if fail:
            return refuse(500, "InternalError", "Internal error occurred: injected fault")
        try:
            sel = Selector(q.get("fieldSelector"), q.get("labelSelector"))
        except ValueError as e:
            return refuse(400, "BadRequest", str(e))
        if ns:
            sel.terms.append((False, "metadata.namespace", "=", ns))
        if name:
            if st.latency:
                time.sleep(st.latency)
            with st.cond:
                obj = st.objects.get(plural, {}).get((ns, name))
            if obj is None:
                return refuse(404, "NotFound", '%s "%s" not found' % (plural, name))
            self.record(resource, False, url.query, 200)
            return self.send_json(200, obj)
        if watch:
            return self.watch(plural, sel, q, url.query)
        if st.latency:
            time.sleep(st.latency)
        return self.list(plural, sel, q, url.query)

    def write_verb(self):
        st = self.server.store
        url = urllib.parse.urlsplit(self.path)
        route = self.route(url.path)
        raw = self.body()
        auth = self.headers.get("Authorization") or ""
        with st.cond:
            token_ok = st.token is not None and auth == "Bearer " + st.token
        if not token_ok:
            code, out = 401, status_obj(401, "Unauthorized", "Unauthorized")
        elif route is None or (self.command == "POST") == bool(route[2]):
            code, out = 404, status_obj(404, "NotFound",
                                        "the server could not find the requested resource")
        else:
            plural, ns, name = route
            with st.cond:
                fail = st.take("fail", plural)
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = "invalid"
            if fail:
                code, out = 500, status_obj(500, "InternalError",
                                            "Internal error occurred: injected fault")
            elif body == "invalid":
                code, out = 400, status_obj(400, "BadRequest", "the body is not JSON")
            else:
                if st.latency:
                    time.sleep(st.latency)
                code, out = st.write(self.command, plural, ns, name, body)
        self.record(route[0] if route else None, False, url.query, code)
        self.send_json(code, out)

    do_POST = write_verb
    do_PUT = write_verb
    do_DELETE = write_verb

    def route(self, path):
        for prefix in PREFIXES:
            if not path.startswith(prefix + "/"):
                continue
            parts = path[len(prefix) + 1:].split("/")
            ns = ""
            if len(parts) >= 3 and parts[0] == "namespaces":
                ns, parts = parts[1], parts[2:]
            if not parts or parts[0] not in PLURALS or len(parts) > 2:
                return None
            kind = PLURALS[parts[0]]
            if KINDS[kind][0] != prefix or (ns and not KINDS[kind][2]):
                return None
            return (parts[0], ns, parts[1] if len(parts) == 2 else "")
        return None

    def list(self, plural, sel, q, query):
        st = self.server.store
        kind = PLURALS[plural]
        try:
            limit = int(q.get("limit") or 0)
        except ValueError:
            limit = 0
        if st.args.max_page and (not limit or limit > st.args.max_page):
            limit = st.args.max_page
        with st.cond:
            cont = q.get("continue")
            if cont:
                try:
                    tok = json.loads(base64.urlsafe_b64decode(cont.encode()))
                    snap = st.snapshots.get(tok["id"])
                    start = int(tok["start"])
                except (ValueError, KeyError, TypeError):
                    self.record(plural, False, query, 400)
                    return self.send_json(400, status_obj(400, "BadRequest",
                                                          "invalid continue token"))
                if snap is None:
                    self.record(plural, False, query, 410)
                    return self.send_json(410, status_obj(
                        410, "Expired", "The provided continue parameter is too old to "
                        "display a consistent list result. You can start a new list "
                        "without the continue parameter."))
                rv, _, items = snap
                tid = tok["id"]
            else:
                rv = st.rv
                items = [copy.deepcopy(o) for _, o in
                         sorted(st.objects.get(plural, {}).items()) if sel.matches(o)]
                start = 0
                tid = None
                if limit and len(items) > limit:
                    tid = secrets.token_hex(8)
                    st.snapshots[tid] = (rv, plural, items)
        page = items[start:start + limit] if limit else items[start:]
        meta = {"resourceVersion": str(rv)}
        if limit and start + limit < len(items):
            meta["continue"] = base64.urlsafe_b64encode(json.dumps(
                {"id": tid, "start": start + limit}).encode()).decode()
            meta["remainingItemCount"] = len(items) - start - limit
        for o in page:
            o.pop("kind", None)
            o.pop("apiVersion", None)
        self.record(plural, False, query, 200)
        self.send_json(200, {"kind": kind + "List", "apiVersion": KINDS[kind][3],
                             "metadata": meta, "items": page})

    # --- watch ---

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def event_line(self, etype, obj):
        return (json.dumps({"type": etype, "object": obj}) + "\n").encode()

    def watch(self, plural, sel, q, query):
        st = self.server.store
        kind = PLURALS[plural]
        api_version = KINDS[kind][3]
        try:
            timeout = float(q.get("timeoutSeconds") or st.args.default_watch_timeout)
        except ValueError:
            timeout = st.args.default_watch_timeout
        bookmarks = q.get("allowWatchBookmarks") in ("1", "true")
        rv_text = q.get("resourceVersion") or "0"
        try:
            from_rv = int(rv_text)
        except ValueError:
            self.record(plural, True, query, 400)
            return self.send_json(400, status_obj(400, "BadRequest",
                                                  "invalid resourceVersion %r" % rv_text))
        with st.cond:
            too_old = from_rv != 0 and from_rv < st.compacted
            mode = st.gone_mode
            if from_rv == 0:
                initial = [copy.deepcopy(o) for _, o in
                           sorted(st.objects.get(plural, {}).items()) if sel.matches(o)]
                from_rv = st.rv
            else:
                initial = []
            stalled = st.take("stall", plural)
            compactions = st.compactions
            stall_epoch = st.stall_epoch.get(plural, 0) + st.stall_epoch.get("", 0)
        gone = status_obj(410, "Expired", "too old resource version: %s (%d)" %
                          (rv_text, st.compacted))
        if too_old and mode == "http":
            self.record(plural, True, query, 410)
            return self.send_json(410, gone)
        self.record(plural, True, query, 200)
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        with st.cond:
            st.open_watches[plural] = st.open_watches.get(plural, 0) + 1
        try:
            if too_old:
                self.chunk(self.event_line("ERROR", gone))
            else:
                self.stream(plural, sel, kind, api_version, from_rv, initial, timeout,
                            bookmarks, stalled, compactions, stall_epoch)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        finally:
            with st.cond:
                st.open_watches[plural] -= 1

    def stream(self, plural, sel, kind, api_version, cursor, initial, timeout, bookmarks,
               stalled, compactions, stall_epoch):
        st = self.server.store
        deadline = time.monotonic() + timeout
        interval = st.args.bookmark_interval
        next_bookmark = time.monotonic() + interval
        for o in initial:
            self.chunk(self.event_line("ADDED", o))
        while True:
            with st.cond:
                now = time.monotonic()
                if not stalled and now >= deadline:
                    return
                wait = 0.5 if stalled else min(deadline, next_bookmark) - now
                # Sleep only when nothing happened since this stream's last
                # look (cursor is the global RV it last saw).
                if wait > 0 and (stalled or st.rv <= cursor) and \
                        st.compactions == compactions:
                    st.cond.wait(wait)
                if st.compactions != compactions:
                    compactions = st.compactions
                    if stalled or cursor < st.compacted:
                        if st.gone_mode == "event":
                            self.chunk(self.event_line("ERROR", status_obj(
                                410, "Expired", "too old resource version: %d (%d)" %
                                (cursor, st.compacted))))
                        return
                epoch = st.stall_epoch.get(plural, 0) + st.stall_epoch.get("", 0)
                if epoch != stall_epoch:
                    stall_epoch = epoch
                    stalled = True
                if stalled:
                    # Silent: the client must notice by itself and hang up.
                    if self.client_gone():
                        return
                    continue
                out = []
                for rv, p, etype, old, new in st.history:
                    if rv <= cursor or p != plural:
                        continue
                    was, now_in = sel.matches(old), sel.matches(new)
                    if etype == "DELETED":
                        now_in = False
                        if was:
                            out.append((rv, "DELETED", new))
                    elif was and now_in:
                        out.append((rv, etype, new))
                    elif now_in:
                        out.append((rv, "ADDED", new))
                    elif was:
                        out.append((rv, "DELETED", new))
                top = st.rv
                faults = []
                for _ in out:
                    faults.append((st.take("malformed", plural), st.take("drop", plural)))
            for (rv, etype, obj), (malformed, drop) in zip(out, faults):
                if malformed:
                    self.chunk(b'{"type":"MODIFIED","object":{"kind":"%s","metadata":\n' %
                               kind.encode())
                line = self.event_line(etype, obj)
                if drop:
                    # A chunk announced whole, then half a line, then the
                    # connection goes: the client sees a truncated stream.
                    half = len(line) // 2
                    self.wfile.write(b"%x\r\n" % len(line) + line[:half])
                    self.wfile.flush()
                    raise ConnectionResetError("injected drop")
                self.chunk(line)
                cursor = rv
            cursor = max(cursor, top)
            if bookmarks and time.monotonic() >= next_bookmark:
                self.chunk(self.event_line("BOOKMARK", {
                    "kind": kind, "apiVersion": api_version,
                    "metadata": {"resourceVersion": str(cursor)}}))
                next_bookmark = time.monotonic() + interval

    def client_gone(self):
        """A watch client sends nothing after its request: a readable
        socket means it hung up."""
        r, _, _ = select.select([self.connection], [], [], 0)
        if not r:
            return False
        try:
            self.connection.settimeout(0.01)
            return not self.connection.recv(1)
        except (ssl.SSLWantReadError, socket.timeout):
            return False
        except OSError:
            return True

    def finish(self):
        try:
            super().finish()
        finally:
            # Dropped streams: no TLS close_notify, just the TCP connection.
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


# ------------------------------------------------------------- the control


class ControlHandler(Handler):

    def do_GET(self):
        st = self.server.store
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        with st.cond:
            if url.path == "/requests":
                since = int(q.get("since") or 0)
                return self.send_json(200, st.requests[since:])
            if url.path == "/state":
                return self.send_json(200, {
                    "resourceVersion": str(st.rv), "compactedRV": str(st.compacted),
                    "token": st.token, "gone_mode": st.gone_mode,
                    "open_watches": st.open_watches,
                    "objects": {p: list(o.values()) for p, o in st.objects.items()}})
        self.send_json(404, {"error": "unknown path %s" % url.path})

    def do_POST(self):
        st = self.server.store
        path = urllib.parse.urlsplit(self.path).path
        raw = self.body()
        try:
            if path == "/objects":
                return self.send_json(200, [st.apply(o) for o in parse_objects(raw)])
            body = json.loads(raw or b"{}")
            if path == "/delete":
                refs = body if isinstance(body, list) else [body]
                return self.send_json(200, [st.delete(r) for r in refs])
            if path == "/compact":
                mode = body.get("mode")
                if mode not in (None, "http", "event"):
                    raise ValueError('compact: mode must be "http" or "event"')
                return self.send_json(200, {"compactedRV": str(st.compact(mode))})
            if path == "/token":
                with st.cond:
                    st.token = body["token"]
                    return self.send_json(200, {"token": st.token})
            if path == "/fault":
                return self.send_json(200, self.fault(body))
            if path == "/inject":
                return self.send_json(200, st.inject(body))
        except KeyError as e:
            return self.send_json(404, {"error": str(e)})
        except (ValueError, TypeError) as e:
            return self.send_json(400, {"error": str(e)})
        self.send_json(404, {"error": "unknown path %s" % path})

    def fault(self, body):
        st = self.server.store
        res = body.get("resource") or ""
        if res and res not in PLURALS:
            raise ValueError('fault: unknown resource "%s" (known: %s)' %
                             (res, ", ".join(PLURALS)))
        out = {}
        with st.cond:
            for f in ("drop", "stall", "fail", "malformed"):
                if f in body:
                    n = int(body[f])
                    if n < 0:
                        raise ValueError("fault: %s must be >= 0" % f)
                    st.faults[f][res] = n
            if "stall" in body:
                # Streams open now go silent too; when none is open (the
                # client is between two watches), the next one does.
                st.stall_epoch[res] = st.stall_epoch.get(res, 0) + 1
                n_open = (sum(st.open_watches.values()) if not res else
                          st.open_watches.get(res, 0))
                if not n_open and not st.faults["stall"][res]:
                    st.faults["stall"][res] = 1
            if "latency" in body:
                ms = float(body["latency"])
                if ms < 0:
                    raise ValueError("fault: latency must be >= 0")
                st.latency = ms / 1000.0
            if "missing" in body:
                if not res:
                    raise ValueError("fault: missing needs a resource")
                (st.missing.add if body["missing"] else st.missing.discard)(res)
            if "forbidden" in body:
                if not res:
                    raise ValueError("fault: forbidden needs a resource")
                (st.forbidden.add if body["forbidden"] else st.forbidden.discard)(res)
            if body.get("expire_token"):
                st.token = secrets.token_hex(16)
                out["token"] = st.token
                if body.get("write"):
                    write_token(st.args.token_file, st.token)
            st.cond.notify_all()
            out["faults"] = st.faults
            out["missing"] = sorted(st.missing)
        return out


def parse_objects(raw):
    text = raw.decode()
    if text.lstrip().startswith(("{", "[")):
        doc = json.loads(text)
        docs = doc if isinstance(doc, list) else [doc]
    else:
        if yaml is None:
            raise ValueError("YAML bodies need python3-yaml; send JSON")
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    for d in docs:
        if not isinstance(d, dict):
            raise ValueError("an object must be a mapping, got %s" % type(d).__name__)
    return docs


def write_token(path, token):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(token + "\n")
    os.replace(tmp, path)


# ------------------------------------------------------------- start-up


def make_tls(d):
    """A CA and a server certificate for 127.0.0.1/localhost in d."""
    os.makedirs(d, exist_ok=True)
    ca_key, ca_crt = os.path.join(d, "ca.key"), os.path.join(d, "ca.crt")
    key, csr, crt = (os.path.join(d, n) for n in ("server.key", "server.csr", "server.crt"))
    ext = os.path.join(d, "server.ext")
    if os.path.exists(crt) and os.path.exists(key) and os.path.exists(ca_crt):
        return crt, key, ca_crt

    def run(*cmd):
        subprocess.run(["openssl"] + list(cmd), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", ca_key, "-out", ca_crt, "-days", "2", "-subj",
        "/CN=test-apiserver-ca")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key, "-out", csr, "-subj", "/CN=test-apiserver")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
    run("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
        "-out", crt, "-days", "2", "-extfile", ext)
    return crt, key, ca_crt


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0, help="API port (0: any free port)")
    ap.add_argument("--control-port", type=int, default=0,
                    help="control port (plain HTTP, 127.0.0.1; 0: any free port)")
    ap.add_argument("--tls-dir", help="where the CA and server certificate are made")
    ap.add_argument("--plain-http", action="store_true",
                    help="serve the API without TLS (debugging)")
    ap.add_argument("--token-file", required=True,
                    help="the bearer token; made (random) when the file does not exist")
    ap.add_argument("--kubeconfig-out", help="write a kubeconfig for this server here")
    ap.add_argument("--ca-path", action="store_true",
                    help="kubeconfig: certificate-authority (a path) instead of -data")
    ap.add_argument("--ready-file", help="written (JSON) once both ports listen")
    ap.add_argument("--objects", action="append",
                    help="YAML/JSON file of objects to start with (repeatable)")
    ap.add_argument("--max-page", type=int, default=0,
                    help="cap on list page size, so that clients use continue tokens")
    ap.add_argument("--bookmark-interval", type=float, default=1.0,
                    help="seconds between BOOKMARK events (default 1)")
    ap.add_argument("--default-watch-timeout", type=float, default=300.0)
    ap.add_argument("--gone-mode", choices=("http", "event"), default="http",
                    help="how a watch from a compacted RV is refused (default http: 410)")
    ap.add_argument("--missing", action="append",
                    help="a resource (plural) that answers 404, e.g. "
                    "virtualmachineinstancemigrations (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if not args.plain_http and not args.tls_dir:
        ap.error("--tls-dir is required unless --plain-http")
    for m in args.missing or []:
        if m not in PLURALS:
            ap.error('--missing: unknown resource "%s"' % m)

    store = Store(args)
    if not os.path.exists(args.token_file):
        write_token(args.token_file, secrets.token_hex(16))
    with open(args.token_file) as f:
        store.token = f.read().strip()
    for path in args.objects or []:
        with open(path, "rb") as f:
            for o in parse_objects(f.read()):
                store.apply(o)

    api = Server(("127.0.0.1", args.port), ApiHandler)
    api.store = store
    ca = None
    if not args.plain_http:
        crt, key, ca = make_tls(args.tls_dir)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        ctx.set_alpn_protocols(["http/1.1"])
        # The handshake happens in the request's thread, not in accept().
        api.socket = ctx.wrap_socket(api.socket, server_side=True,
                                     do_handshake_on_connect=False)
    control = Server(("127.0.0.1", args.control_port), ControlHandler)
    control.store = store
    scheme = "http" if args.plain_http else "https"
    server_url = "%s://127.0.0.1:%d" % (scheme, api.server_address[1])

    if args.kubeconfig_out:
        cluster = {"server": server_url}
        if ca:
            if args.ca_path:
                cluster["certificate-authority"] = os.path.abspath(ca)
            else:
                with open(ca, "rb") as f:
                    cluster["certificate-authority-data"] = base64.b64encode(f.read()).decode()
        kc = {"apiVersion": "v1", "kind": "Config", "current-context": "test",
              "clusters": [{"name": "test", "cluster": cluster}],
              "users": [{"name": "test", "user": {"tokenFile": os.path.abspath(args.token_file)}}],
              "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test"}}]}
        with open(args.kubeconfig_out, "w") as f:
            json.dump(kc, f, indent=1)  # JSON is YAML
    threading.Thread(target=control.serve_forever, daemon=True).start()
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"api_port": api.server_address[1],
                       "control_port": control.server_address[1], "server": server_url}, f)
        os.replace(tmp, args.ready_file)
    try:
        api.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
