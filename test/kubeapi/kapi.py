"""kapi.py - shared helpers of the test/kubeapi integration tests: start
hack/test-apiserver.py and handoff-watcher run --kubeconfig against it, drive
the server's control port, read the watcher's decisions from its log, and
clean everything up (processes, temp dir) whatever happens."""

import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

SRC = os.environ.get("HANDOFF_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("HANDOFF_BUILD_DIR") or os.path.join(SRC, "build")
WATCHER = os.path.join(BUILD, "watcher", "handoff-watcher")
SERVER = os.path.join(SRC, "hack", "test-apiserver.py")

DECISION_MSGS = ("LiveMigration role changed", "Live migration state transition",
                 "Workload route", "Workload route withdrawn")


class Fail(Exception):
    pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def logfmt(line):
    """key=value / key="quoted value" pairs of one log line."""
    out = {}
    for m in re.finditer(r'(\w+)=("((?:[^"\\]|\\.)*)"|\S*)', line):
        out[m.group(1)] = m.group(3) if m.group(3) is not None else m.group(2)
    return out


def decision_from_log(f):
    """A decision line of `run`'s log as the tuple replay's JSON gives too."""
    msg = f.get("msg")
    if msg == "LiveMigration role changed":
        return ("role", f["endpoint"], f["role"], f.get("migrationUid", ""))
    if msg == "Live migration state transition":
        return ("transition", f["id"], f["from"], f["input"], f["to"], f["migrationUid"])
    if msg == "Workload route":
        return ("route", f["endpoint"], f["dst"], f["interface"], int(f["metric"]))
    if msg == "Workload route withdrawn":
        return ("route", f["endpoint"], f["dst"], f["interface"], None)
    return None


def decision_from_replay(d):
    if d["event"] == "role":
        return ("role", d["endpoint"], d["role"], d["uid"])
    if d["event"] == "transition":
        return ("transition", d["endpoint"], d["from"], d["input"], d["to"], d["uid"])
    if d["event"] == "route":
        return ("route", d["endpoint"], d["dst"], d["interface"], d["metric"])
    return None


def final_state(decisions):
    """What the node is left with: each (endpoint, dst)'s route metric and
    each endpoint's role, from the last decision about it."""
    routes, roles = {}, {}
    for d in decisions:
        if d[0] == "route":
            routes[(d[1], d[2])] = d[4]
        elif d[0] == "role":
            roles[d[1]] = (d[2], d[3])
    return ({k: v for k, v in routes.items() if v is not None},
            {k: v for k, v in roles.items() if v[0] != "NONE"})


class Watcher:
    def __init__(self, h, name, node, extra=(), netns=None):
        self.h, self.name, self.node = h, name, node
        self.port = free_port()
        self.log_path = os.path.join(h.dir, name + ".log")
        cmd = [WATCHER, "run", "--node", node, "--kubeconfig", h.kubeconfig, "--http",
               "127.0.0.1:%d" % self.port,
               "--state-file", os.path.join(h.dir, name + ".state.json")] + list(extra)
        if netns:
            cmd = ["ip", "netns", "exec", netns] + cmd
        self.netns = netns
        self.logf = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT)
        h.procs.append(self.proc)

    def lines(self):
        """The complete lines of the log so far (a line still being written
        is left for the next read)."""
        with open(self.log_path) as f:
            text = f.read()
        return text[:text.rfind("\n") + 1].splitlines()

    def decisions(self):
        out = []
        for line in self.lines():
            d = decision_from_log(logfmt(line))
            if d:
                out.append(d)
        return out

    def http(self, path):
        """(status, body) of one of the watcher's HTTP endpoints."""
        if self.netns:
            r = subprocess.run(["ip", "netns", "exec", self.netns, "curl", "-s", "-o", "-",
                                "-w", "\n%{http_code}", "http://127.0.0.1:%d%s" %
                                (self.port, path)], capture_output=True, text=True)
            body, _, code = r.stdout.rpartition("\n")
            return int(code or 0), body
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path),
                                        timeout=2) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError:
            return 0, ""

    def metric(self, name, labels=""):
        _, text = self.http("/metrics")
        want = name + ("{%s}" % labels if labels else "")
        for line in text.splitlines():
            if line.startswith(want + " "):
                return float(line.split()[-1])
        raise Fail("metric %s not in /metrics" % want)

    def wait_ready(self, timeout=10):
        self.h.wait("%s ready" % self.name, lambda: self.http("/readyz")[0] == 200, timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Harness:
    """One test API server in a temp dir; everything stopped and removed at exit."""

    def __init__(self, name, server_args=(), deadline=90, netns=None, hooks=()):
        self.name = name
        self.hooks = list(hooks)  # run last by cleanup (e.g. delete namespaces)
        self.netns = netns  # the server (and its loopback) live there
        self.dir = tempfile.mkdtemp(prefix="handoff-kapi-%s-" % name)
        self.procs = []
        self.watchers = []
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.token_file = os.path.join(self.dir, "token")
        atexit.register(self.cleanup)
        # Bounded: a hung step fails the test instead of holding ctest.
        signal.signal(signal.SIGALRM, lambda *_: self.abort("overall time limit reached"))
        signal.alarm(deadline)
        signal.signal(signal.SIGTERM, lambda *_: self.abort("terminated"))
        ready = os.path.join(self.dir, "ready.json")
        self.srv_log = open(os.path.join(self.dir, "server.log"), "w")
        self.server = subprocess.Popen(
            (["ip", "netns", "exec", netns] if netns else []) + ["/usr/bin/python3", SERVER, "--tls-dir", os.path.join(self.dir, "tls"),
             "--token-file", self.token_file, "--kubeconfig-out", self.kubeconfig,
             "--ready-file", ready] + list(server_args),
            stdout=self.srv_log, stderr=subprocess.STDOUT)
        self.procs.append(self.server)
        self.wait("the API server", lambda: os.path.exists(ready), 15)
        with open(ready) as f:
            info = json.load(f)
        self.control = "http://127.0.0.1:%d" % info["control_port"]
        self.api = info["server"]

    def abort(self, why):
        self.dump()
        print("FAIL: %s: %s" % (self.name, why), file=sys.stderr)
        self.cleanup()
        os._exit(1)

    def dump(self):
        for w in self.watchers:
            print("--- %s log (last 250 lines)" % w.name, file=sys.stderr)
            try:
                print("\n".join(w.lines()[-250:]), file=sys.stderr)
            except OSError:
                pass
        try:
            print("--- last API requests", file=sys.stderr)
            for r in self.requests()[-25:]:
                print(json.dumps(r), file=sys.stderr)
        except Exception:  # the server may be the problem
            pass
        try:
            with open(os.path.join(self.dir, "server.log")) as f:
                print("--- server log\n" + f.read()[-3000:], file=sys.stderr)
        except OSError:
            pass

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(3)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs = []
        shutil.rmtree(self.dir, ignore_errors=True)
        for hook in self.hooks:
            hook()
        self.hooks = []

    def watcher(self, name, node, extra=(), netns=None):
        w = Watcher(self, name, node, extra, netns)
        self.watchers.append(w)
        return w

    # --- control port ---

    def _control(self, path, data=None):
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns, "curl", "-s", "-o", "-", "-w",
                   "\n%{http_code}", self.control + path]
            if data is not None:
                cmd += ["--data-binary", "@-"]
            r = subprocess.run(cmd, input=data, capture_output=True)
            body, _, code = r.stdout.decode().rpartition("\n")
            if code != "200":
                raise Fail("control %s: %s %s" % (path, code, body))
            return json.loads(body)
        req = urllib.request.Request(self.control + path, data=data,
                                     method="POST" if data is not None else "GET")
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise Fail("control %s: %d %s" % (path, e.code, e.read().decode()))

    def post(self, path, body):
        return self._control(path, body if isinstance(body, bytes) else json.dumps(body).encode())

    def get(self, path):
        return self._control(path)

    def apply(self, *objs):
        return self.post("/objects", list(objs))

    def delete(self, kind, name, namespace=None):
        return self.post("/delete", {"kind": kind, "name": name, "namespace": namespace})

    def fault(self, **kw):
        return self.post("/fault", kw)

    def requests(self, since=0):
        return self.get("/requests?since=%d" % since)

    # --- waiting and checking ---

    def wait(self, what, cond, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for p in self.procs:
                if p.poll() is not None and p.returncode != 0 and p is not None:
                    if p in [w.proc for w in self.watchers] or p is self.server:
                        self.fail("a process exited (status %d) while waiting for %s" %
                                  (p.returncode, what))
            if cond():
                return
            time.sleep(0.05)
        self.fail("timed out (%g s) waiting for %s" % (timeout, what))

    def fail(self, why):
        raise Fail(why)

    def run(self, fn):
        """Run the test body; on failure print the logs; exit status for ctest."""
        try:
            fn(self)
            # SIGTERM: a clean exit, and nothing a sanitizer build complains about.
            for w in self.watchers:
                w.stop()
                bad = [l for l in w.lines() if "AddressSanitizer" in l or "runtime error" in l
                       or "LeakSanitizer" in l]
                check(w.proc.returncode == 0 and not bad, "%s exited with status %s %s" %
                      (w.name, w.proc.returncode, bad[:3]))
        except Fail as e:
            self.dump()
            print("FAIL: %s: %s" % (self.name, e), file=sys.stderr)
            self.cleanup()
            sys.exit(1)
        except Exception:
            self.dump()
            self.cleanup()
            raise
        self.cleanup()
        print("PASS: %s" % self.name)


def check(cond, why):
    if not cond:
        raise Fail(why)


# Objects of the tests.

def pod(name, node, ip, labels=None, ns="vms"):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"namespace": ns, "name": name, "labels": labels or {}},
            "spec": {"nodeName": node}, "status": {"podIPs": [{"ip": ip}]}}


def felix(convergence):
    return {"apiVersion": "projectcalico.org/v3", "kind": "FelixConfiguration",
            "metadata": {"name": "default"},
            "spec": {"liveMigrationRouteConvergenceTime": convergence}}


def live_migration(name, uid, source, vm, ns="vms"):
    return {"apiVersion": "projectcalico.org/v3", "kind": "LiveMigration",
            "metadata": {"namespace": ns, "name": name, "uid": uid},
            "spec": {"source": {"workload": {"orchestratorID": "k8s",
                                             "workloadID": "%s/%s" % (ns, source)}},
                     "target": {"selector": "vmi.kubevirt.io/id == '%s' && "
                                "kubevirt.io/migrationJobUID == '%s'" % (vm, uid)}}}
