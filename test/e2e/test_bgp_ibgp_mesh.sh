#!/usr/bin/env bash
# (a) Three nodes in one AS, node-to-node mesh, each running the bird.cfg that
# `handoff-watcher render-bird` makes from bgp/ibgp.yaml. A VM's /32 is on A
# at metric 1024 and then on B at 512 (a live migration's overlap): C's kernel
# must route it via B at 512; after A's route is deleted and B's goes back to
# 1024, via B at 1024 (seed 001: iBGP carries the priority in LOCAL_PREF).
# Before that, C's configuration changes while its sessions run: bird_reload()
# must have BIRD take it over the control socket without dropping a session.
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

# C's BGP sessions as TCP connections ("local peer", sorted): a session that
# goes down and comes back is a new connection (a new ephemeral port), so the
# same set before and after means no session went down. (BIRD's "since" times
# are no witness: right after establishment they can move by a second with
# no session lost.) Collision-detection leftovers close within moments.
bgp_conns() {
	ip netns exec "$(ns_of c)" ss -Htn state established '( sport = :179 or dport = :179 )' |
		awk '{print $3, $4}' | sort
}
for _ in $(seq 100); do
	[ "$(bgp_conns | wc -l)" -eq 2 ] && break
	sleep 0.1
done
[ "$(bgp_conns | wc -l)" -eq 2 ] || die "C does not have exactly 2 BGP connections:
$(bgp_conns)"

log "reload: a BGPFilter is added; C's bird.cfg is re-rendered and reloaded"
before=$(bgp_conns)
render_node node-c "$TOPO_DIR/c-new" "$here/bgp/ibgp.yaml" "$here/bgp/extra-filter.yaml"
grep -q "bgp_not-attached_exportFilterV4" "$TOPO_DIR/c-new/bird.cfg" ||
	die "the re-rendered bird.cfg lacks the new filter"
got=$("$BIRD_RELOAD" "$TOPO_DIR/c" bird.cfg "$TOPO_DIR/c-new/bird.cfg" "$(bird_sock c)")
[ "$got" = applied ] || die "bird_reload: '$got', not applied"
cmp -s "$TOPO_DIR/c/bird.cfg" "$TOPO_DIR/c-new/bird.cfg" || die "bird.cfg is not the new text"
bctl c show symbols function | grep -q "bgp_not-attached_exportFilterV4" ||
	die "BIRD on C does not run the new configuration"
got=$("$BIRD_RELOAD" "$TOPO_DIR/c" bird.cfg "$TOPO_DIR/c-new/bird.cfg" "$(bird_sock c)")
[ "$got" = unchanged ] || die "second bird_reload: '$got', not unchanged"
# The same TCP connections: no session was restarted by the reload.
after=$(bgp_conns)
[ "$before" = "$after" ] || die "a BGP session went down across the reload (connections):
$before
---
$after"
bctl c show protocols | grep Mesh_ | grep -c Established | grep -qx 2 ||
	die "C's sessions are not all Established"

scenario_overlap ibgp
log "PASS"
