#!/usr/bin/env bash
# A real guest live-migrated host-a -> host-b -> host-a between two BIRD-routed
# hypervisors without Kubernetes (issue 14), the way an OpenStack compute
# node has it:
#   - QEMU itself makes the guest's tap in the host's namespace (-netdev tap,
#     libvirt's name tapXXXXXXXX-XX, script=no: nobody else touches it);
#   - each host's watcher follows its own datastore folder, into which the
#     hypervisor's tooling writes projectcalico.org/v3 WorkloadEndpoints (one
#     per host the port is bound on) and the LiveMigration networking-calico
#     writes for a moving port (source and target by WorkloadEndpoint
#     identifier, the host part of the identity);
#   - BIRD and bird6 on every host, an iBGP mesh; host-c probes the guest
#     with a numbered UDP datagram every millisecond throughout.
# The guest's ARP cache is never touched: its entry for the gateway
# 169.254.1.1, learnt on host-a, must keep working on host-b and back (the
# gateway MAC is the same on every host). Checked: the tap is adopted
# whether it appears after its endpoint object (migration targets) or
# before it (the first boot), with the gateway MAC, proxy ARP and rp_filter
# off; each migration's routes step by step; the transition log and
# /migrations name the workload endpoint and the migration; the guest's
# gateway entry keeps the gateway MAC and never fails; the client's longest
# silence stays under 2 s; the guest is healthy after each move.
set -euo pipefail
top=${HANDOFF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
e2e=$top/test/e2e
# shellcheck source=lib/topo.sh
. "$e2e/lib/topo.sh"
# shellcheck source=lib/bgp.sh
. "$e2e/lib/bgp.sh"
# shellcheck source=lib/cluster.sh
. "$e2e/lib/cluster.sh"
# shellcheck source=lib/scenarios.sh
. "$e2e/lib/scenarios.sh"
# shellcheck source=lib/guest.sh
. "$e2e/lib/guest.sh"

guest=${HANDOFF_GUEST_DIR:-/var/tmp/handoff-vm-guest}
"$top/hack/vm/build-guest.sh" "$guest"
QMP=$top/hack/vm/qmp.py

NS=openstack INST=4c1d3b9e-7f20-4e55-9a61-2b7d0c3e8f11
PORT=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
TAP=tap${PORT:0:11} # libvirt's name for the port's tap: tap0a1b2c3d-4e
V4=10.65.0.70 MAC=fa:16:3e:12:34:70 GWMAC=ee:ee:ee:ee:ee:ee
declare -A QEMU_PID MARK

wep_name() { echo "host-$1-openstack-$INST-$PORT"; }
wep_key() { echo "$NS/$(wep_name "$1")"; }

# hv_put HOST FILE: stdin becomes FILE in HOST's datastore folder (one rename).
hv_put() {
	cat >"$TOPO_DIR/ds-$1/.$2.tmp"
	mv "$TOPO_DIR/ds-$1/.$2.tmp" "$TOPO_DIR/ds-$1/$2"
}
# Every host's agent mirrors the same objects into its folder.
hv_put_all() {
	local text n
	text=$(cat)
	for n in a b c; do hv_put "$n" "$1" <<<"$text"; done
}
hv_del_all() { rm -f "$TOPO_DIR"/ds-{a,b,c}/"$1"; }

# wep_put HOST: the port's WorkloadEndpoint bound on HOST.
wep_put() {
	hv_put_all "wep-$1.yaml" <<YAML
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  namespace: $NS
  name: $(wep_name "$1")
  labels: {projectcalico.org/orchestrator: openstack}
spec:
  node: host-$1
  orchestrator: openstack
  workload: $INST
  endpoint: $PORT
  interfaceName: $TAP
  mac: $MAC
  ipNetworks: [$V4/32]
  profiles: [openstack-sg-default]
YAML
}

# lm_put UID FROM TO: networking-calico's LiveMigration for the port.
lm_put() {
	hv_put_all lm.yaml <<YAML
apiVersion: projectcalico.org/v3
kind: LiveMigration
metadata: {namespace: $NS, name: port-$PORT, uid: $1}
spec:
  source:
    workloadEndpoint: {hostname: host-$2, orchestratorID: openstack, workloadID: $NS/$INST, endpointID: $PORT}
  target:
    workloadEndpoint: {hostname: host-$3, orchestratorID: openstack, workloadID: $NS/$INST, endpointID: $PORT}
YAML
}

hv_resources() {
	local n
	cat <<YAML
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 64512, nodeToNodeMeshEnabled: true}
---
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {liveMigrationRouteConvergenceTime: 2s}
YAML
	for n in a b c; do
		printf -- '---\napiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: host-%s}\n' "$n"
		printf 'spec: {bgp: {ipv4Address: %s/24, ipv6Address: %s/64}}\n' "${CL_IP4[$n]}" "${CL_IP6[$n]}"
	done
}

# Three hosts on one segment, each with its own folder, watcher, BIRD, bird6.
hv_up() {
	local n
	CL_MODE=ibgp
	CL_IP4=([a]=10.99.0.1 [b]=10.99.0.2 [c]=10.99.0.3)
	CL_IP6=([a]=fd00:99::1 [b]=fd00:99::2 [c]=fd00:99::3)
	trap cl_cleanup EXIT
	topo_fabric fabric
	for n in a b c; do
		topo_node "$n"
		topo_attach "$n" fabric "${CL_IP4[$n]}/24"
		ip -n "$(ns_of "$n")" addr add "${CL_IP6[$n]}/64" dev eth0 nodad
		# Proxy ARP answers for the gateway only with a route to it.
		ip -n "$(ns_of "$n")" route add default via 10.99.0.254 dev eth0
		ip netns exec "$(ns_of "$n")" sysctl -qw net.ipv6.conf.all.forwarding=1
		mkdir -p "$TOPO_DIR/ds-$n"
	done
	hv_resources | hv_put_all bgp.yaml
	for n in a b c; do
		# HV_GATEWAY_MAC_B (a control run by hand): host-b presents another
		# gateway MAC, and the guest's cached entry goes wrong after the move.
		ip netns exec "$(ns_of "$n")" "$WATCHER" run --node "host-$n" \
			${HV_GATEWAY_MAC_B:+$([ "$n" = b ] && echo --gateway-mac "$HV_GATEWAY_MAC_B")} \
			--datastore "dir:$TOPO_DIR/ds-$n" --bird-dir "$TOPO_DIR/$n" \
			--bird-socket "$(bird_sock "$n")" --bird6-socket "$(bird6_sock "$n")" \
			--http 127.0.0.1:9099 --state-file "$TOPO_DIR/$n/state.json" >"$TOPO_DIR/watcher-$n.log" 2>&1 &
		CL_PIDS+=($!)
	done
	for n in a b c; do
		until_ok 10 "host-$n's watcher to render BIRD's files" test -s "$TOPO_DIR/$n/bird6.cfg"
		bird_start "$n" "$TOPO_DIR/$n/bird.cfg"
		bird6_start "$n" "$TOPO_DIR/$n/bird6.cfg"
	done
	for n in a b c; do
		# shellcheck disable=SC2046
		wait_established "$n" $(bgp_protocols "$n")
		until_ok 10 "host-$n's watcher ready" cl_http "$n" /readyz
	done
	log "hypervisors up: BIRD sessions Established, watchers ready"
}

# qemu_start HOST K [INCOMING]: the guest's QEMU K in HOST's namespace; QEMU
# creates the tap itself and leaves it as it is (script=no).
qemu_start() {
	guest_qemu "$(ns_of "$1")" "$TOPO_DIR/qemu-$2" "$TAP" "${3:-}"
	QEMU_PID[$2]=$GUEST_PID
}
qmp() { guest_qmp "$TOPO_DIR/qemu-$1" "${@:2}"; }

# The tap on HOST is prepared as the gateway of a routed guest.
tap_adopted() {
	local ns mac flags
	ns=$(ns_of "$1")
	mac=$(ip -n "$ns" -j link show "$TAP" | jq -r '.[0].address')
	flags=$(ip -n "$ns" -j link show "$TAP" | jq -r '.[0].flags | join(",")')
	[ "$mac" = "$(if [ "$1" = b ]; then echo "${HV_GATEWAY_MAC_B:-$GWMAC}"; else echo "$GWMAC"; fi)" ] && [[ ",$flags," == *,UP,* ]] &&
		[ "$(ip netns exec "$ns" sysctl -n "net.ipv4.conf.$TAP.proxy_arp")" = 1 ] &&
		[ "$(ip netns exec "$ns" sysctl -n "net.ipv4.neigh.$TAP.proxy_delay")" = 0 ] &&
		[ "$(ip netns exec "$ns" sysctl -n "net.ipv4.conf.$TAP.rp_filter")" = 0 ]
}

# hv_state HOST STATE: HOST's watcher logged the port's endpoint on HOST
# entering STATE since the current migration began, with the migration's uid.
hv_state() {
	local log=$TOPO_DIR/watcher-$1.log
	until_ok 15 "host-$1: $(wep_key "$1") in state $2" \
		sh -c "tail -n +${MARK[$1]:-1} '$log' | grep -q 'id=$(wep_key "$1") .*to=$2\$'"
}

# gw_check K: the guest's gateway neighbour entries its heartbeat printed in
# QEMU K's console; the entry must exist, carry the gateway MAC and never be
# FAILED or INCOMPLETE (an ARP-resolution stall).
gw_check() {
	local log=$TOPO_DIR/qemu-$1/serial.log bad
	grep -q "^guest: alive .* gw=169.254.1.1 .*lladdr $GWMAC" "$log" ||
		die "QEMU $1: the guest's heartbeat shows no gateway entry with $GWMAC: $(grep '^guest: alive' "$log" | tail -n 2)"
	bad=$(grep '^guest: alive' "$log" | grep -v "gw=169.254.1.1 .*lladdr $GWMAC" | grep -v 'gw=$' || true)
	[ -z "$bad" ] || die "QEMU $1: the guest's gateway entry changed: $bad"
	if grep -qE 'gw=.*(FAILED|INCOMPLETE)' "$log"; then
		die "QEMU $1: the guest had to resolve its gateway again"
	fi
}

# guest_healthy K: QEMU K runs the guest, its heartbeat advances, no kernel
# error on its console, it answers, its gateway entry held.
guest_healthy() {
	local log=$TOPO_DIR/qemu-$1/serial.log
	guest_alive "$TOPO_DIR/qemu-$1"
	gw_check "$1"
	log "guest healthy in QEMU $1: heartbeat $GUEST_BEATS, answering, gateway entry $(grep '^guest: alive' "$log" | tail -n 1 | sed 's/.*gw=//')"
}

# migrate FROM TO K: Nova's live migration of the guest, the network's view.
migrate() {
	local from=$1 to=$2 k=$3 prev=$4 uid=nova-mig-$3 r n
	for n in a b c; do MARK[$n]=$(($(wc -l <"$TOPO_DIR/watcher-$n.log") + 1)); done
	# Neutron binds the port on the target too; networking-calico writes the
	# LiveMigration; the target endpoint exists before its tap.
	lm_put "$uid" "$from" "$to"
	wep_put "$to"
	hv_state "$to" Target
	wait_route "$to" "$V4" "$(bgp "$to" "$from" 1024)"
	qemu_start "$to" "$k" "unix:$TOPO_DIR/qemu-$k/migrate.sock"
	until_ok 10 "host-$to to adopt the tap QEMU made after its endpoint" tap_adopted "$to"
	until_ok 10 "the incoming QEMU's socket" test -S "$TOPO_DIR/qemu-$k/migrate.sock"
	r=$(qmp "$prev" migrate "unix:$TOPO_DIR/qemu-$k/migrate.sock") || die "QEMU's migration $k failed"
	log "migration $k (host-$from -> host-$to): QEMU $r"
	hv_state "$to" Live
	wait_route c "$V4" "$(bgp c "$to" 512)"
	# The transition log and /migrations name the endpoint and the migration.
	grep -q "id=$(wep_key "$to") input=[A-Za-z]* migrationUid=$uid to=Live\$" "$TOPO_DIR/watcher-$to.log" ||
		die "host-$to's transition log lacks $(wep_key "$to") going Live in $uid"
	cl_http "$to" /migrations | jq -e --arg u "$uid" --arg e "$(wep_key "$to")" \
		'.[$u][$e] | .role == "TARGET" and ([.transitions[].to] | index("Live") != null)' >/dev/null ||
		die "host-$to's /migrations lacks $uid / $(wep_key "$to") live: $(cl_http "$to" /migrations)"
	cl_http "$from" /migrations | jq -e --arg u "$uid" --arg e "$(wep_key "$from")" \
		'.[$u][$e].role == "SOURCE"' >/dev/null ||
		die "host-$from's /migrations lacks $uid / $(wep_key "$from") as SOURCE: $(cl_http "$from" /migrations)"
	# The source QEMU has handed over and quits (its tap goes with it);
	# Neutron unbinds the port from the source; the migration is done.
	qmp "$prev" quit
	wait "${QEMU_PID[$prev]}" 2>/dev/null || true
	hv_del_all "wep-$from.yaml"
	wait_route "$from" "$V4" "$(bgp "$from" "$to" 512)"
	hv_del_all lm.yaml
	hv_state "$to" TimeWait
	wait_route c "$V4" "$(bgp c "$to" 1024)" 10000
	guest_healthy "$k"
}

topo_init
hv_up
echo "== the guest boots on host-a; its tap exists before its endpoint object"
MARK[a]=1
qemu_start a 0
until_ok 10 "QEMU to create $TAP on host-a" ip -n "$(ns_of a)" link show "$TAP"
wep_put a
until_ok 10 "host-a to adopt the tap that was there first" tap_adopted a
grep -q "Adopted hypervisor interface.* interface=$TAP id=$(wep_key a) " "$TOPO_DIR/watcher-a.log" ||
	die "host-a did not log the adoption of $TAP for $(wep_key a)"
wait_route a "$V4" "dev=$TAP metric=1024 proto=88"
wait_route c "$V4" "$(bgp c a 1024)"
guest_wait 60 "the guest to boot and answer"
cl_probe_start vm c "$V4"
sleep 0.5

migrate a b 1 0
migrate b a 2 1
cl_probe_check vm
gap=$(python3 - "$TOPO_DIR/probe-vm.txt" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
got = sorted({int(l.split()[0]) for l in lines[1:] if l.strip()})
print(max((b - a - 1 for a, b in zip(got, got[1:])), default=0))
PY
)
[ "$gap" -lt 2000 ] || die "the client's longest silence was $gap ms: the guest stalled after a move"
# Every console, before and after each move, shows the same gateway entry.
for k in 0 1 2; do gw_check "$k"; done
echo "PASS: guest migrated host-a -> host-b -> host-a on QEMU-made taps; longest client silence $gap ms; gateway entry kept ($GWMAC)"
