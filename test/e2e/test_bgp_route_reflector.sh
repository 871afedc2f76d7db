#!/usr/bin/env bash
# Route reflectors (issue 12): two reflectors rr1, rr2 (one cluster) and
# clients a, b, c in one AS, no mesh, each BIRD running the bird.cfg that
# `handoff-watcher render-bird` makes from bgp/rr.yaml. Clients have no
# session with each other, so everything C learns from B is reflected.
#  1. The reflectors' sessions to clients are `rr client` with the cluster id
#     (BIRD says so), to each other not.
#  2. The VM on A at 1024, then on B at 512 (a live migration's overlap): C
#     and A route via B at 512. LOCAL_PREF crosses the reflectors, so the
#     elevated path wins over A's normal one; after A's route goes and B's
#     drops to 1024, via B at 1024.
#  3. The switch time through the reflectors, then (same namespaces, the
#     configuration reloaded to a full mesh) without: printed, never judged.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/topo.sh
. "$here/lib/topo.sh"
# shellcheck source=lib/bgp.sh
. "$here/lib/bgp.sh"

RUNS=${HANDOFF_RR_RUNS:-10}
topo_init
[ -x "$WATCHER" ] || die "$WATCHER not built"
topo_fabric fabric
declare -A NAME=([rr1]=rr-1 [rr2]=rr-2 [a]=node-a [b]=node-b [c]=node-c)
declare -A ADDR=([rr1]=10.98.0.1 [rr2]=10.98.0.2 [a]=10.98.0.11 [b]=10.98.0.12 [c]=10.98.0.13)
NODES=(rr1 rr2 a b c)
for n in "${NODES[@]}"; do
	topo_node "$n"
	topo_attach "$n" fabric "${ADDR[$n]}/24"
	topo_workload "$n"
	render_node "${NAME[$n]}" "$TOPO_DIR/$n" "$here/bgp/rr.yaml"
done
for n in a b c; do
	[ "$(bgp_protocols "$n" | tr '\n' ' ')" = "Node_10_98_0_1 Node_10_98_0_2 " ] ||
		die "$n should peer with the two reflectors only, has: $(bgp_protocols "$n")"
done
for n in "${NODES[@]}"; do bird_start "$n" "$TOPO_DIR/$n/bird.cfg"; done
for n in "${NODES[@]}"; do
	# shellcheck disable=SC2046
	wait_established "$n" $(bgp_protocols "$n")
done

log "1: BIRD runs the reflector sessions as rr client, cluster 10.98.0.100"
for r in rr1 rr2; do
	for c in 11 12 13; do
		bctl "$r" show protocols all "Node_10_98_0_$c" | grep -q "Session:.* route-reflector" ||
			die "$r: Node_10_98_0_$c is not a route reflector client"
	done
	other=$([ "$r" = rr1 ] && echo 2 || echo 1)
	bctl "$r" show protocols all "Node_10_98_0_$other" | grep -q "Session:.* route-reflector" &&
		die "$r: the other reflector must not be its client"
done
grep -q "rr cluster id 10.98.0.100;" "$TOPO_DIR/rr1/bird.cfg" || die "rr1: no rr cluster id"

log "2: the overlap, through the reflectors"
wl_route_add a "$VM_NET" 1024
wait_route c "$VM_NET" "via=10.98.0.11 metric=1024 proto=bird"
wl_route_add b "$VM_NET" 512
wait_route c "$VM_NET" "via=10.98.0.12 metric=512 proto=bird"
wait_route a "$VM_NET" "via=10.98.0.12 metric=512 proto=bird
dev=wl0 metric=1024 proto=88"
# C heard B's route from both reflectors, LOCAL_PREF intact on each.
n=$(bctl c show route "$VM_NET" all | grep -c "BGP.local_pref: 2147483135") || true
[ "$n" -ge 2 ] || die "C does not hold B's elevated route from both reflectors ($n)"
wl_route_del a "$VM_NET" 1024
wait_route c "$VM_NET" "via=10.98.0.12 metric=512 proto=bird"
wl_route_add b "$VM_NET" 1024
wl_route_del b "$VM_NET" 512
wait_route c "$VM_NET" "via=10.98.0.12 metric=1024 proto=bird"
wl_route_del b "$VM_NET" 1024
wait_route c "$VM_NET" ""

# switch_times LABEL: RUNS switches of B's elevated route as C sees it, A
# holding the VM at normal priority.
switch_times() {
	wl_route_add a "$VM_NET" 1024
	wait_route c "$VM_NET" "via=10.98.0.11 metric=1024 proto=bird"
	"$HANDOFF_BUILD_DIR/test/e2e/bgp_switch_time" "$(ns_of b)" "$(ns_of c)" wl0 "$VM_NET" 512 \
		10.98.0.12 "$RUNS" >"$TOPO_DIR/runs-$1" || die "$1: bgp_switch_time failed"
	wl_route_del a "$VM_NET" 1024
	sort -n -k4 "$TOPO_DIR/runs-$1" | awk -v l="$1" '{ v[NR] = $4 } END {
		printf "switch time %-18s n=%d  min %.1f  median %.1f  max %.1f ms\n",
		       l, NR, v[1], v[int((NR + 1) / 2)], v[NR] }'
}
log "3: switch times (printed; the machine may be loaded)"
switch_times "route reflectors"
sed -e 's/nodeToNodeMeshEnabled: false/nodeToNodeMeshEnabled: true/' \
	-e '/routeReflectorClusterID/d' "$here/bgp/rr.yaml" >"$TOPO_DIR/mesh.yaml"
for n in "${NODES[@]}"; do
	render_node "${NAME[$n]}" "$TOPO_DIR/$n-mesh" "$TOPO_DIR/mesh.yaml"
	got=$("$BIRD_RELOAD" "$TOPO_DIR/$n" bird.cfg "$TOPO_DIR/$n-mesh/bird.cfg" "$(bird_sock "$n")")
	[ "$got" = applied ] || die "$n: mesh configuration not applied ($got)"
done
for n in "${NODES[@]}"; do
	# shellcheck disable=SC2046
	wait_established "$n" $(bgp_protocols "$n")
done
bgp_protocols c | grep -qx Mesh_10_98_0_12 || die "C has no mesh session with B"
switch_times "full mesh"
log "PASS"
