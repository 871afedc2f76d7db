#!/usr/bin/env bash
# (a) Three nodes in one AS, node-to-node mesh, each running the bird.cfg that
# `handoff-watcher render-bird` makes from bgp/ibgp.yaml. A VM's /32 is on A
# at metric 1024 and then on B at 512 (a live migration's overlap): C's kernel
# must route it via B at 512; after A's route is deleted and B's goes back to
# 1024, via B at 1024 (seed 001: iBGP carries the priority in LOCAL_PREF).
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/topo.sh
. "$here/lib/topo.sh"
# shellcheck source=lib/bgp.sh
. "$here/lib/bgp.sh"

topo_init
[ -x "$WATCHER" ] || die "$WATCHER not built"
topo_ibgp
for n in a b c; do
	render_node "node-$n" "$TOPO_DIR/$n" "$here/bgp/ibgp.yaml"
	bird_start "$n" "$TOPO_DIR/$n/bird.cfg"
done
for n in a b c; do
	# shellcheck disable=SC2046
	wait_established "$n" $(bgp_protocols "$n")
done
scenario_overlap ibgp
log "PASS"
