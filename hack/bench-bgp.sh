#!/usr/bin/env bash
# BGP's share of a migration's switchover: from the target node B adding the
# VM's route at the elevated metric (512) to the remote node C's kernel route
# changing to "via B metric 512", in the three-node iBGP setup of the e2e tests
# (test/e2e/lib: namespaces, a bridge, BIRD 1.6 on each node). Prints figures
# only, never pass/fail.
#
#   hack/bench-bgp.sh [--runs N] [--config rendered|snippet] [--quickack]
#
#   --config rendered  (default) each node runs the bird.cfg that
#                      `handoff-watcher render-bird` makes from
#                      test/e2e/bgp/ibgp.yaml (the Kubernetes case)
#   --config snippet   each node runs an operator's config with the filters of
#                      `handoff-watcher bird-snippet --ibgp` (the OpenStack case)
#   --quickack         set `quickack 1` on the nodes' route to the BGP segment
#                      (bird-notes: BIRD 1.6 does not set TCP_NODELAY)
#
# Timing (test/e2e/tool_bgp_switch_time.c): one process holds an rtnetlink
# socket in B's namespace and one in C's; a run goes from just before it sends
# B's route add to its wake-up on C's notification that the route now goes via
# B, so no process start-up is counted. Then B's route is deleted, C returns to
# A's route at 1024, and a 100-300 ms pause keeps runs off BGP's timers.
# tcpdump on C's interface (kernel timestamps, same clock) splits each run:
# B's side (BIRD on B learns the route from netlink, filters, sends the
# UPDATE; plus the wire) and C's side (BIRD on C parses, filters, picks the
# best path, programs the kernel).
#
# Uses build/ (hack/build.sh) unless HANDOFF_BUILD_DIR names a build dir.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
runs=50 config=rendered quickack=0
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=$2 && shift ;;
	--config) config=$2 && shift ;;
	--quickack) quickack=1 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d' && exit 0 ;;
	*) echo "bench-bgp: unknown argument $1" >&2 && exit 2 ;;
	esac
	shift
done
case "$config" in rendered | snippet) ;; *) echo "bench-bgp: --config rendered|snippet" >&2 && exit 2 ;; esac
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

topo_ibgp
case "$config" in
rendered)
	for n in a b c; do
		render_node "node-$n" "$TOPO_DIR/$n" "$top/test/e2e/bgp/ibgp.yaml"
	done
	;;
snippet)
	"$WATCHER" bird-snippet --ibgp >"$TOPO_DIR/snippet.txt" || die "bird-snippet --ibgp failed"
	ids=(a:10.99.0.1 b:10.99.0.2 c:10.99.0.3)
	for me in "${ids[@]}"; do
		peers=()
		for p in "${ids[@]}"; do
			[ "$p" = "$me" ] || peers+=("n_${p%%:*} ${p#*:} 64512")
		done
		operator_cfg "$TOPO_DIR/${me%%:*}/bird.cfg" "${me#*:}" 64512 "$TOPO_DIR/snippet.txt" \
			"${peers[@]}"
	done
	;;
esac
if [ "$quickack" = 1 ]; then
	for n in a b c; do
		ip -n "$(ns_of "$n")" route change 10.99.0.0/24 dev eth0 proto kernel scope link \
			src "$(ip -n "$(ns_of "$n")" -j addr show dev eth0 | jq -r '.[0].addr_info[0].local')" \
			quickack 1
	done
fi
for n in a b c; do bird_start "$n" "$TOPO_DIR/$n/bird.cfg"; done
for n in a b c; do
	# shellcheck disable=SC2046
	wait_established "$n" $(bgp_protocols "$n")
done

wl_route_add a "$VM_NET" 1024
wait_route c "$VM_NET" "via=10.99.0.1 metric=1024 proto=bird"

# Kernel timestamps of B's BGP segments as they reach C's interface.
ip netns exec "$(ns_of c)" tcpdump -i eth0 -n -l -tt --time-stamp-precision=micro \
	'tcp port 179 and src host 10.99.0.2' >"$TOPO_DIR/tcp-c.txt" 2>/dev/null &
MON_PIDS+=($!)
sleep 0.5 # the capture must be listening before the first change

log "bench-bgp: $runs runs, config $config, quickack $quickack"
"$HANDOFF_BUILD_DIR/test/e2e/bgp_switch_time" "$(ns_of b)" "$(ns_of c)" wl0 "$VM_NET" 512 \
	10.99.0.2 "$runs" >"$TOPO_DIR/runs" || die "bgp_switch_time failed"
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
echo "bench-bgp: iBGP mesh of 3 BIRD 1.6 nodes, config=$config quickack=$quickack runs=$runs"
stats 1 "B adds route -> C's route via B"
stats 2 "  B adds route -> UPDATE at C"
stats 3 "  UPDATE at C -> C's route"
stats 4 "  (B's kernel acks the add)"
if [ -n "${BENCH_SAMPLES:-}" ]; then cp "$TOPO_DIR/samples" "$BENCH_SAMPLES"; fi
