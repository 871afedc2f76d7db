# cluster.sh - a small handoff cluster in network namespaces, for the
# migration scenarios (test/e2e/test_scenarios_*.sh). Source after topo.sh
# and bgp.sh. Each node runs real BIRD and bird6 and its own
# `handoff-watcher run`, all following one datastore folder (Pods,
# LiveMigrations, BGP and Felix resources as the API server would hold them).
# A VM is a namespace whose eth0 is wired to a node as the pod's interface
# would be by handoff-cni; it echoes UDP probes and announces itself with a
# QEMU-style RARP. No traffic leaves the namespaces made here.
#
#   cl_up ibgp|ebgp                 the fabric, nodes a b c, watchers, BIRDs
#   cl_vm VM NODE POD V4 V6         VM's NIC on NODE as pod vms/POD (V4/V6 may be -)
#   cl_vm_pause POD                 the VM in POD stops (NIC down)
#   cl_vm_gone NODE POD             POD's VM quit: the pod's link on NODE goes
#   cl_pod NODE POD VMID V4 V6 [UID] write pod vms/POD (UID: a migration target)
#   cl_lm NAME UID SRC_POD VMID      write LiveMigration vms/NAME
#   cl_del FILE                      delete a datastore object (pod-POD, lm-NAME, ...)
#   cl_announce VM POD               the VM resumed in POD: QEMU's RARP
#   cl_probe_start TAG FROM ADDR     numbered UDP probes, 1 ms apart, FROM a node
#   cl_probe_check TAG               stop TAG; assert traffic flows at the end
#   cl_state NODE POD STATE          until NODE's watcher logs POD entering STATE
#   cl_watcher_start/stop NODE [SIG] (re)start NODE's watcher, stop it with SIG
#   via NODE TARGET_NODE             the next hop NODE uses toward TARGET_NODE
#
# Timing: the convergence time is CL_CONVERGENCE (2 s) unless a scenario
# changes the FelixConfiguration; waits poll and have generous limits, so a
# loaded machine is slower, never wrong.

CL_CONVERGENCE=${CL_CONVERGENCE:-2s}
CL_HOST_MAC=ee:ee:ee:ee:ee:ee
CL_GW6=fe80::ecee:eeff:feee:eeee # EUI-64 link-local of the host MAC
CL_PROBE_PORT=7
CL_MODE=
CL_PIDS=()
declare -A CL_IP4 CL_IP6 CL_VM_MAC CL_PROBE_PID CL_WATCHER_PID
CL_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CL_TOP=$(cd "$CL_HERE/../../.." && pwd)
CL_SEND_RARP=${HANDOFF_BUILD_DIR:-.}/test/netns/tool_send_rarp

cl_cleanup() {
	local status=$? p f
	set +e
	for p in "${CL_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${CL_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	if [ "$status" -ne 0 ] && [ -n "$TOPO_DIR" ]; then
		for f in "$TOPO_DIR"/watcher-*.log; do
			[ -f "$f" ] && { echo "--- $f (last lines)"; tail -n 25 "$f"; } >&2
		done
	fi
	(exit "$status")
	topo_cleanup
}

# put FILE: stdin becomes FILE in the datastore folder in one rename.
cl_put() {
	cat >"$TOPO_DIR/ds/.$1.tmp"
	mv "$TOPO_DIR/ds/.$1.tmp" "$TOPO_DIR/ds/$1"
}
cl_del() { rm -f "$TOPO_DIR/ds/$1.yaml"; }

# ifname_of NAMESPACE POD: the host-side interface name handoff-cni and the
# watcher derive from the pod (endpoint_ifname: "ho" + 48 bits of FNV-1a 64).
ifname_of() {
	python3 -c "
h=0xcbf29ce484222325
for c in b'$1.$2':
    h^=c; h=(h*0x100000001b3)&0xffffffffffffffff
print('ho%012x'%(h&0xffffffffffff))"
}

bird6_sock() { echo "$TOPO_DIR/$1/bird6.ctl"; }

# bird6_start NODE CFG: bird6 in NODE (pid file beside bird.pid, so topo_cleanup's
# glob stops it too).
bird6_start() {
	local node=$1 cfg=$2
	bird6 -p -c "$cfg" || die "$node: $cfg does not parse"
	mkdir -p "$TOPO_DIR/$node-v6"
	ip netns exec "$(ns_of "$node")" bird6 -c "$cfg" -s "$(bird6_sock "$node")" \
		-P "$TOPO_DIR/$node-v6/bird.pid"
	for _ in $(seq 1 100); do
		"$BIRD_CTL" "$(bird6_sock "$node")" show status >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	die "$node: bird6 did not answer on its control socket"
}

# until_ok SECONDS DESCRIPTION COMMAND...: poll every 20 ms.
until_ok() {
	local n=$(($1 * 50)) what=$2
	shift 2
	for _ in $(seq "$n"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	die "timed out after $n polls waiting for: $what"
}

cl_http() { ip netns exec "$(ns_of "$1")" curl -sf "http://127.0.0.1:9099$2"; }

# via NODE TARGET: NODE's next hop toward TARGET's workloads. In the mesh it
# is the target itself; through the ToRs a node in the other rack uses its
# ToR, one in the same rack the target (a BGP speaker keeps a next hop on the
# shared segment).
via() {
	if [ "$CL_MODE" = ibgp ] || [ "$1" != c ]; then
		echo "${CL_IP4[$2]}"
	else
		echo 10.92.0.254
	fi
}
via6() { echo "${CL_IP6[$1]}"; }

cl_resources_ibgp() {
	local n
	cat <<YAML
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 64512, nodeToNodeMeshEnabled: true}
YAML
	for n in a b c; do
		printf -- '---\napiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: node-%s}\n' "$n"
		printf 'spec: {bgp: {ipv4Address: %s/24, ipv6Address: %s/64}}\n' "${CL_IP4[$n]}" "${CL_IP6[$n]}"
	done
}

cl_up() {
	CL_MODE=$1
	local n
	[ -x "$WATCHER" ] || die "$WATCHER not built"
	[ -x "$CL_SEND_RARP" ] || die "$CL_SEND_RARP not built"
	command -v bird6 >/dev/null || die "bird6 (BIRD 1.6) is not installed"
	trap cl_cleanup EXIT
	mkdir -p "$TOPO_DIR/ds"
	if [ "$CL_MODE" = ibgp ]; then
		CL_IP4=([a]=10.99.0.1 [b]=10.99.0.2 [c]=10.99.0.3)
		CL_IP6=([a]=fd00:99::1 [b]=fd00:99::2 [c]=fd00:99::3)
		topo_fabric fabric
		for n in a b c; do
			topo_node "$n"
			topo_attach "$n" fabric "${CL_IP4[$n]}/24"
			ip -n "$(ns_of "$n")" addr add "${CL_IP6[$n]}/64" dev eth0 nodad
			# Proxy ARP answers for the guest's gateway only where the node
			# has a route to it (bird-notes.md); real hosts have a default.
			ip -n "$(ns_of "$n")" route add default via 10.99.0.254 dev eth0
		done
		cl_resources_ibgp | cl_put bgp.yaml
	else
		CL_IP4=([a]=10.91.0.1 [b]=10.91.0.2 [c]=10.92.0.3)
		topo_racks
		for n in a b c; do
			ip -n "$(ns_of "$n")" link del wl0 # topo_racks' hand-made workload link
		done
		ip -n "$(ns_of a)" route add default via 10.91.0.254
		ip -n "$(ns_of b)" route add default via 10.91.0.254
		ip -n "$(ns_of c)" route add default via 10.92.0.254
		# The racks' own subnets, for the probes' return path (the ToRs'
		# BIRDs carry only what the nodes announce).
		ip -n "$(ns_of tor1)" route add 10.92.0.0/24 via 10.90.0.2
		ip -n "$(ns_of tor2)" route add 10.91.0.0/24 via 10.90.0.1
		# The seed-001 BGPFilter and the ToR peers, as CRD objects.
		cl_put bgp.yaml <"$CL_TOP/test/e2e/bgp/racks.yaml"
		tor_cfg "$TOPO_DIR/tor1/bird.cfg" 10.91.0.254 65001 \
			"n_a 10.91.0.1 64512" "n_b 10.91.0.2 64513" "tor2 10.90.0.2 65002"
		tor_cfg "$TOPO_DIR/tor2/bird.cfg" 10.92.0.254 65002 "n_c 10.92.0.3 64514" "tor1 10.90.0.1 65001"
		bird_start tor1 "$TOPO_DIR/tor1/bird.cfg"
		bird_start tor2 "$TOPO_DIR/tor2/bird.cfg"
	fi
	for n in a b c; do
		ip netns exec "$(ns_of "$n")" sysctl -qw net.ipv6.conf.all.forwarding=1
	done
	cl_felix
	for n in a b c; do cl_watcher_start "$n"; done
	for n in a b c; do
		until_ok 10 "node-$n's watcher to render bird.cfg" test -s "$TOPO_DIR/$n/bird.cfg"
		bird_start "$n" "$TOPO_DIR/$n/bird.cfg"
		if [ "$CL_MODE" = ibgp ]; then
			until_ok 10 "node-$n's watcher to render bird6.cfg" test -s "$TOPO_DIR/$n/bird6.cfg"
			bird6_start "$n" "$TOPO_DIR/$n/bird6.cfg"
		fi
	done
	for n in a b c; do
		# shellcheck disable=SC2046
		wait_established "$n" $(bgp_protocols "$n")
		until_ok 10 "node-$n's watcher ready" cl_http "$n" /readyz
	done
	if [ "$CL_MODE" = ibgp ]; then
		for n in a b c; do
			# shellcheck disable=SC2046
			wait6_established "$n" $(sed -n 's/^protocol bgp \([^ ]*\).*/\1/p' "$TOPO_DIR/$n/bird6.cfg")
		done
	fi
	log "cluster up ($CL_MODE): BIRD sessions Established, watchers ready"
}

# cl_watcher_start NODE: NODE's handoff-watcher (its log appended to, so a
# restarted watcher's lines follow the old ones; its own state file).
cl_watcher_start() {
	local n=$1
	ip netns exec "$(ns_of "$n")" "$WATCHER" run --node "node-$n" \
		--datastore "dir:$TOPO_DIR/ds" --bird-dir "$TOPO_DIR/$n" \
		--bird-socket "$(bird_sock "$n")" --bird6-socket "$(bird6_sock "$n")" \
		--http 127.0.0.1:9099 --state-file "$TOPO_DIR/$n/state.json" \
		>>"$TOPO_DIR/watcher-$n.log" 2>&1 &
	CL_WATCHER_PID[$n]=$!
	CL_PIDS+=($!)
}

# cl_watcher_stop NODE SIGNAL: stop NODE's watcher as a rollout (TERM) or a
# crash (KILL) does, and wait until it is gone.
cl_watcher_stop() {
	kill -"$2" "${CL_WATCHER_PID[$1]}"
	wait "${CL_WATCHER_PID[$1]}" 2>/dev/null || true
}

wait6_established() {
	local node=$1 p
	shift
	for p in "$@"; do
		for _ in $(seq 1 400); do
			"$BIRD_CTL" "$(bird6_sock "$node")" show protocols "$p" | grep -q Established && continue 2
			sleep 0.05
		done
		die "$node: bird6 session $p not Established after 20 s"
	done
}

# cl_felix [EXTRA_SPEC]: the cluster's FelixConfiguration default.
cl_felix() {
	cl_put felix.yaml <<YAML
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {liveMigrationRouteConvergenceTime: $CL_CONVERGENCE${1:+, $1}}
YAML
}

# cl_vm VM NODE POD V4 V6: VM's NIC on NODE, as handoff-cni wires a pod's
# interface (link_setup_host_iface): host side MAC ee:ee:ee:ee:ee:ee, proxy
# ARP without delay, no reverse-path filter, forwarding. The guest keeps its
# MAC and addresses on every node; its gateway is 169.254.1.1 / the host
# side's link-local address, the same everywhere.
cl_vm() {
	local vm=$1 node=$2 pod=$3 v4=$4 v6=$5 ifn nsn nsv
	ifn=$(ifname_of vms "$pod")
	topo_ns "$pod"
	nsn=$(ns_of "$node") nsv=$(ns_of "$pod")
	[ -n "${CL_VM_MAC[$vm]:-}" ] || CL_VM_MAC[$vm]=$(printf '52:54:00:%02x:%02x:%02x' $((RANDOM % 256)) $((RANDOM % 256)) $((RANDOM % 256)))
	ip netns exec "$nsv" sysctl -qw net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.accept_ra=0
	ip -n "$nsn" link add "$ifn" type veth peer name eth0 netns "$nsv"
	ip netns exec "$nsn" sysctl -qw "net.ipv4.conf.$ifn.proxy_arp=1" \
		"net.ipv4.neigh.$ifn.proxy_delay=0" "net.ipv4.conf.$ifn.rp_filter=0" \
		"net.ipv4.conf.$ifn.forwarding=1" "net.ipv6.conf.$ifn.accept_ra=0" \
		"net.ipv6.conf.$ifn.accept_dad=0"
	ip -n "$nsn" link set "$ifn" address "$CL_HOST_MAC" up
	ip -n "$nsv" link set eth0 address "${CL_VM_MAC[$vm]}" up
	if [ "$v4" != - ]; then
		ip -n "$nsv" addr add "$v4/32" dev eth0
		ip -n "$nsv" route add 169.254.1.1 dev eth0 scope link
		ip -n "$nsv" route add default via 169.254.1.1 dev eth0
	fi
	if [ "$v6" != - ]; then
		ip -n "$nsv" addr add "$v6/128" dev eth0 nodad
		ip -n "$nsv" -6 route add default via "$CL_GW6" dev eth0
	fi
	ip netns exec "$nsv" python3 "$CL_TOP/hack/demo/udp_probe.py" echo "$CL_PROBE_PORT" \
		>"$TOPO_DIR/echo-$pod.log" 2>&1 &
	CL_PIDS+=($!)
	until_ok 5 "the echo service of $vm in pod $pod" grep -q ready "$TOPO_DIR/echo-$pod.log"
}

# cl_vm_pause POD: the VM in POD stops (its NIC sends and takes nothing).
cl_vm_pause() { ip -n "$(ns_of "$1")" link set eth0 down; }
# cl_vm_gone NODE POD: POD's VM process quit: the pod's link on NODE goes.
cl_vm_gone() {
	ip -n "$(ns_of "$1")" link del "$(ifname_of vms "$2")" 2>/dev/null || true
}

# cl_pod NODE POD VMID V4 V6 [MIGRATION_UID]: a virt-launcher pod as the API
# server has it; with a uid, the migration target KubeVirt creates.
cl_pod() {
	local node=$1 pod=$2 vmid=$3 v4=$4 v6=$5 uid=${6:-} ips=
	[ "$v4" != - ] && ips="{ip: $v4}"
	[ "$v6" != - ] && ips="${ips:+$ips, }{ip: $v6}"
	cl_put "pod-$pod.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  namespace: vms
  name: $pod
  labels:
    kubevirt.io: virt-launcher
    vmi.kubevirt.io/id: $vmid
    vm.kubevirt.io/name: $vmid${uid:+
    kubevirt.io/migrationJobUID: $uid}
spec: {nodeName: node-$node}
status: {phase: Running, podIPs: [$ips]}
YAML
}

# cl_lm NAME UID SRC_POD VMID: the LiveMigration KubeVirt's controller writes
# (the target named by the selector of seed 003).
cl_lm() {
	cl_put "lm-$1.yaml" <<YAML
apiVersion: projectcalico.org/v3
kind: LiveMigration
metadata: {namespace: vms, name: $1, uid: $2}
spec:
  source:
    workload: {orchestratorID: k8s, workloadID: vms/$3}
  target:
    selector: "(vmi.kubevirt.io/id == '$4' || vm.kubevirt.io/name == '$4') && kubevirt.io/migrationJobUID == '$2'"
YAML
}

# cl_announce VM POD: VM resumed in POD: QEMU's RARP from the guest's MAC.
cl_announce() {
	ip netns exec "$(ns_of "$2")" "$CL_SEND_RARP" eth0 "${CL_VM_MAC[$1]}" >/dev/null ||
		die "could not send $1's RARP in pod $2"
}

# cl_state NODE POD STATE: NODE's watcher logged POD's transition to STATE.
cl_state() {
	until_ok 10 "node-$1: $2 in state $3" \
		grep -q "id=vms/$2 .*to=$3\$" "$TOPO_DIR/watcher-$1.log"
}
# cl_target NODE POD: POD on NODE is in Target and listening for the VM's
# announcement. The state is logged when decided, the capture opens when the
# plan is applied right after: a harness that announces in between (a loaded
# machine, an ASan build) would test a race KubeVirt never runs, since a real
# target VM is still being migrated at that point.
cl_target() {
	cl_state "$1" "$2" Target
	until_ok 10 "node-$1: capture on $2" \
		grep -q "msg=\"GARP/RARP capture started\" .*endpoint=vms/$2\$" "$TOPO_DIR/watcher-$1.log"
}
# cl_transitions NODE POD: the transitions NODE logged for POD, "from>input>to,...".
cl_transitions() {
	sed -n "s/.*msg=\"Live migration state transition\" from=\([A-Za-z]*\) id=vms\/$2 input=\([A-Za-z]*\) .*to=\([A-Za-z]*\)\$/\1>\2>\3/p" \
		"$TOPO_DIR/watcher-$1.log" | paste -sd, -
}

# cl_probe_start TAG FROM ADDR: numbered UDP probes to ADDR, one a ms, from
# node FROM (at most CL_PROBE_MAX seconds, default 120).
cl_probe_start() {
	local tag=$1 from=$2 addr=$3
	ip netns exec "$(ns_of "$from")" python3 "$CL_TOP/hack/demo/udp_probe.py" send "$addr" \
		"$CL_PROBE_PORT" 0.001 "${CL_PROBE_MAX:-120}" "$TOPO_DIR/probe-$tag.txt" >"$TOPO_DIR/probe-$tag.log" 2>&1 &
	CL_PROBE_PID[$tag]=$!
	CL_PIDS+=($!)
	until_ok 5 "probes $tag to start" grep -q ready "$TOPO_DIR/probe-$tag.log"
}

# cl_probe_check TAG [MAX_LOST]: stop the probes; the last 300 must all but a
# few have been answered (traffic flows at the end), and at most MAX_LOST lost
# in all (default: no bound). Prints the longest gap between answered probes.
cl_probe_check() {
	local tag=$1 max=${2:-} out
	kill -INT "${CL_PROBE_PID[$tag]}"
	wait "${CL_PROBE_PID[$tag]}" || die "probes $tag failed: $(cat "$TOPO_DIR/probe-$tag.log")"
	out=$(python3 - "$TOPO_DIR/probe-$tag.txt" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
sent = int(lines[0].split()[1])
got = sorted({int(l.split()[0]) for l in lines[1:] if l.strip()})
last = sum(1 for s in got if s >= sent - 300)
gap, prev = 0, None
for s in got:
    if prev is not None:
        gap = max(gap, s - prev - 1)
    prev = s
print(sent, sent - len(got), last, gap)
PY
)
	read -r sent lost last gap <<<"$out"
	log "probes $tag: $sent sent, $lost lost, longest gap $gap probes (~$gap ms), $last of the last 300 answered"
	[ "$sent" -gt 300 ] || die "probes $tag: only $sent sent"
	[ "$last" -ge 290 ] || die "probes $tag: only $last of the last 300 answered: traffic did not resume"
	if [ -n "$max" ] && [ "$lost" -gt "$max" ]; then
		die "probes $tag: $lost lost, more than $max"
	fi
}

# vm_tx POD: packets the VM's NIC in POD has sent.
vm_tx() { ip -n "$(ns_of "$1")" -s -j link show eth0 | jq '.[0].stats64.tx.packets'; }
