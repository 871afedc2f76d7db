#!/usr/bin/env bash
# The live part of hack/demo.sh (see there). Root; HANDOFF_BUILD_DIR set.
#   live.sh [--results FILE] [--png FILE]
# Namespaces, daemons and files are removed on exit by topo.sh's cleanup,
# extended here with the watchers, the traffic and the route monitors.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
results= png=
while [ $# -gt 0 ]; do
	case "$1" in
	--results) results=${2:?} ;;
	--png) png=${2:?} ;;
	esac
	shift 2
done
# shellcheck source=../../test/e2e/lib/topo.sh
. "$top/test/e2e/lib/topo.sh"
# shellcheck source=../../test/e2e/lib/bgp.sh
. "$top/test/e2e/lib/bgp.sh" # bgp_protocols
# shellcheck source=../../test/e2e/lib/cluster.sh
. "$top/test/e2e/lib/cluster.sh" # ifname_of, until_ok, cl_put

VM_IP=10.65.0.10
VM_MAC=52:54:00:6b:0a:10 # the guest's MAC: the same on both nodes, as after a migration
HOST_MAC=ee:ee:ee:ee:ee:ee
SRC_POD=virt-launcher-vm1-aaaaa
DST_POD=virt-launcher-vm1-bbbbb
MIG_UID=6f1c7d2e-demo-4b1a-9c55-vm1migration
CONVERGENCE=5s
PROBE_INTERVAL=0.001 # udp_probe.py: one datagram a millisecond, echoed by the VM
PROBE_PORT=7
declare -A NODE_IP=([a]=10.99.0.1 [b]=10.99.0.2 [c]=10.99.0.3)
PIDS=() # background processes started here, stopped by demo_cleanup

demo_cleanup() {
	local status=$? p
	set +e
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	if [ "$status" -ne 0 ] && [ -n "$TOPO_DIR" ]; then
		for f in "$TOPO_DIR"/watcher-*.log; do
			[ -f "$f" ] && { echo "--- $f (last lines)"; tail -n 20 "$f"; } >&2
		done
		[ -s "$TOPO_DIR/wait.log" ] && { echo "--- waits"; tail -n 20 "$TOPO_DIR/wait.log"; } >&2
	fi
	(exit "$status")
	topo_cleanup
}

# step TEXT: a line of the demo's own actions, printed and kept for the timeline.
# $EPOCHREALTIME, not date: no fork between the switchover's two steps.
step() {
	local now=$EPOCHREALTIME
	printf '%s\tscript\t%s\n' "$now" "$*" >>"$TOPO_DIR/events.tsv"
	TZ=UTC printf '%(%H:%M:%S)T.%s  %s\n' "${now%.*}" "${now#*.}" "$*"
}

# vm_wire NODE VM POD: namespace VM holds the guest's eth0 (VM_IP/32, default
# via 169.254.1.1), wired by a veth to NODE as the pod's interface, which is
# set up as handoff's CNI does (link_setup_host_iface): MAC ee:ee:ee:ee:ee:ee,
# proxy ARP without delay, no reverse-path filter, forwarding.
vm_wire() {
	local node=$1 vm=$2 pod=$3 ifn nsn nsv
	ifn=$(ifname_of vms "$pod")
	topo_ns "$vm"
	nsn=$(ns_of "$node") nsv=$(ns_of "$vm")
	# A quiet guest: no IPv6 router solicitations or DAD on the wire.
	ip netns exec "$nsv" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$nsn" link add "$ifn" type veth peer name eth0 netns "$nsv"
	ip netns exec "$nsn" sysctl -qw "net.ipv6.conf.$ifn.disable_ipv6=1" \
		"net.ipv4.conf.$ifn.proxy_arp=1" "net.ipv4.neigh.$ifn.proxy_delay=0" \
		"net.ipv4.conf.$ifn.rp_filter=0" "net.ipv4.conf.$ifn.forwarding=1"
	ip -n "$nsn" link set "$ifn" address "$HOST_MAC" up
	ip -n "$nsv" link set eth0 address "$VM_MAC" up
	ip -n "$nsv" addr add "$VM_IP/32" dev eth0
	ip -n "$nsv" route add 169.254.1.1 dev eth0 scope link
	ip -n "$nsv" route add default via 169.254.1.1 dev eth0
}

# pod_yaml NODE POD [MIGRATION_UID]: a virt-launcher pod as the API server has it.
pod_yaml() {
	cat <<YAML
apiVersion: v1
kind: Pod
metadata:
  namespace: vms
  name: $2
  labels:
    vmi.kubevirt.io/id: vm1
    kubevirt.io/created-by: vm1${3:+
    kubevirt.io/migrationJobUID: $3}
spec: {nodeName: node-$1}
status: {phase: Running, podIP: $VM_IP, podIPs: [{ip: $VM_IP}]}
YAML
}

# http NODE PATH: ask NODE's watcher.
http() { ip netns exec "$(ns_of "$1")" curl -sf "http://127.0.0.1:9099$2"; }

# vm_sent_more VM N: the guest has sent more than N packets.
vm_sent_more() {
	local n
	n=$(ip -n "$(ns_of "$1")" -s -j link show eth0 | jq '.[0].stats64.tx.packets')
	[ "$n" -gt "$2" ]
}
# vm_echo VM: the guest echoes the demo's UDP traffic.
vm_echo() {
	ip netns exec "$(ns_of "$1")" python3 "$here/udp_probe.py" echo "$PROBE_PORT" \
		>"$TOPO_DIR/echo-$1.log" 2>&1 &
	PIDS+=($!)
	until_ok 5 "the echo service in $1" grep -q ready "$TOPO_DIR/echo-$1.log"
}
state_is() { grep -q "id=vms/$2 .*to=$3\$" "$TOPO_DIR/watcher-$1.log"; }

topo_init
trap demo_cleanup EXIT
[ -x "$WATCHER" ] || die "$WATCHER not built"
mkdir -p "$TOPO_DIR/ds"
: >"$TOPO_DIR/events.tsv"

echo "== building the cluster: 3 nodes in network namespaces, BIRD + handoff-watcher on each"
topo_fabric fabric
for n in a b c; do
	topo_node "$n"
	topo_attach "$n" fabric "${NODE_IP[$n]}/24"
	# Proxy ARP answers for the guest's gateway only where the node has a
	# route to it (bird-notes.md); real hosts have a default route.
	ip -n "$(ns_of "$n")" route add default via 10.99.0.254 dev eth0
done

cl_put felix.yaml <<YAML
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {liveMigrationRouteConvergenceTime: $CONVERGENCE}
YAML
{
	cat <<YAML
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 64512, nodeToNodeMeshEnabled: true}
YAML
	for n in a b c; do
		printf -- '---\napiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: node-%s}\nspec: {bgp: {ipv4Address: %s/24}}\n' \
			"$n" "${NODE_IP[$n]}"
	done
} | cl_put bgp.yaml

for n in a b c; do
	ip netns exec "$(ns_of "$n")" "$WATCHER" run --node "node-$n" --datastore "dir:$TOPO_DIR/ds" \
		--bird-dir "$TOPO_DIR/$n" --bird-socket "$(bird_sock "$n")" \
		--http 127.0.0.1:9099 --state-file "$TOPO_DIR/state-$n.json" >"$TOPO_DIR/watcher-$n.log" 2>&1 &
	PIDS+=($!)
done
for n in a b c; do
	until_ok 5 "node-$n's watcher to render bird.cfg" test -s "$TOPO_DIR/$n/bird.cfg"
	bird_start "$n" "$TOPO_DIR/$n/bird.cfg"
done
for n in a b c; do
	# shellcheck disable=SC2046
	wait_established "$n" $(bgp_protocols "$n")
	until_ok 5 "node-$n's watcher ready" http "$n" /readyz
done
step "cluster up: BIRD sessions Established, watchers ready"

echo "== the VM runs on node-a (pod vms/$SRC_POD)"
vm_wire a vm-src "$SRC_POD"
pod_yaml a "$SRC_POD" | cl_put pod-source.yaml
wait_route c "$VM_IP" "via=${NODE_IP[a]} metric=1024 proto=bird" 2>>"$TOPO_DIR/wait.log"
step "node-c routes the VM via node-a at 1024"

# Watch routes on every node, then the traffic.
for n in a b c; do
	ip -n "$(ns_of "$n")" -ts monitor route >"$TOPO_DIR/mon-$n.log" 2>&1 &
	PIDS+=($!)
done
vm_echo vm-src
ip netns exec "$(ns_of c)" python3 "$here/udp_probe.py" send "$VM_IP" "$PROBE_PORT" \
	"$PROBE_INTERVAL" 40 "$TOPO_DIR/probe.txt" >"$TOPO_DIR/probe.log" 2>&1 &
probe_pid=$!
PIDS+=("$probe_pid")
until_ok 5 "the traffic to start" grep -q ready "$TOPO_DIR/probe.log"
until_ok 5 "echoes from the VM" vm_sent_more vm-src 20
step "node-c sends the VM a numbered UDP datagram every ${PROBE_INTERVAL}s: node-a's VM echoes them"
sleep 1

echo "== the migration"
cl_put migration.yaml <<YAML
apiVersion: projectcalico.org/v3
kind: LiveMigration
metadata: {namespace: vms, name: kubevirt-migrate-vm1, uid: $MIG_UID}
spec:
  source:
    workload: {orchestratorID: k8s, workloadID: vms/$SRC_POD}
  target:
    selector: "(vmi.kubevirt.io/id == 'vm1' || vm.kubevirt.io/name == 'vm1') && kubevirt.io/migrationJobUID == '$MIG_UID'"
YAML
step "LiveMigration vms/kubevirt-migrate-vm1 written"
# The target pod: the guest is there but paused (it sends nothing) until
# the memory copy ends.
vm_wire b vm-dst "$DST_POD"
pod_yaml b "$DST_POD" "$MIG_UID" | cl_put pod-target.yaml
# The memory copy brings the guest's kernel along, with its neighbour entry
# for the gateway: valid on node-b too, the host MAC being the same.
ip -n "$(ns_of vm-dst)" neigh replace 169.254.1.1 lladdr "$HOST_MAC" dev eth0 nud stale
vm_echo vm-dst
step "target pod vms/$DST_POD on node-b, VM paused (memory being copied)"
# The guest's frames with the kernel's timestamps: when the GARP was on the wire.
ip netns exec "$(ns_of vm-dst)" tcpdump -n -tt -l -i eth0 arp >"$TOPO_DIR/garp.log" 2>&1 &
PIDS+=($!)
until_ok 5 "tcpdump on the target VM" grep -q "listening on" "$TOPO_DIR/garp.log"
# The guest's announcement, ready to go on cue (announce.py): no process
# start between pausing the source and the GARP.
mkfifo "$TOPO_DIR/cue"
ip netns exec "$(ns_of vm-dst)" python3 "$here/announce.py" eth0 "$VM_MAC" "$VM_IP" \
	<"$TOPO_DIR/cue" >"$TOPO_DIR/announce.log" 2>&1 &
announce_pid=$!
PIDS+=("$announce_pid")
exec 7<>"$TOPO_DIR/cue" # read-write: never blocks, even if the reader died
until_ok 5 "the target VM's announcer" grep -q ready "$TOPO_DIR/announce.log"
until_ok 5 "node-b: target pod in state Target" state_is b "$DST_POD" Target
wait_route b "$VM_IP" "via=${NODE_IP[a]} metric=1024 proto=bird" 2>>"$TOPO_DIR/wait.log"
step "node-b: pod is Target, its own route suppressed (node-b routes via node-a)"
sleep 1

# Switchover, as QEMU does it: the source stops, the target resumes and
# announces itself.
step "switchover: source VM paused (its link goes down)"
ip -n "$(ns_of vm-src)" link set eth0 down
step "target VM resumed: sends a gratuitous ARP"
echo go >&7
exec 7>&-
wait_route c "$VM_IP" "via=${NODE_IP[b]} metric=512 proto=bird" 2>>"$TOPO_DIR/wait.log"
step "node-c routes the VM via node-b at 512"
until_ok 5 "the target VM answering" vm_sent_more vm-dst 20
wait "$announce_pid" || die "the target VM's announcer failed: $(cat "$TOPO_DIR/announce.log")"
sleep 1

step "migration completed: source pod deleted"
rm "$TOPO_DIR/ds/pod-source.yaml"
ip -n "$(ns_of a)" link del "$(ifname_of vms "$SRC_POD")"
wait_route a "$VM_IP" "via=${NODE_IP[b]} metric=512 proto=bird" 2>>"$TOPO_DIR/wait.log"
step "node-a routes the VM via node-b at 512 (its own route gone)"
rm "$TOPO_DIR/ds/migration.yaml"
step "LiveMigration deleted: node-b holds 512 for the convergence time ($CONVERGENCE)"
wait_route c "$VM_IP" "via=${NODE_IP[b]} metric=1024 proto=bird" 8000 2>>"$TOPO_DIR/wait.log"
step "node-c routes the VM via node-b at 1024"
sleep 0.5

kill -INT "$probe_pid"
wait "$probe_pid" || die "the traffic sender failed: $(cat "$TOPO_DIR/probe.log")"
step "traffic stopped"
http b /metrics >"$TOPO_DIR/metrics-b.txt"
http b /migrations >"$TOPO_DIR/migrations-b.json"
routes_of c "$VM_IP" >"$TOPO_DIR/route-c-final.txt"
ip -n "$(ns_of vm-dst)" -s -j link show eth0 >"$TOPO_DIR/vm-dst-link.json"
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
PIDS=()

echo
# Debian's python3: the picture needs its python3-matplotlib.
/usr/bin/python3 "$here/report.py" "$TOPO_DIR" --vm "$VM_IP" --interval "$PROBE_INTERVAL" \
	--node-b "${NODE_IP[b]}" --node-a "${NODE_IP[a]}" ${results:+--results "$results"} \
	${png:+--png "$png"}
