#!/usr/bin/env bash
# (c) The OpenStack case (seed 000): an operator runs BIRD with a config of
# their own and pastes in the filters printed by `handoff-watcher
# bird-snippet`. With those filters, iBGP (LOCAL_PREF) and eBGP through ToRs
# (community 65000:100) must carry the migration target's priority exactly
# as the rendered configs do: the same overlap scenario as tests (a) and (b).
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/topo.sh
. "$here/lib/topo.sh"
# shellcheck source=lib/bgp.sh
. "$here/lib/bgp.sh"

topo_init
[ -x "$WATCHER" ] || die "$WATCHER not built"

# --- iBGP: three nodes in AS 64512, full mesh ---
"$WATCHER" bird-snippet --ibgp >"$TOPO_DIR/snippet-ibgp.txt" || die "bird-snippet --ibgp failed"
grep -q 'filter export_kernel' "$TOPO_DIR/snippet-ibgp.txt" || die "no export_kernel filter in the snippet"
topo_ibgp
ids=(a:10.99.0.1 b:10.99.0.2 c:10.99.0.3)
for me in "${ids[@]}"; do
	peers=()
	for p in "${ids[@]}"; do
		[ "$p" = "$me" ] || peers+=("n_${p%%:*} ${p#*:} 64512")
	done
	operator_cfg "$TOPO_DIR/${me%%:*}/bird.cfg" "${me#*:}" 64512 "$TOPO_DIR/snippet-ibgp.txt" "${peers[@]}"
	bird_start "${me%%:*}" "$TOPO_DIR/${me%%:*}/bird.cfg"
done
wait_established a n_b n_c
wait_established b n_a n_c
wait_established c n_a n_b
scenario_overlap ibgp

# --- eBGP: two racks behind ToRs, community 65000:100 for priority 512 ---
# A fresh set of namespaces and daemons: stop the iBGP ones first.
for pidf in "$TOPO_DIR"/*/bird.pid; do kill "$(cat "$pidf")"; done
for i in $(seq 1 100); do
	ls "$TOPO_DIR"/*/bird.pid >/dev/null 2>&1 || break
	sleep 0.02
done
for ns in "${TOPO_NS[@]}"; do ip netns del "$ns"; done
TOPO_NS=()
rm -rf "${TOPO_DIR:?}"/{a,b,c,fabric}

"$WATCHER" bird-snippet --ebgp 65000:100 >"$TOPO_DIR/snippet-ebgp.txt" ||
	die "bird-snippet --ebgp failed"
grep -q '65000, 100' "$TOPO_DIR/snippet-ebgp.txt" || die "community (65000, 100) not in the snippet"
topo_racks
operator_cfg "$TOPO_DIR/a/bird.cfg" 10.91.0.1 64512 "$TOPO_DIR/snippet-ebgp.txt" "tor 10.91.0.254 65001"
operator_cfg "$TOPO_DIR/b/bird.cfg" 10.91.0.2 64513 "$TOPO_DIR/snippet-ebgp.txt" "tor 10.91.0.254 65001"
operator_cfg "$TOPO_DIR/c/bird.cfg" 10.92.0.3 64514 "$TOPO_DIR/snippet-ebgp.txt" "tor 10.92.0.254 65002"
tor_cfg "$TOPO_DIR/tor1/bird.cfg" 10.91.0.254 65001 \
	"n_a 10.91.0.1 64512" "n_b 10.91.0.2 64513" "tor2 10.90.0.2 65002"
tor_cfg "$TOPO_DIR/tor2/bird.cfg" 10.92.0.254 65002 "n_c 10.92.0.3 64514" "tor1 10.90.0.1 65001"
for n in a b c tor1 tor2; do bird_start "$n" "$TOPO_DIR/$n/bird.cfg"; done
wait_established tor1 n_a n_b tor2
wait_established tor2 n_c tor1
scenario_overlap ebgp
log "PASS"
