#!/usr/bin/env bash
# BGP's share of a migration's switchover: from the target node B adding the
# VM's route at the elevated metric (512) to a remote node C's kernel route
# changing to the elevated route, in the e2e tests' namespaces (test/e2e/lib:
# bridges, veths, BIRD 1.6 on each node). Prints figures only, never
# pass/fail.
#
#   hack/bench-bgp.sh [--runs N] [--topology ibgp|racks]
#                     [--config rendered|snippet] [--quickack]
#
#   --topology ibgp    (default) A, B, C in one AS, full mesh on one segment;
#                      C's route goes via B
#   --topology racks   A, B behind tor1, C behind tor2, eBGP everywhere (test
#                      (b)); C's route goes via tor2, B's UPDATE crosses two ToRs
#   --config rendered  (default) nodes run the bird.cfg of `handoff-watcher
#                      render-bird` for test/e2e/bgp/{ibgp,racks}.yaml
#   --config snippet   nodes run an operator's config with the filters of
#                      `handoff-watcher bird-snippet` (--ibgp / --ebgp 65000:100)
#   --quickack         `quickack 1` on every BIRD's connected routes (bird-notes:
#                      BIRD 1.6 does not set TCP_NODELAY; a delayed ACK can
#                      hold a second small segment for ~40 ms)
#
# Timing (test/e2e/tool_bgp_switch_time.c): one process holds an rtnetlink
# socket in B's namespace and one in C's; a run goes from just before it sends
# B's route add to its wake-up on C's notification of the elevated route, so
# no process start-up is counted. Then B's route is deleted, C returns to A's
# route at 1024, and a 100-300 ms pause keeps runs off BGP's timers.
# tcpdump on C's interface (kernel timestamps, same clock) splits each run at
# the UPDATE's arrival: before it, BIRD on B (and the ToRs) learn, filter and
# send; after it, BIRD on C parses, filters, picks the best path and programs
# the kernel.
#
# Uses build/ (hack/build.sh) unless HANDOFF_BUILD_DIR names a build dir.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
runs=50 topology=ibgp config=rendered quickack=0
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=$2 && shift ;;
	--topology) topology=$2 && shift ;;
	--config) config=$2 && shift ;;
	--quickack) quickack=1 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d' && exit 0 ;;
	*) echo "bench-bgp: unknown argument $1" >&2 && exit 2 ;;
	esac
	shift
done
case "$config" in rendered | snippet) ;; *) echo "bench-bgp: --config rendered|snippet" >&2 && exit 2 ;; esac
case "$topology" in ibgp | racks) ;; *) echo "bench-bgp: --topology ibgp|racks" >&2 && exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || exec sudo "$0" "$@"

if [ -z "${HANDOFF_BUILD_DIR:-}" ]; then
	HANDOFF_BUILD_DIR=$("$top/hack/build.sh")
fi
export HANDOFF_BUILD_DIR
# shellcheck source=../test/e2e/lib/topo.sh
. "$top/test/e2e/lib/topo.sh"
# shellcheck source=../test/e2e/lib/bgp.sh
. "$top/test/e2e/lib/bgp.sh"
command -v tcpdump >/dev/null || die "tcpdump is not installed"

MON_PIDS=()
bench_cleanup() {
	local p
	for p in "${MON_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	topo_cleanup
}
topo_init
trap bench_cleanup EXIT

if [ "$topology" = ibgp ]; then
	topo_ibgp
	birds=(a b c)
	via_a=10.99.0.1 via_b=10.99.0.2 # C's next hops for A's and B's routes
	if [ "$config" = rendered ]; then
		for n in a b c; do render_node "node-$n" "$TOPO_DIR/$n" "$top/test/e2e/bgp/ibgp.yaml"; done
	else
		"$WATCHER" bird-snippet --ibgp >"$TOPO_DIR/snippet.txt" || die "bird-snippet failed"
		ids=(a:10.99.0.1 b:10.99.0.2 c:10.99.0.3)
		for me in "${ids[@]}"; do
			peers=()
			for p in "${ids[@]}"; do
				[ "$p" = "$me" ] || peers+=("n_${p%%:*} ${p#*:} 64512")
			done
			operator_cfg "$TOPO_DIR/${me%%:*}/bird.cfg" "${me#*:}" 64512 \
				"$TOPO_DIR/snippet.txt" "${peers[@]}"
		done
	fi
else
	topo_racks
	birds=(a b c tor1 tor2)
	via_a=10.92.0.254 via_b=10.92.0.254
	if [ "$config" = rendered ]; then
		for n in a b c; do render_node "node-$n" "$TOPO_DIR/$n" "$top/test/e2e/bgp/racks.yaml"; done
	else
		"$WATCHER" bird-snippet --ebgp 65000:100 >"$TOPO_DIR/snippet.txt" ||
			die "bird-snippet failed"
		operator_cfg "$TOPO_DIR/a/bird.cfg" 10.91.0.1 64512 "$TOPO_DIR/snippet.txt" "tor 10.91.0.254 65001"
		operator_cfg "$TOPO_DIR/b/bird.cfg" 10.91.0.2 64513 "$TOPO_DIR/snippet.txt" "tor 10.91.0.254 65001"
		operator_cfg "$TOPO_DIR/c/bird.cfg" 10.92.0.3 64514 "$TOPO_DIR/snippet.txt" "tor 10.92.0.254 65002"
	fi
	tor_cfg "$TOPO_DIR/tor1/bird.cfg" 10.91.0.254 65001 \
		"n_a 10.91.0.1 64512" "n_b 10.91.0.2 64513" "tor2 10.90.0.2 65002"
	tor_cfg "$TOPO_DIR/tor2/bird.cfg" 10.92.0.254 65002 "n_c 10.92.0.3 64514" "tor1 10.90.0.1 65001"
fi
if [ "$quickack" = 1 ]; then
	# Every connected route of every BIRD's namespace (the BGP sessions' paths).
	for n in "${birds[@]}"; do
		ip -n "$(ns_of "$n")" -j route show proto kernel scope link |
			jq -r '.[] | "\(.dst) \(.dev) \(.prefsrc)"' |
			while read -r dst dev src; do
				ip -n "$(ns_of "$n")" route change "$dst" dev "$dev" proto kernel \
					scope link src "$src" quickack 1
			done
		log "$n: $(ip -n "$(ns_of "$n")" route show proto kernel | grep -c quickack) connected routes with quickack 1"
	done
fi
for n in "${birds[@]}"; do bird_start "$n" "$TOPO_DIR/$n/bird.cfg"; done
for n in "${birds[@]}"; do
	# shellcheck disable=SC2046
	wait_established "$n" $(bgp_protocols "$n")
done

wl_route_add a "$VM_NET" 1024
wait_route c "$VM_NET" "via=$via_a metric=1024 proto=bird"

# Kernel timestamps of the BGP segments that reach C from its next hop.
ip netns exec "$(ns_of c)" tcpdump -i eth0 -n -l -tt --time-stamp-precision=micro \
	"tcp port 179 and src host $via_b" >"$TOPO_DIR/tcp-c.txt" 2>/dev/null &
MON_PIDS+=($!)
sleep 0.5 # the capture must be listening before the first change

log "bench-bgp: $runs runs, topology $topology, config $config, quickack $quickack"
"$HANDOFF_BUILD_DIR/test/e2e/bgp_switch_time" "$(ns_of b)" "$(ns_of c)" wl0 "$VM_NET" 512 \
	"$via_b" "$runs" >"$TOPO_DIR/runs" || die "bgp_switch_time failed"
sleep 0.2
for p in "${MON_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
MON_PIDS=()
sleep 0.1

# UPDATEs: segments with BGP payload larger than a KEEPALIVE (19 bytes).
awk '{ if (match($0, /length [0-9]+/) && substr($0, RSTART + 7, RLENGTH - 7) + 0 > 19) print $1 }' \
	"$TOPO_DIR/tcp-c.txt" >"$TOPO_DIR/updates"

# Per run: total, B's side (add -> first UPDATE after it on C's wire), C's side.
awk -v TU="$TOPO_DIR/updates" '
	BEGIN { while ((getline v < TU) > 0) tu[++k] = v; j = 1 }
	{
		t0 = $2; t2 = $2 + $4 / 1000
		while (j <= k && tu[j] < t0) j++
		u = (j <= k && tu[j] <= t2) ? tu[j] : -1
		printf "%.3f %.3f %.3f %.3f\n", $4, u < 0 ? -1 : (u - t0) * 1000,
		       u < 0 ? -1 : (t2 - u) * 1000, $3
	}' "$TOPO_DIR/runs" >"$TOPO_DIR/samples"

# stats COLUMN NAME: nearest-rank percentiles over the runs
stats() {
	awk -v c="$1" '$c >= 0 { print $c }' "$TOPO_DIR/samples" | sort -n | awk -v name="$2" '
		{ v[NR] = $1; s += $1 }
		END {
			if (NR == 0) { printf "%-34s no samples\n", name; exit }
			p50 = v[int((NR * 50 + 99) / 100)]; p90 = v[int((NR * 90 + 99) / 100)]
			p99 = v[int((NR * 99 + 99) / 100)]
			printf "%-34s n=%d  min %.3f  median %.3f  p90 %.3f  p99 %.3f  max %.3f ms\n",
			       name, NR, v[1], p50, p90, p99, v[NR]
		}'
}
echo "bench-bgp: BIRD 1.6, topology=$topology config=$config quickack=$quickack runs=$runs"
stats 1 "B adds route -> C's route at 512"
stats 2 "  B adds route -> UPDATE at C"
stats 3 "  UPDATE at C -> C's route"
stats 4 "  (B's kernel acks the add)"
if [ -n "${BENCH_SAMPLES:-}" ]; then cp "$TOPO_DIR/samples" "$BENCH_SAMPLES"; fi
