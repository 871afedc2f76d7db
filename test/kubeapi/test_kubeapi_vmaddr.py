#!/usr/bin/python3
"""A KubeVirt VM keeps its addresses (issue 11), against the test API
server with three simulated nodes (watchers with --no-dataplane serving VM
addresses on their sockets, driven as handoff-cni drives them):

- the VM's first pod on node-a gets one v4 and one v6 address from the upper
  half of node-a's podCIDRs; a virt-launcher-named pod without KubeVirt's
  labels is left to host-local ({"vm": false});
- a migration target on another node gets exactly those addresses, as
  alternate owner; the FSM going Target -> TimeWait on the target's node
  (its LiveMigration gone) promotes it to active owner;
- A -> B -> A -> B, each source pod deleted after its migration: the
  addresses never change, nothing is released;
- a migration target of a VM without addresses is refused;
- node-a never gives the VM's address to another VM after the VM moved away
  and its source pods were deleted;
- deleting the VMI and then its last pod frees the addresses (the next VM on
  node-a gets them), and leaves no claim behind.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kapi  # noqa: E402
import vmaddr_lib as L  # noqa: E402
from kapi import check  # noqa: E402


def body(h):
    c = L.Cluster(h)
    h.apply(L.vmi("vm1"), L.vm_pod("virt-launcher-vm1-a0", "node-a", "vm1"))

    # Not a VM pod (no KubeVirt labels): host-local's business.
    h.apply({"apiVersion": "v1", "kind": "Pod",
             "metadata": {"namespace": L.NS, "name": "virt-launcher-imposter"},
             "spec": {"nodeName": "node-a"}})
    check(c.add("node-a", "virt-launcher-imposter") == {"vm": False}, "an ordinary pod")

    first = c.add("node-a", "virt-launcher-vm1-a0")
    ips = first["ips"]
    check(first["vm"] and not first["target"] and ips == ["10.244.1.128", "fd00:10:244:1:8000::"],
          "first pod: %s" % first)
    check(c.add("node-a", "virt-launcher-vm1-a0")["ips"] == ips, "a retried ADD: same addresses")

    # A target of a VM that never had addresses is refused.
    h.apply(L.vm_pod("virt-launcher-ghost-b", "node-b", "ghost", migration_uid="m-ghost"))
    a = L.ask(c.sock("node-b"), "ADD", "virt-launcher-ghost-b")
    check(a.get("code") == 5 and "ghost" in a["msg"], "a target without addresses: %s" % a)

    source, source_node = "virt-launcher-vm1-a0", "node-a"
    hops = [("node-b", "virt-launcher-vm1-b1"), ("node-a", "virt-launcher-vm1-a2"),
            ("node-b", "virt-launcher-vm1-b3")]
    for i, (tnode, target) in enumerate(hops):
        uid = "mig-%d" % i
        h.apply(L.vm_pod(target, tnode, "vm1", migration_uid=uid))
        got = c.add(tnode, target)
        check(got["ips"] == ips and got["target"], "hop %d: target got %s" % (i, got))
        hd = c.handle("vm1")["spec"]
        check(hd["activeOwner"] == source and hd["alternateOwner"] == target,
              "hop %d: owners during the migration %s" % (i, hd))

        # The migration goes through on the target's node (no GARP without
        # a dataplane: Target, then TimeWait when the LiveMigration ends).
        target_pod = L.vm_pod(target, tnode, "vm1", migration_uid=uid)
        target_pod["status"] = {"podIPs": [{"ip": ips[0]}, {"ip": ips[1]}]}
        h.apply(target_pod, kapi.live_migration("lm-%d" % i, uid, source, "vm1"))
        w = c.w[tnode]
        h.wait("hop %d: target role on %s" % (i, tnode),
               lambda: any(d[0] == "role" and d[1].endswith(target) and d[2] == "TARGET"
                           for d in w.decisions()), 10)
        h.delete("LiveMigration", "lm-%d" % i, L.NS)
        h.wait("hop %d: %s promoted" % (i, target),
               lambda: (c.handle("vm1")["spec"].get("activeOwner") == target and
                        not c.handle("vm1")["spec"].get("alternateOwner")), 10)

        # The source pod goes: its DEL (on its node) frees nothing.
        check(c.delete(source_node, source) == {"vm": False},
              "hop %d: source no longer owned anything" % i)
        h.delete("Pod", source, L.NS)
        hd = c.handle("vm1")["spec"]
        check([hd["ipv4"], hd["ipv6"]] == ips and hd["activeOwner"] == target,
              "hop %d: after the source's deletion %s" % (i, hd))
        source, source_node = target, tnode

    # node-a must not hand vm1's address out again: vm2 gets the next one.
    h.apply(L.vmi("vm2"), L.vm_pod("virt-launcher-vm2-a", "node-a", "vm2"))
    vm2 = c.add("node-a", "virt-launcher-vm2-a")
    check(vm2["ips"] == ["10.244.1.129", "fd00:10:244:1:8000::1"], "vm2 on node-a: %s" % vm2)
    c.check_consistent()

    # A stopped pod whose VMI still exists keeps the addresses.
    h.apply(L.vm_pod("virt-launcher-vm2-b", "node-b", "vm2", migration_uid="m-vm2"))
    c.add("node-b", "virt-launcher-vm2-b")
    c.delete("node-b", "virt-launcher-vm2-b")
    c.delete("node-a", "virt-launcher-vm2-a")
    check(c.handle("vm2") and c.handle("vm2")["spec"]["ipv4"] == "10.244.1.129",
          "vm2 without pods but with its VMI keeps its addresses")

    # The VMI is deleted, then its last pod: released, claims gone.
    h.delete("VirtualMachineInstance", "vm1", L.NS)
    check(c.handle("vm1") is not None, "vm1's addresses outlive its VMI while a pod runs")
    check(c.delete("node-b", source) == {"vm": True}, "the last pod's DEL")
    check(c.handle("vm1") is None, "vm1's handle released with its VMI and last pod")
    handles, claims = c.check_consistent()
    check(sorted(claims) == ["10.244.1.129", "fd00:10:244:1:8000::1"],
          "only vm2's claims remain: %s" % sorted(claims))

    # vm2: its VMI deleted with no pod left: the collector releases it.
    h.delete("VirtualMachineInstance", "vm2", L.NS)
    h.wait("vm2 collected", lambda: c.handle("vm2") is None and not c.claims(), 10)

    # The freed addresses are node-a's to give again.
    h.apply(L.vmi("vm3"), L.vm_pod("virt-launcher-vm3-a", "node-a", "vm3"))
    check(c.add("node-a", "virt-launcher-vm3-a")["ips"] == ["10.244.1.128",
                                                             "fd00:10:244:1:8000::"],
          "vm3 reuses the released addresses")
    c.check_consistent()


if __name__ == "__main__":
    kapi.Harness("vmaddr_migration").run(body)
