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

log "reload: a BGPFilter is added; C's bird.cfg is re-rendered and reloaded"
# C's sessions: name and state, and their TCP connections (a restarted
# session is a new connection). Not BIRD's "since" column: BIRD 1.6 prints it
# from two clocks, and two calls can read a second apart with no change.
c_sessions() {
	bctl c show protocols | awk '/^Mesh_/ { print $1, $4, $6 }'
	ip netns exec "$(ns_of c)" ss -Htn state established '( sport = :179 or dport = :179 )' |
		awk '{ print $3, $4 }' | sort
}
before=$(c_sessions)
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
# Same sessions on the same TCP connections: nothing was restarted.
after=$(c_sessions)
[ "$before" = "$after" ] || die "sessions changed across the reload:
$before
---
$after"
echo "$after" | grep -c Established | grep -qx 2 || die "C's sessions are not all Established"

scenario_overlap ibgp
log "PASS"
