#!/usr/bin/env bash
# (b) Two racks: every node peers eBGP with its rack's ToR (BIRD, AS 65001 and
# 65002, configured as seed 001 step 3 says); nodes run the bird.cfg that
# `handoff-watcher render-bird` makes from bgp/racks.yaml, which attaches
# seed 001's BGPFilter (community 65000:100 for priority 512) to the ToR
# peers. During the overlap C, in the other rack, must route the VM at 512
# towards B (through the ToRs), and A, the source, straight to B.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/topo.sh
. "$here/lib/topo.sh"
# shellcheck source=lib/bgp.sh
. "$here/lib/bgp.sh"

topo_init
[ -x "$WATCHER" ] || die "$WATCHER not built"
topo_racks
for n in a b c; do
	render_node "node-$n" "$TOPO_DIR/$n" "$here/bgp/racks.yaml"
done
tor_cfg "$TOPO_DIR/tor1/bird.cfg" 10.91.0.254 65001 \
	"n_a 10.91.0.1 64512" "n_b 10.91.0.2 64513" "tor2 10.90.0.2 65002"
tor_cfg "$TOPO_DIR/tor2/bird.cfg" 10.92.0.254 65002 "n_c 10.92.0.3 64514" "tor1 10.90.0.1 65001"
for n in a b c tor1 tor2; do bird_start "$n" "$TOPO_DIR/$n/bird.cfg"; done
wait_established tor1 n_a n_b tor2
wait_established tor2 n_c tor1
for n in a b c; do
	# shellcheck disable=SC2046
	wait_established "$n" $(bgp_protocols "$n")
done
scenario_overlap ebgp
log "PASS"
