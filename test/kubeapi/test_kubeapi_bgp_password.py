#!/usr/bin/python3
"""BGP passwords from Secrets (issue 12), through `handoff-watcher run
--kubeconfig --bird-dir`:

- BGPPeer.spec.password and BGPConfiguration.spec.nodeMeshPassword name keys
  of a Secret in the watcher's namespace (handoff-system): bird.cfg carries
  them in the sessions they belong to, and is mode 0600 (bird6.cfg too);
- the watcher only ever asks for Secrets of that namespace (its Role grants
  nothing else); a Secret of the same name elsewhere is never used;
- a changed Secret reaches bird.cfg; a deleted one takes the password out
  and the log names the Secret;
- no password appears in the log (debug level), /metrics, /migrations or
  /readyz, at any point.
"""
import base64
import os
import stat
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kapi  # noqa: E402
from kapi import check  # noqa: E402

NS = "handoff-system"
PASSWORDS = ["m3sh-Pw-one", "t0r-Pw-one", "t0r-Pw-two", "wr0ng-namespace"]


def node(name, ip):
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "status": {"addresses": [{"type": "InternalIP", "address": ip}]}}


def secret(ns, data):
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"namespace": ns, "name": "bgp-passwords"}, "type": "Opaque",
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


def body(h):
    bird_dir = tempfile.mkdtemp(dir=h.dir)
    cfg = os.path.join(bird_dir, "bird.cfg")
    h.apply(node("node-a", "10.70.0.1"), node("node-b", "10.70.0.2"),
            {"apiVersion": "projectcalico.org/v3", "kind": "BGPConfiguration",
             "metadata": {"name": "default"},
             "spec": {"nodeMeshPassword": {"secretKeyRef": {"name": "bgp-passwords",
                                                            "key": "mesh"}}}},
            {"apiVersion": "projectcalico.org/v3", "kind": "BGPPeer",
             "metadata": {"name": "tor"},
             "spec": {"peerIP": "10.70.0.254", "asNumber": 65000,
                      "password": {"secretKeyRef": {"name": "bgp-passwords", "key": "tor"}}}},
            secret("other", {"mesh": "wr0ng-namespace", "tor": "wr0ng-namespace"}),
            secret(NS, {"mesh": "m3sh-Pw-one", "tor": "t0r-Pw-one"}))

    w = h.watcher("watcher", "node-a", ["--no-dataplane", "--bird-dir", bird_dir,
                                        "--log-level", "debug"])
    w.wait_ready()

    def rendered():
        try:
            with open(cfg) as f:
                return f.read()
        except OSError:
            return ""

    def has(*want):
        return lambda: all(x in rendered() for x in want)

    h.wait("both passwords in bird.cfg", has('  password "t0r-Pw-one";\n',
                                             '  password "m3sh-Pw-one";\n'))
    text = rendered()
    mesh = text[text.index("protocol bgp Mesh_10_70_0_2 "):]
    check('password "m3sh-Pw-one"' in mesh[:mesh.index("\n}\n")], "mesh password not on Mesh_")
    for f in ("bird.cfg", "bird6.cfg"):
        mode = stat.S_IMODE(os.stat(os.path.join(bird_dir, f)).st_mode)
        check(mode == 0o600, "%s is mode %o, not 0600" % (f, mode))
    check("wr0ng-namespace" not in text, "a Secret of another namespace was used")

    secret_reqs = [r for r in h.requests() if r["resource"] == "secrets"]
    check(secret_reqs, "no Secret list/watch")
    paths = {r["path"] for r in secret_reqs}
    check(paths == {"/api/v1/namespaces/%s/secrets" % NS}, "Secret requests: %s" % paths)

    h.apply(secret(NS, {"mesh": "m3sh-Pw-one", "tor": "t0r-Pw-two"}))
    h.wait("the new ToR password", has('  password "t0r-Pw-two";\n'))
    check("t0r-Pw-one" not in rendered(), "the old password stayed")

    h.delete("Secret", "bgp-passwords", NS)
    h.wait("passwords gone", lambda: "password" not in rendered() and "Mesh_" in rendered())
    h.wait("the warning naming the Secret", lambda: any(
        "BGP password not available" in l and "secret=%s/bgp-passwords" % NS in l
        for l in w.lines()))

    leaks = [l for l in w.lines() if any(p in l for p in PASSWORDS)]
    check(not leaks, "passwords in the log: %s" % leaks[:3])
    for path in ("/metrics", "/migrations", "/readyz", "/healthz"):
        _, text = w.http(path)
        check(not any(p in text for p in PASSWORDS), "a password in %s" % path)


if __name__ == "__main__":
    kapi.Harness("bgp-password").run(body)
