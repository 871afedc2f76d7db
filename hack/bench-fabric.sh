#!/usr/bin/env bash
# A BGP fabric at scale: N nodes as network namespaces on one L2 segment,
# each running BIRD 1.6 on the bird.cfg `handoff-watcher render-bird` makes
# for it, as a full iBGP mesh (N <= --mesh-max) and with two route
# reflectors (two of the N nodes, one cluster; every other node a client of
# both). One node elevates a VM's /32 as handoff does on the VM's GARP (the
# kernel route at metric 512, protocol 88) while another node holds it at
# the normal 1024; timed until every other node's kernel routes it via the
# elevated node (test/e2e/tool_fabric_switch_time.c: one process, one
# rtnetlink socket per namespace, so no process start-up is counted). Prints
# figures only, never pass/fail:
#   per N and topology: sessions, time to establish them, the switch time of
#   the last node to switch (median, p99, max over the switches) and of the
#   median node, BIRD's RSS per node (median, max; reflectors apart) and the
#   reflectors' CPU per switch; then how the switch time grows with N.
#
#   hack/bench-fabric.sh [--sizes "10 50 100"] [--switches 20] [--mesh-max 50]
#                        [--budget-min 40]
#
# Bounded: every wait has a deadline (sessions: 60 s + 2 s per node; a
# switch: 10 s), and no new configuration starts after --budget-min minutes.
# Every namespace and BIRD is removed after its configuration and on any
# exit. Uses build/ (hack/build.sh) unless HANDOFF_BUILD_DIR names a build
# dir. Needs root, bird, jq.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
sizes="10 50 100" switches=20 mesh_max=50 budget_min=40
while [ $# -gt 0 ]; do
	case "$1" in
	--sizes) sizes=$2 && shift ;;
	--switches) switches=$2 && shift ;;
	--mesh-max) mesh_max=$2 && shift ;;
	--budget-min) budget_min=$2 && shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d' && exit 0 ;;
	*) echo "bench-fabric: unknown argument $1" >&2 && exit 2 ;;
	esac
	shift
done
for n in $sizes; do
	if [ "$n" -lt 4 ] || [ "$n" -gt 200 ]; then echo "bench-fabric: sizes are 4..200" >&2 && exit 2; fi
done
[ "$(id -u)" -eq 0 ] || exec sudo "$0" "$@"

if [ -z "${HANDOFF_BUILD_DIR:-}" ]; then
	HANDOFF_BUILD_DIR=$("$top/hack/build.sh")
fi
export HANDOFF_BUILD_DIR
# shellcheck source=../test/e2e/lib/topo.sh
. "$top/test/e2e/lib/topo.sh"
# shellcheck source=../test/e2e/lib/bgp.sh
. "$top/test/e2e/lib/bgp.sh"
TOOL=$HANDOFF_BUILD_DIR/test/e2e/fabric_switch_time
[ -x "$TOOL" ] || die "$TOOL not built"
[ -x "$WATCHER" ] || die "$WATCHER not built"
topo_init
# The kernel's IPv4 neighbour (ARP) table is one for all namespaces, and by
# default refuses entries past gc_thresh3 = 1024 (sendmsg: ENOBUFS; TCP
# sessions stall): a 50-node mesh alone needs 50 x 49. Raised for the run,
# restored on exit.
NEIGH_SAVED=()
for k in 1 2 3; do
	NEIGH_SAVED+=("$(sysctl -n "net.ipv4.neigh.default.gc_thresh$k")")
done
neigh_restore() {
	local k
	for k in 1 2 3; do
		sysctl -qw "net.ipv4.neigh.default.gc_thresh$k=${NEIGH_SAVED[$((k - 1))]}" || true
	done
}
bench_exit() {
	local status=$?
	neigh_restore
	(exit "$status")
	topo_cleanup
}
trap bench_exit EXIT
want=(4096 16384 32768)
for k in 1 2 3; do
	[ "${NEIGH_SAVED[$((k - 1))]}" -ge "${want[$((k - 1))]}" ] ||
		sysctl -qw "net.ipv4.neigh.default.gc_thresh$k=${want[$((k - 1))]}"
done
# BENCH_FABRIC_HOLD=SECONDS: on a failure, keep everything that long for a look.
if [ -n "${BENCH_FABRIC_HOLD:-}" ]; then
	die() {
		log "FAIL: $*; holding $BENCH_FABRIC_HOLD s (TOPO_DIR=$TOPO_DIR, namespaces hoe2e-$TOPO_ID-*)"
		sleep "$BENCH_FABRIC_HOLD"
		exit 1
	}
fi
start_s=$(date +%s)
RESULTS=$TOPO_DIR/results
: >"$RESULTS"

addr() { echo "10.96.0.$1"; }

# The resources of an N-node fabric, as an operator would write them.
fabric_yaml() {
	local n=$1 mode=$2 i
	cat <<EOF
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 64512, nodeToNodeMeshEnabled: $([ "$mode" = mesh ] && echo true || echo false)}
EOF
	if [ "$mode" = rr ]; then
		cat <<EOF
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: peer-with-route-reflectors}
spec: {nodeSelector: all(), peerSelector: route-reflector == 'true'}
EOF
	fi
	for i in $(seq 1 "$n"); do
		echo "---"
		echo "apiVersion: projectcalico.org/v3"
		echo "kind: Node"
		if [ "$mode" = rr ] && [ "$i" -le 2 ]; then
			echo "metadata: {name: n$i, labels: {route-reflector: 'true'}}"
			echo "spec: {bgp: {ipv4Address: $(addr "$i")/24, routeReflectorClusterID: 10.96.0.250}}"
		else
			echo "metadata: {name: n$i}"
			echo "spec: {bgp: {ipv4Address: $(addr "$i")/24}}"
		fi
	done
}

# Stop this configuration's BIRDs and delete its namespaces.
fabric_down() {
	local pidf ns
	for pidf in "$TOPO_DIR"/n*/bird.pid; do
		[ -f "$pidf" ] && kill "$(cat "$pidf")" 2>/dev/null
	done
	for _ in $(seq 1 200); do
		ls "$TOPO_DIR"/n*/bird.pid >/dev/null 2>&1 || break
		sleep 0.02
	done
	for ns in "${TOPO_NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
	TOPO_NS=()
	rm -rf "$TOPO_DIR"/n* "$TOPO_DIR"/fab
}

# How many of node i's BGP sessions are not Established.
sessions_down() {
	bctl "n$1" show protocols | awk '$2 == "BGP" && $6 != "Established" { d++ } END { print d + 0 }'
}

rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$(cat "$TOPO_DIR/n$1/bird.pid")/status"; }
# CPU time in ns (schedstat: finer than the 10 ms ticks of /proc/PID/stat).
cpu_ns() { awk '{ print $1 }' "/proc/$(cat "$TOPO_DIR/n$1/bird.pid")/schedstat"; }

# nearest-rank percentile P of the numbers on stdin
pct() { sort -n | awk -v p="$1" '{ v[NR] = $1 } END { i = int((NR * p + 99) / 100); if (i < 1) i = 1; printf "%.1f", v[i] }'; }

run_config() {
	local n=$1 mode=$2 i src=3 tgt=4 t0 t1 deadline down
	log "fabric: $mode, $n nodes"
	topo_fabric fab
	for i in $(seq 1 "$n"); do
		topo_node "n$i"
		topo_attach "n$i" fab "$(addr "$i")/24"
	done
	topo_workload "n$src"
	topo_workload "n$tgt"
	fabric_yaml "$n" "$mode" >"$TOPO_DIR/fabric.yaml"
	for i in $(seq 1 "$n"); do
		"$WATCHER" render-bird -f "$TOPO_DIR/fabric.yaml" --node "n$i" -o "$TOPO_DIR/n$i" \
			>/dev/null || die "render-bird n$i failed"
	done
	t0=$(date +%s%3N)
	for i in $(seq 1 "$n"); do bird_start "n$i" "$TOPO_DIR/n$i/bird.cfg"; done
	deadline=$((t0 + 60000 + 2000 * n))
	for i in $(seq 1 "$n"); do
		while down=$(sessions_down "$i") && [ "$down" -gt 0 ]; do
			if [ "$(date +%s%3N)" -gt "$deadline" ]; then
				local proto peer
				for proto in $(bctl "n$i" show protocols | awk '$2 == "BGP" && $6 != "Established" { print $1 }'); do
					bctl "n$i" show protocols all "$proto" >&2
					peer=${proto##*_}
					log "the other side, n$peer:"
					bctl "n$peer" show protocols all "$(echo "$proto" | sed "s/_$peer\$/_$i/")" >&2 || true
				done
				die "$mode/$n: n$i still has $down sessions down after $(((deadline - t0) / 1000)) s"
			fi
			sleep 0.2
		done
	done
	t1=$(date +%s%3N)
	local sessions
	sessions=$(for i in $(seq 1 "$n"); do bgp_protocols "n$i"; done | wc -l)
	sessions=$((sessions / 2))

	# The VM on its source node at normal priority, everywhere first.
	local observers=() obs_ns=()
	for i in $(seq 1 "$n"); do
		[ "$i" = "$tgt" ] || { observers+=("$i") && obs_ns+=("$(ns_of "n$i")"); }
	done
	wl_route_add "n$src" "$VM_NET" 1024
	for i in "${observers[@]}"; do
		[ "$i" = "$src" ] && continue
		wait_route "n$i" "$VM_NET" "via=$(addr "$src") metric=1024 proto=bird" 20000 ||
			die "$mode/$n: n$i never learned the VM's route"
	done

	local cpu0=() rr
	for rr in 1 2; do cpu0+=("$(cpu_ns "$rr")"); done
	"$TOOL" "$(ns_of "n$tgt")" wl0 "$VM_NET" 512 "$(addr "$tgt")" "$switches" "${obs_ns[@]}" \
		>"$TOPO_DIR/runs" || die "$mode/$n: fabric_switch_time failed"
	local cpu_ms=() k=0
	for rr in 1 2; do
		# per switch: the elevation and its withdrawal
		cpu_ms+=("$(awk -v a="${cpu0[$k]}" -v b="$(cpu_ns "$rr")" -v s="$switches" \
			'BEGIN { printf "%.2f", (b - a) / 1e6 / s }')")
		k=$((k + 1))
	done

	local rss_nodes rss_rr=""
	if [ "$mode" = rr ]; then
		rss_nodes=$(for i in $(seq 3 "$n"); do rss_kb "$i"; done)
		rss_rr="$(rss_kb 1)/$(rss_kb 2)"
	else
		rss_nodes=$(for i in $(seq 1 "$n"); do rss_kb "$i"; done)
	fi
	# mode n sessions establish_s last_med last_p99 last_max mid_med rss_med rss_max rss_rr cpu_rr
	printf '%s %s %s %.1f %s %s %s %s %s %s %s %s\n' "$mode" "$n" "$sessions" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1000 }')" \
		"$(awk '{ print $4 }' "$TOPO_DIR/runs" | pct 50)" \
		"$(awk '{ print $4 }' "$TOPO_DIR/runs" | pct 99)" \
		"$(awk '{ print $4 }' "$TOPO_DIR/runs" | pct 100)" \
		"$(awk '{ print $3 }' "$TOPO_DIR/runs" | pct 50)" \
		"$(echo "$rss_nodes" | pct 50)" "$(echo "$rss_nodes" | pct 100)" \
		"${rss_rr:--}" "$([ "$mode" = rr ] && echo "${cpu_ms[0]}/${cpu_ms[1]}" || echo -)" >>"$RESULTS"
	tail -n 1 "$RESULTS" >&2
	fabric_down
}

for n in $sizes; do
	for mode in mesh rr; do
		[ "$mode" = mesh ] && [ "$n" -gt "$mesh_max" ] && continue
		if [ $(($(date +%s) - start_s)) -gt $((budget_min * 60)) ]; then
			log "bench-fabric: over the ${budget_min}-minute budget; $mode/$n and later skipped"
			continue
		fi
		run_config "$n" "$mode"
	done
done

echo "bench-fabric: BIRD 1.6, $switches switches per row, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| topology | nodes | sessions | established in | last node switched: median / p99 / max | median node | BIRD RSS per node: median / max | reflectors' RSS | reflectors' CPU per switch |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
awk '{
	printf "| %s | %d | %d | %.1f s | %s / %s / %s ms | %s ms | %.1f / %.1f MiB | %s | %s |\n",
	       $1 == "rr" ? "2 route reflectors" : "full mesh", $2, $3, $4, $5, $6, $7, $8,
	       $9 / 1024, $10 / 1024,
	       $11 == "-" ? "-" : sprintf("%.1f / %.1f MiB", substr($11, 1, index($11, "/") - 1) / 1024,
	                                  substr($11, index($11, "/") + 1) / 1024),
	       $12 == "-" ? "-" : $12 " ms"
}' "$RESULTS"
echo
echo "Switch time (last node, median) against the smallest N of the same topology:"
awk '{ if (!($1 in base)) base[$1] = $5
       ratio = base[$1] > 0 ? $5 / base[$1] : 0
       printf "  %-5s N=%-4d %7.1f ms  x%.2f\n", $1, $2, $5, ratio }' "$RESULTS"
