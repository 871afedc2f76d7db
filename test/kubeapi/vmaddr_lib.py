"""vmaddr_lib.py - what the VM address tests share: three simulated nodes
(Node objects with podCIDRs), watchers serving VM addresses on a unix
socket each, a client of that socket speaking handoff-cni's protocol, and
readers of the VMAddress / VMAddressBlock state in the test API server."""

import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kapi  # noqa: E402
from kapi import check  # noqa: E402

NS = "vms"
NET = "k8s-pod-network"


def node(name, v4, v6):
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "spec": {"podCIDR": v4, "podCIDRs": [v4, v6]}}


def vm_pod(name, node_name, vm, migration_uid=None, ns=NS):
    labels = {"kubevirt.io": "virt-launcher", "vm.kubevirt.io/name": vm,
              "vmi.kubevirt.io/id": vm}
    if migration_uid:
        labels["kubevirt.io/migrationJobUID"] = migration_uid
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"namespace": ns, "name": name, "labels": labels,
                         "ownerReferences": [{"apiVersion": "kubevirt.io/v1",
                                              "kind": "VirtualMachineInstance", "name": vm,
                                              "uid": "uid-" + vm, "controller": True}]},
            "spec": {"nodeName": node_name}, "status": {}}


def vmi(name, ns=NS):
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "metadata": {"namespace": ns, "name": name}, "status": {"phase": "Running"}}


def ask(sock_path, command, pod, ns=NS, network=NET, timeout=60):
    """One request to a watcher's VM address socket, as handoff-cni sends it."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        s.sendall((json.dumps({"command": command, "namespace": ns, "pod": pod,
                               "network": network}) + "\n").encode())
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    return json.loads(data) if data.strip() else None


class Cluster:
    """The API server and one watcher per node, each with its socket."""

    NODES = {"node-a": ("10.244.1.0/24", "fd00:10:244:1::/64"),
             "node-b": ("10.244.2.0/24", "fd00:10:244:2::/64"),
             "node-c": ("10.244.3.0/24", "fd00:10:244:3::/64")}

    def __init__(self, h, nodes=("node-a", "node-b", "node-c"), cidrs=None, gc_interval=1,
                 workers=4):
        self.h = h
        self.cidrs = cidrs or self.NODES
        self.gc_interval = gc_interval
        self.workers = workers
        h.apply(*[node(n, *self.cidrs[n]) for n in nodes])
        self.w = {}
        for n in nodes:
            self.start(n)
        for n in nodes:
            h.wait("%s's VM address socket" % n, lambda n=n: os.path.exists(self.sock(n)), 15)

    def sock(self, n):
        return os.path.join(self.h.dir, n + ".sock")

    def start(self, n):
        self.w[n] = self.h.watcher(n, n, ["--no-dataplane", "--ipam-socket", self.sock(n),
                                          "--ipam-gc-interval", str(self.gc_interval),
                                          "--ipam-workers", str(self.workers)])
        return self.w[n]

    retries = 0  # answers 11 (try again later) retried, as the kubelet does

    def _call(self, command, n, pod, **kw):
        for _ in range(20):
            a = ask(self.sock(n), command, pod, **kw)
            if not (a and a.get("code") == 11):
                break
            Cluster.retries += 1
            time.sleep(0.2)
        check(a is not None and "code" not in a, "%s %s on %s: %s" % (command, pod, n, a))
        return a

    def add(self, n, pod, **kw):
        return self._call("ADD", n, pod, **kw)

    def delete(self, n, pod, **kw):
        return self._call("DEL", n, pod, **kw)

    def state(self):
        objs = self.h.get("/state")["objects"]
        return objs.get("vmaddresses", []), objs.get("vmaddressblocks", [])

    def handle(self, vm, ns=NS):
        name = "%s.vmi.%s.%s" % (NET, ns, vm)
        for o in self.state()[0]:
            if o["metadata"]["name"] == name:
                return o
        return None

    def claims(self):
        """{address: (handle name, uid)} over every block."""
        out = {}
        for b in self.state()[1]:
            for addr, c in (b["spec"].get("allocations") or {}).items():
                check(addr not in out, "address %s claimed in two blocks" % addr)
                out[addr] = (c.get("handle"), c.get("uid"))
        return out

    def check_consistent(self):
        """Every handle's addresses are claimed by it; every claim belongs to
        a handle that holds that address; no address in two handles."""
        handles, _ = self.state()
        claims = self.claims()
        seen = {}
        for o in handles:
            spec, name, uid = o["spec"], o["metadata"]["name"], o["metadata"]["uid"]
            for fam in ("ipv4", "ipv6"):
                a = spec.get(fam)
                if not a:
                    continue
                check(a not in seen, "address %s held by %s and %s" % (a, seen.get(a), name))
                seen[a] = name
                check(claims.get(a) == (name, uid),
                      "address %s of %s: claim %s" % (a, name, claims.get(a)))
        for a, (name, _) in claims.items():
            check(seen.get(a) == name, "claim of %s by %s: no handle holds it (leak)" % (a, name))
        return handles, claims
