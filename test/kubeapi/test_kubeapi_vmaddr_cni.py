#!/usr/bin/python3
"""handoff-cni with VM addresses (issue 11), the way a runtime runs it (one
exec per command, real veths in network namespaces made here, Debian's
host-local for ordinary pods), against the test API server and two
watchers (node-a, node-b) serving VM addresses:

- an ordinary pod gets its address from host-local, in the lower half of
  node-a's range (ranges rangeEnd from the split), without asking the
  watcher even when named virt-launcher-* but not a VM's pod;
- a VM pod on node-a gets the upper-half addresses on its eth0, and CHECK
  compares its prevResult with the VM's addresses;
- its migration target, wired on node-b, gets the same two addresses;
- with node-b's watcher stopped, a VM pod's ADD answers CNI error 11 (try
  again later) and leaves no interface behind; an ordinary pod still works;
- DEL of the target, then (VMI deleted) of the source: released.
Root (namespaces)."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kapi  # noqa: E402
import vmaddr_lib as L  # noqa: E402
from kapi import check  # noqa: E402

TAG = str(os.getpid())
CNI = os.path.join(kapi.BUILD, "cni", "handoff-cni")


def sh(*cmd, check_rc=True):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check_rc and r.returncode:
        raise kapi.Fail("%s: %s" % (" ".join(cmd), r.stderr))
    return r.stdout


class Node:
    """A namespace playing one node's host, with its CNI config."""

    def __init__(self, h, c, name):
        self.name, self.host = name, "hvc-%s-%s" % (name[-1], TAG)
        self.pods = []
        sh("ip", "netns", "add", self.host)
        h.hooks.append(lambda: sh("ip", "netns", "del", self.host, check_rc=False))
        v4, v6 = c.cidrs[name]
        # Plain host-local ranges: handoff-cni ends them below the VM half.
        self.conf = {"cniVersion": "1.0.0", "name": L.NET, "type": "handoff-cni",
                     "endpointDir": os.path.join(h.dir, name + "-endpoints"),
                     "ipam": {"type": "host-local",
                              "dataDir": os.path.join(h.dir, name + "-ipam"),
                              "vmAddressSocket": c.sock(name),
                              "ranges": [[{"subnet": v4}], [{"subnet": v6}]]}}
        self.h = h

    def run(self, command, pod, ns=L.NS, prev=None):
        netns = "hvp-%s-%s" % (pod[-12:], TAG)
        if command == "ADD":
            sh("ip", "netns", "add", netns)
            self.h.hooks.append(lambda: sh("ip", "netns", "del", netns, check_rc=False))
        env = dict(os.environ, CNI_COMMAND=command, CNI_CONTAINERID="ctr-" + pod,
                   CNI_NETNS="/run/netns/" + netns, CNI_IFNAME="eth0", CNI_PATH="/usr/lib/cni",
                   CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s" % (ns, pod))
        conf = dict(self.conf, prevResult=prev) if prev else self.conf
        t0 = time.monotonic()
        r = subprocess.run(["ip", "netns", "exec", self.host, CNI], input=json.dumps(conf),
                           env=env, capture_output=True, text=True)
        self.last_ms = (time.monotonic() - t0) * 1000  # for hack/bench-vmaddr.py
        out = json.loads(r.stdout) if r.stdout.strip() else {"stderr": r.stderr[-2000:]}
        return r.returncode, out, netns

    def addrs(self, netns):
        return sorted(a["local"] for i in json.loads(sh("ip", "-n", netns, "-j", "addr", "show",
                                                        "dev", "eth0"))
                      for a in i["addr_info"] if a.get("scope") == "global")


def body(h):
    c = L.Cluster(h, nodes=("node-a", "node-b"))
    a, b = Node(h, c, "node-a"), Node(h, c, "node-b")
    h.apply(L.vmi("vm1"), L.vm_pod("virt-launcher-vm1-a", "node-a", "vm1"),
            L.vm_pod("virt-launcher-vm1-b", "node-b", "vm1", migration_uid="m1"),
            L.vm_pod("virt-launcher-vm2-b", "node-b", "vm2"),
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": L.NS,
                                                             "name": "virt-launcher-plain"},
             "spec": {"nodeName": "node-a"}})

    rc, out, ns_plain = a.run("ADD", "web-1")
    check(rc == 0 and [i["address"] for i in out["ips"]] == ["10.244.1.2/32", "fd00:10:244:1::2/128"],
          "ordinary pod from host-local: %s" % out)
    rc, out, _ = a.run("ADD", "virt-launcher-plain")
    check(rc == 0 and out["ips"][0]["address"] == "10.244.1.3/32",
          "a virt-launcher-named pod without KubeVirt's labels: host-local: %s" % out)

    rc, out, ns_src = a.run("ADD", "virt-launcher-vm1-a")
    want = ["10.244.1.128", "fd00:10:244:1:8000::"]
    check(rc == 0 and [i["address"] for i in out["ips"]] == [want[0] + "/32", want[1] + "/128"],
          "VM pod on node-a: %s" % out)
    check(a.addrs(ns_src) == sorted(want), "VM pod's eth0: %s" % a.addrs(ns_src))
    # CHECK: the watcher vouches for the VM's addresses (host-local has no
    # lease of them); a prevResult with another address fails, naming it.
    rc, res, _ = a.run("CHECK", "virt-launcher-vm1-a", prev=out)
    check(rc == 0, "CHECK of the VM pod: %s" % res)
    bad = json.loads(json.dumps(out))
    bad["ips"][0]["address"] = "10.244.1.129/32"
    rc, res, _ = a.run("CHECK", "virt-launcher-vm1-a", prev=bad)
    check(rc != 0 and "10.244.1.129" in res.get("msg", ""), "CHECK with a wrong address: %s" % res)

    rc, out, ns_dst = b.run("ADD", "virt-launcher-vm1-b")
    check(rc == 0 and b.addrs(ns_dst) == sorted(want),
          "migration target on node-b: %s %s" % (out, b.addrs(ns_dst)))
    check(c.handle("vm1")["spec"]["alternateOwner"] == "virt-launcher-vm1-b", "target recorded")

    # node-b's watcher stops: VM pods wait, ordinary pods do not.
    wb = c.w["node-b"]
    wb.stop()
    h.watchers.remove(wb)
    rc, out, ns_wait = b.run("ADD", "virt-launcher-vm2-b")
    check(rc != 0 and out.get("code") == 11 and "try again later" in out.get("msg", ""),
          "VM pod ADD without the watcher: %s" % out)
    check("eth0" not in sh("ip", "-n", ns_wait, "link"), "a failed ADD left eth0")
    check(c.handle("vm2") is None, "nothing allocated for vm2")
    rc, out, _ = b.run("ADD", "web-2")
    check(rc == 0 and out["ips"][0]["address"] == "10.244.2.2/32",
          "ordinary pod on node-b without its watcher: %s" % out)
    c.start("node-b")
    h.wait("node-b's watcher back", lambda: os.path.exists(c.sock("node-b")), 15)

    rc, out, _ = b.run("DEL", "virt-launcher-vm1-b")
    check(rc == 0 and c.handle("vm1")["spec"]["activeOwner"] == "virt-launcher-vm1-a",
          "target DEL (failed migration): %s %s" % (out, c.handle("vm1")))
    h.delete("VirtualMachineInstance", "vm1", L.NS)
    rc, out, _ = a.run("DEL", "virt-launcher-vm1-a")
    check(rc == 0 and c.handle("vm1") is None and not c.claims(),
          "released with the VMI and its last pod: %s" % out)
    # host-local never enters the VM half: with its range started at .125,
    # three more pods fill .125-.127 and the next one finds no address.
    a.conf["ipam"]["ranges"][0][0]["rangeStart"] = "10.244.1.125"
    for i in range(3):
        rc, out, _ = a.run("ADD", "fill-%d" % i)
        check(rc == 0 and out["ips"][0]["address"] == "10.244.1.%d/32" % (125 + i),
              "ordinary pod %d: %s" % (i, out))
    rc, out, ns_full = a.run("ADD", "fill-3")
    check(rc != 0 and "10.244.1.128" not in json.dumps(out),
          "host-local stayed in its half: %s" % out)
    rc, out, _ = a.run("DEL", "web-1")
    check(rc == 0 and not os.path.exists(os.path.join(a.conf["ipam"]["dataDir"], L.NET,
                                                      "10.244.1.2")),
          "ordinary pod's DEL released host-local's lease")


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        sys.exit(77)
    kapi.Harness("vmaddr_cni").run(body)
