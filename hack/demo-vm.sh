#!/usr/bin/env bash
# A real VM live-migrated by QEMU between two nodes, its network moved by
# handoff on QEMU's own announcement.
#
#   hack/demo-vm.sh [--round-trips N] [--results FILE]
#
# The cluster of the scenario tests (test/e2e/lib/cluster.sh): nodes a, b, c
# in network namespaces on an iBGP mesh, each with BIRD and its own
# handoff-watcher. The guest is Debian's cloud kernel with a busybox
# initramfs (hack/vm/build-guest.sh) under QEMU/TCG, 128 MiB, its NIC a tap
# device inside its virt-launcher pod's namespace, as KubeVirt has it, made
# by handoff-cni's tap mode (tap0 joined to the pod's eth0 by tc redirects),
# so the guest talks to the node through the pod's veth and sees the same
# gateway MAC on every node.
#
# Node c sends the guest a numbered UDP datagram every millisecond while it
# migrates a -> b -> a (N round trips, default 1), each migration the way
# KubeVirt drives it: LiveMigration, target pod with an incoming QEMU, QEMU's
# migration over a unix socket, QEMU's RARPs on the target, source QEMU quit
# and its pod deleted, LiveMigration deleted. After every migration the guest
# is checked: QEMU says it runs, the serial console shows no kernel error and
# its heartbeat goes on, and it answers. Printed per migration: QEMU's total
# time and downtime, and the longest silence the client saw.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
trips=1 results=
while [ $# -gt 0 ]; do
	case "$1" in
	--round-trips) trips=${2:?}; shift ;;
	--results) results=${2:?}; shift ;;
	-h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "demo-vm: unknown argument $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" -eq 0 ] || { echo "demo-vm: needs root (network namespaces)" >&2; exit 1; }
if [ -z "${HANDOFF_BUILD_DIR:-}" ]; then
	"$top/hack/install-deps.sh"
	HANDOFF_BUILD_DIR=$("$top/hack/build.sh")
fi
export HANDOFF_BUILD_DIR
# Shared by every build and run (the kernel package is downloaded once).
guest=${HANDOFF_GUEST_DIR:-/var/tmp/handoff-vm-guest}
"$top/hack/vm/build-guest.sh" "$guest"

e2e=$top/test/e2e
# shellcheck source=../test/e2e/lib/topo.sh
. "$e2e/lib/topo.sh"
# shellcheck source=../test/e2e/lib/bgp.sh
. "$e2e/lib/bgp.sh"
# shellcheck source=../test/e2e/lib/cluster.sh
. "$e2e/lib/cluster.sh"
# shellcheck source=../test/e2e/lib/scenarios.sh
. "$e2e/lib/scenarios.sh"
# shellcheck source=../test/e2e/lib/guest.sh
. "$e2e/lib/guest.sh"

VM=vm1 V4=10.65.0.60 MAC=52:54:00:12:34:60
CL_VM_MAC[$VM]=$MAC
CL_PROBE_MAX=600
QMP=$top/hack/vm/qmp.py
declare -A QEMU_PID

# tap_pod NODE POD: POD's namespace wired to NODE by handoff-cni in tap mode,
# as a kubelet would run it for a KubeVirt virt-launcher pod: the pod's veth
# (host side named for the pod, the gateway MAC, proxy ARP), tap0 for QEMU
# joined to eth0 by tc redirects, the endpoint recorded. The VM's address is
# the pod's (the static IPAM plugin gives exactly it: a VM keeps its address).
tap_pod() {
	local node=$1 pod=$2 conf out
	topo_ns "$pod"
	mkdir -p "$TOPO_DIR/$node/ep"
	conf='{"cniVersion": "1.0.0", "name": "handoff", "type": "handoff-cni",
	  "endpointDir": "'"$TOPO_DIR/$node/ep"'", "tap": true,
	  "ipam": {"type": "static", "addresses": [{"address": "'"$V4"'/32"}]}}'
	out=$(echo "$conf" | ip netns exec "$(ns_of "$node")" env CNI_COMMAND=ADD \
		CNI_CONTAINERID="sandbox-$pod" CNI_NETNS="/run/netns/$(ns_of "$pod")" CNI_IFNAME=eth0 \
		CNI_PATH=/usr/lib/cni CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=vms;K8S_POD_NAME=$pod" \
		"$HANDOFF_BUILD_DIR/cni/handoff-cni") || die "handoff-cni ADD for $pod: $out"
	jq -e '.interfaces[] | select(.name == "tap0")' <<<"$out" >/dev/null ||
		die "handoff-cni's result for $pod has no tap0: $out"
	[ "$(ip -n "$(ns_of "$node")" -j link show "$(ifname_of vms "$pod")" | jq -r '.[0].address')" = "$CL_HOST_MAC" ] ||
		die "the host side of $pod does not carry the gateway MAC"
}

# qemu_start POD [INCOMING]: the guest's QEMU in POD's namespace, on tap0.
qemu_start() {
	guest_qemu "$(ns_of "$1")" "$TOPO_DIR/$1" tap0 "${2:-}"
	QEMU_PID[$1]=$GUEST_PID
}
qmp() { guest_qmp "$TOPO_DIR/$1" "${@:2}"; }

# guest_healthy POD: the guest runs in POD's QEMU, its heartbeat goes on, no
# kernel error, and it answers.
guest_healthy() {
	guest_alive "$TOPO_DIR/$1"
	log "guest healthy in $1: running, heartbeat $GUEST_BEATS, answering"
}

# migrate FROM TO SPOD TPOD K: migration K, KubeVirt's way.
migrate() {
	local from=$1 to=$2 spod=$3 tpod=$4 k=$5 uid="u-vm-$5" r t0
	cl_lm "mig-$VM-$uid" "$uid" "$spod" "$VM"
	tap_pod "$to" "$tpod"
	qemu_start "$tpod" "unix:$TOPO_DIR/$tpod/migrate.sock"
	cl_pod "$to" "$tpod" "$VM" "$V4" - "$uid"
	cl_state "$to" "$tpod" Target
	wait_route "$to" "$V4" "$(bgp "$to" "$from" 1024)"
	until_ok 10 "the incoming QEMU's socket" test -S "$TOPO_DIR/$tpod/migrate.sock"
	t0=$EPOCHREALTIME
	r=$(qmp "$spod" migrate "unix:$TOPO_DIR/$tpod/migrate.sock") || die "QEMU's migration $k failed"
	log "migration $k ($from -> $to): QEMU $r"
	printf '%s\t%s\t%s\t%s\n' "$k" "$t0" "$EPOCHREALTIME" "$r" >>"$TOPO_DIR/migrations.tsv"
	cl_state "$to" "$tpod" Live
	wait_route c "$V4" "$(bgp c "$to" 512)"
	# The source QEMU has handed over: it quits, KubeVirt deletes its pod.
	qmp "$spod" quit
	wait "${QEMU_PID[$spod]}" 2>/dev/null || true
	cl_del "pod-$spod"
	cl_vm_gone "$from" "$spod"
	wait_route "$from" "$V4" "$(bgp "$from" "$to" 512)"
	cl_del "lm-mig-$VM-$uid"
	cl_state "$to" "$tpod" TimeWait
	wait_route c "$V4" "$(bgp c "$to" 1024)" 10000
	guest_healthy "$tpod"
}

topo_init
cl_up ibgp
: >"$TOPO_DIR/migrations.tsv"
echo "== the guest boots on node-a (pod vms/$VM-a0, QEMU/TCG)"
tap_pod a "$VM-a0"
qemu_start "$VM-a0"
cl_pod a "$VM-a0" "$VM" "$V4" -
wait_route c "$V4" "$(bgp c a 1024)"
guest_wait 60 "the guest to boot and answer"
log "guest up on node-a: $(grep -m1 'network up' "$TOPO_DIR/$VM-a0/serial.log")"
cl_probe_start vm c "$V4"
sleep 0.5

cur=a pod=$VM-a0 k=0
for _ in $(seq 1 "$trips"); do
	for next in b a; do
		k=$((k + 1))
		npod=$VM-$next$k
		echo "== migration $k: node-$cur -> node-$next"
		migrate "$cur" "$next" "$pod" "$npod" "$k"
		cur=$next pod=$npod
	done
done
cl_probe_check vm

echo
echo "== per migration: QEMU's own figures, and the longest silence node c saw"
python3 - "$TOPO_DIR/migrations.tsv" "$TOPO_DIR/probe-vm.txt" ${results:+"$results"} <<'PY'
import statistics, sys
migs = [l.split("\t") for l in open(sys.argv[1]).read().split("\n") if l.strip()]
lines = open(sys.argv[2]).read().split("\n")
sent = int(lines[0].split()[1])
ans = {int(l.split()[0]): float(l.split()[1]) for l in lines[1:] if l.strip()}
t0 = statistics.median(t - k * 0.001 for k, t in ans.items())
out = []
for k, start, end, qemu in migs:
    lo, hi = int((float(start) - t0) / 0.001), min(sent, int((float(end) + 2 - t0) / 0.001))
    run = best = 0
    for s in range(lo, hi):
        run = 0 if s in ans else run + 1
        best = max(best, run)
    q = dict(kv.split("=") for kv in qemu.split())
    print(f"migration {k}: QEMU total {q['total_ms']} ms, downtime {q['downtime_ms']} ms; "
          f"client silence {best} ms")
    out.append(f"migration_{k}_silence_ms={best}\nmigration_{k}_downtime_ms={q['downtime_ms']}")
late = sum(1 for s in range(max(0, sent - 1000), sent) if s in ans)
print(f"{sent} datagrams sent, {sent - len(ans)} lost; {late} of the last 1000 answered")
if len(sys.argv) > 3:
    with open(sys.argv[3], "w") as f:
        f.write("\n".join(out) + f"\nmigrations={len(migs)}\nlast_1000_answered={late}\n")
PY
