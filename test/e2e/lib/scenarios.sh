# scenarios.sh - the live-migration scenarios, run on a cluster made by
# cluster.sh (source topo.sh, bgp.sh and cluster.sh first). Each scenario has
# its own VM, addresses, pods and LiveMigration, so scenarios sharing one
# fabric never see each other's routes; they run one after another. Every
# scenario asserts the route sequence on a remote node (c) and on the source
# node, and, with probes, that traffic resumes via the target.
#
# Expected routes are written as routes_of prints them (topo.sh):
#   own NODE POD M       NODE's own workload route to POD's interface, metric M
#   bgp NODE TARGET M    NODE's BGP-learned route toward TARGET's node, metric M

own() { echo "dev=$(ifname_of vms "$2") metric=$3 proto=88"; }
bgp() { echo "via=$(via "$1" "$2") metric=$3 proto=bird"; }
bgp6() { echo "via=$(via6 "$2") metric=$3 proto=bird"; }
# Two lines, lowest metric first (routes_of's order).
both() { printf '%s\n%s' "$1" "$2"; }

# A VM running on NODE as pod POD (its route at 1024 everywhere).
vm_start() {
	local vm=$1 node=$2 pod=$3 v4=$4 v6=$5
	cl_vm "$vm" "$node" "$pod" "$v4" "$v6"
	cl_pod "$node" "$pod" "$vm" "$v4" "$v6"
	[ "$v4" = - ] || wait_route c "$v4" "$(bgp c "$node" 1024)"
	[ "$v6" = - ] || wait_route c "$v6" "$(bgp6 c "$node" 1024)"
}

# KubeVirt's steps up to the switchover: LiveMigration, then the target pod
# (VM paused: it sends nothing). The target's route is suppressed: it keeps
# routing via the source.
migration_prepare() {
	local vm=$1 from=$2 to=$3 spod=$4 tpod=$5 uid=$6 v4=$7 v6=$8
	cl_lm "mig-$vm-$uid" "$uid" "$spod" "$vm"
	cl_vm "$vm" "$to" "$tpod" "$v4" "$v6"
	cl_pod "$to" "$tpod" "$vm" "$v4" "$v6" "$uid"
	cl_target "$to" "$tpod"
	[ "$v4" = - ] || wait_route "$to" "$v4" "$(bgp "$to" "$from" 1024)"
	[ "$v6" = - ] || wait_route "$to" "$v6" "$(bgp6 "$to" "$from" 1024)"
}

# The switchover as QEMU does it: the source VM stops, the target resumes
# and announces itself; the target's route comes up elevated.
switchover() {
	local vm=$1 from=$2 to=$3 spod=$4 tpod=$5 v4=$6 v6=$7
	cl_vm_pause "$spod"
	cl_announce "$vm" "$tpod"
	cl_state "$to" "$tpod" Live
	[ "$v4" = - ] || wait_route c "$v4" "$(bgp c "$to" 512)"
	[ "$v6" = - ] || wait_route c "$v6" "$(bgp6 c "$to" 512)"
}

# KubeVirt's completion: source pod deleted (and its link), LiveMigration
# deleted; the target holds 512 for the convergence time, then 1024.
complete() {
	local vm=$1 from=$2 to=$3 spod=$4 tpod=$5 uid=$6 v4=$7 v6=$8
	cl_del "pod-$spod"
	cl_vm_gone "$from" "$spod"
	[ "$v4" = - ] || wait_route "$from" "$v4" "$(bgp "$from" "$to" 512)"
	[ "$v6" = - ] || wait_route "$from" "$v6" "$(bgp6 "$from" "$to" 512)"
	cl_del "lm-mig-$vm-$uid"
	cl_state "$to" "$tpod" TimeWait
	[ "$v4" = - ] || wait_route c "$v4" "$(bgp c "$to" 1024)" 10000
	[ "$v6" = - ] || wait_route c "$v6" "$(bgp6 c "$to" 1024)" 10000
	[ "$v4" = - ] || wait_route "$to" "$v4" "$(own "$to" "$tpod" 1024)"
	[ "$v4" = - ] || wait_route "$from" "$v4" "$(bgp "$from" "$to" 1024)"
	[ "$v6" = - ] || wait_route "$from" "$v6" "$(bgp6 "$from" "$to" 1024)"
}

want_transitions() {
	local got
	got=$(cl_transitions "$1" "$2")
	[ "$got" = "$3" ] || die "node-$1's transitions for $2: '$got', want '$3'"
}

CLEAN="Base>Target>Target,Target>GARPDetected>Live,Live>NoRole>TimeWait,TimeWait>TimerPop>Base"

# 1/10 clean migration a -> b, probes from c (remote) and from a (the source
# node's own traffic after the VM left it: 14).
scenario_clean() {
	local vm=$1 v4=$2 v6=${3:--}
	log "== scenario clean ($vm, $CL_MODE): a -> b"
	vm_start "$vm" a "$vm-a" "$v4" "$v6"
	cl_probe_start "$vm-c" c "$v4"
	cl_probe_start "$vm-a" a "$v4"
	migration_prepare "$vm" a b "$vm-a" "$vm-b" "u-$vm" "$v4" "$v6"
	wait_route c "$v4" "$(bgp c a 1024)"
	switchover "$vm" a b "$vm-a" "$vm-b" "$v4" "$v6"
	# The source still has its pod: its own traffic follows the VM (B.5).
	wait_route a "$v4" "$(both "$(bgp a b 512)" "$(own a "$vm-a" 1024)")"
	wait_route b "$v4" "$(own b "$vm-b" 512)"
	sleep 0.5
	complete "$vm" a b "$vm-a" "$vm-b" "u-$vm" "$v4" "$v6"
	cl_probe_check "$vm-c" 2000
	cl_probe_check "$vm-a" 2000
	want_transitions b "$vm-b" "$CLEAN"
	[ -z "$(cl_transitions a "$vm-a")" ] || die "the source node changed state: $(cl_transitions a "$vm-a")"
}

# 2: the VM never announces itself. The migration's end (LiveMigration
# deleted) moves Target to TimeWait with the elevated route: the traffic
# follows, late.
scenario_garp_missed() {
	local vm=$1 v4=$2
	log "== scenario GARP missed ($vm): a -> b, no announcement"
	vm_start "$vm" a "$vm-a" "$v4" -
	migration_prepare "$vm" a b "$vm-a" "$vm-b" "u-$vm" "$v4" -
	cl_probe_start "$vm" c "$v4"
	cl_vm_pause "$vm-a"
	sleep 0.3
	wait_route b "$v4" "$(bgp b a 1024)"
	cl_del "lm-mig-$vm-u-$vm"
	cl_state b "$vm-b" TimeWait
	wait_route c "$v4" "$(bgp c b 512)"
	wait_route b "$v4" "$(own b "$vm-b" 512)"
	cl_del "pod-$vm-a"
	cl_vm_gone a "$vm-a"
	wait_route a "$v4" "$(bgp a b 512)"
	wait_route c "$v4" "$(bgp c b 1024)" 10000
	cl_probe_check "$vm"
	want_transitions b "$vm-b" "Base>Target>Target,Target>NoRole>TimeWait,TimeWait>TimerPop>Base"
}

# 3: the migration fails: KubeVirt deletes the target pod and the
# LiveMigration stays for a while. Traffic never leaves the source.
scenario_failure() {
	local vm=$1 v4=$2
	log "== scenario failure ($vm): target pod deleted, LiveMigration kept"
	vm_start "$vm" a "$vm-a" "$v4" -
	cl_probe_start "$vm" c "$v4"
	migration_prepare "$vm" a b "$vm-a" "$vm-b" "u-$vm" "$v4" -
	cl_del "pod-$vm-b"
	cl_vm_gone b "$vm-b"
	cl_state b "$vm-b" Base
	sleep 0.5
	wait_route c "$v4" "$(bgp c a 1024)"
	wait_route a "$v4" "$(own a "$vm-a" 1024)"
	wait_route b "$v4" "$(bgp b a 1024)"
	cl_del "lm-mig-$vm-u-$vm"
	sleep 0.3
	wait_route c "$v4" "$(bgp c a 1024)"
	# The VM never stopped: not one probe may be lost.
	cl_probe_check "$vm" 0
	want_transitions b "$vm-b" "Base>Target>Target,Target>Deleted>Base"
}

# 4: migrated a -> b, then straight back b -> a while b is still in
# TimeWait: the new migration's source role ends b's TimeWait.
scenario_remigration() {
	local vm=$1 v4=$2
	log "== scenario re-migration ($vm): a -> b, then at once b -> a"
	vm_start "$vm" a "$vm-a" "$v4" -
	cl_probe_start "$vm" c "$v4"
	migration_prepare "$vm" a b "$vm-a" "$vm-b" "u1-$vm" "$v4" -
	switchover "$vm" a b "$vm-a" "$vm-b" "$v4" -
	cl_del "pod-$vm-a"
	cl_vm_gone a "$vm-a"
	cl_del "lm-mig-$vm-u1-$vm"
	cl_state b "$vm-b" TimeWait
	# Back to a, in b's TimeWait (convergence time not over).
	migration_prepare "$vm" b a "$vm-b" "$vm-a2" "u2-$vm" "$v4" -
	cl_state b "$vm-b" Base
	switchover "$vm" b a "$vm-b" "$vm-a2" "$v4" -
	complete "$vm" b a "$vm-b" "$vm-a2" "u2-$vm" "$v4" -
	cl_probe_check "$vm" 4000
	want_transitions b "$vm-b" "Base>Target>Target,Target>GARPDetected>Live,Live>NoRole>TimeWait,TimeWait>Source>Base"
	want_transitions a "$vm-a2" "$CLEAN"
}

# 5: KubeVirt created the target pod before the LiveMigration reached the
# node. Once the LiveMigration is there, the target is suppressed; the move
# then goes as usual.
scenario_target_first() {
	local vm=$1 v4=$2
	log "== scenario target pod before the LiveMigration ($vm)"
	vm_start "$vm" a "$vm-a" "$v4" -
	cl_vm "$vm" b "$vm-b" "$v4" -
	cl_pod b "$vm-b" "$vm" "$v4" - "u-$vm"
	sleep 0.5
	cl_lm "mig-$vm-u-$vm" "u-$vm" "$vm-a" "$vm"
	cl_target b "$vm-b"
	wait_route b "$v4" "$(bgp b a 1024)"
	wait_route c "$v4" "$(bgp c a 1024)"
	cl_probe_start "$vm" c "$v4"
	switchover "$vm" a b "$vm-a" "$vm-b" "$v4" -
	complete "$vm" a b "$vm-a" "$vm-b" "u-$vm" "$v4" -
	cl_probe_check "$vm" 2000
	want_transitions b "$vm-b" "$CLEAN"
}

# 6: the operator changes the elevated priority while the VM is Live: the
# target re-programs its route and every node follows.
scenario_priorities() {
	local vm=$1 v4=$2
	log "== scenario priorities changed while Live ($vm)"
	vm_start "$vm" a "$vm-a" "$v4" -
	migration_prepare "$vm" a b "$vm-a" "$vm-b" "u-$vm" "$v4" -
	switchover "$vm" a b "$vm-a" "$vm-b" "$v4" -
	cl_felix "ipv4ElevatedRoutePriority: 300"
	wait_route b "$v4" "$(own b "$vm-b" 300)"
	wait_route c "$v4" "$(bgp c b 300)"
	wait_route a "$v4" "$(both "$(bgp a b 300)" "$(own a "$vm-a" 1024)")"
	cl_felix
	wait_route c "$v4" "$(bgp c b 512)"
	complete "$vm" a b "$vm-a" "$vm-b" "u-$vm" "$v4" -
}

# 7/8: dual-stack and IPv6-only VMs (bird6 carries the /128).
scenario_v6() {
	local vm=$1 v4=$2 v6=$3
	log "== scenario IPv6 ($vm): v4 $v4, v6 $v6"
	vm_start "$vm" a "$vm-a" "$v4" "$v6"
	cl_probe_start "$vm" c "$v6"
	migration_prepare "$vm" a b "$vm-a" "$vm-b" "u-$vm" "$v4" "$v6"
	switchover "$vm" a b "$vm-a" "$vm-b" "$v4" "$v6"
	wait_route b "$v6" "$(own b "$vm-b" 512)"
	complete "$vm" a b "$vm-a" "$vm-b" "u-$vm" "$v4" "$v6"
	wait_route b "$v6" "$(own b "$vm-b" 1024)"
	cl_probe_check "$vm" 2000
	want_transitions b "$vm-b" "$CLEAN"
}

# 11: two migrations at once through one node, in opposite directions:
# VM1 a -> b while VM2 b -> a.
scenario_crossing() {
	local v1=$1 ip1=$2 v2=$3 ip2=$4
	log "== scenario two migrations crossing ($v1 a -> b, $v2 b -> a)"
	vm_start "$v1" a "$v1-a" "$ip1" -
	vm_start "$v2" b "$v2-b" "$ip2" -
	cl_probe_start "$v1" c "$ip1"
	cl_probe_start "$v2" c "$ip2"
	migration_prepare "$v1" a b "$v1-a" "$v1-b" "u-$v1" "$ip1" -
	migration_prepare "$v2" b a "$v2-b" "$v2-a" "u-$v2" "$ip2" -
	switchover "$v1" a b "$v1-a" "$v1-b" "$ip1" -
	switchover "$v2" b a "$v2-b" "$v2-a" "$ip2" -
	wait_route a "$ip1" "$(both "$(bgp a b 512)" "$(own a "$v1-a" 1024)")"
	wait_route b "$ip2" "$(both "$(bgp b a 512)" "$(own b "$v2-b" 1024)")"
	complete "$v1" a b "$v1-a" "$v1-b" "u-$v1" "$ip1" -
	complete "$v2" b a "$v2-b" "$v2-a" "u-$v2" "$ip2" -
	cl_probe_check "$v1" 2000
	cl_probe_check "$v2" 2000
	want_transitions b "$v1-b" "$CLEAN"
	want_transitions a "$v2-a" "$CLEAN"
}

# 15: aggregation. Nodes announce their IPAM blocks as aggregates, not the
# /32s beneath. A VM from a's block moves to b: its elevated /32 bypasses the
# aggregation (longest prefix wins on every node), and it stays reachable via
# b once the elevation ends, while a still announces the block.
scenario_aggregation() {
	local vm=$1 v4=$2 block=$3
	log "== scenario aggregation ($vm $v4 from a's block $block)"
	wait_route c "$block" "$(bgp c a 1024)"
	vm_start_aggregated "$vm" "$v4"
	cl_probe_start "$vm" c "$v4"
	migration_prepare_aggregated "$vm" "$v4"
	switchover "$vm" a b "$vm-a" "$vm-b" "$v4" -
	cl_del "pod-$vm-a"
	cl_vm_gone a "$vm-a"
	wait_route a "$v4" "$(bgp a b 512)"
	cl_del "lm-mig-$vm-u-$vm"
	cl_state b "$vm-b" TimeWait
	wait_route c "$v4" "$(bgp c b 1024)" 10000
	wait_route c "$block" "$(bgp c a 1024)"
	cl_probe_check "$vm" 2000
	want_transitions b "$vm-b" "$CLEAN"
}

# On a, inside its block: the /32 is not announced (c reaches it through
# the aggregate), and a routes it itself.
vm_start_aggregated() {
	local vm=$1 v4=$2
	cl_vm "$vm" a "$vm-a" "$v4" -
	cl_pod a "$vm-a" "$vm" "$v4" -
	wait_route a "$v4" "$(own a "$vm-a" 1024)"
	sleep 0.5
	wait_route c "$v4" ""
}
migration_prepare_aggregated() {
	local vm=$1 v4=$2
	cl_lm "mig-$vm-u-$vm" "u-$vm" "$vm-a" "$vm"
	cl_vm "$vm" b "$vm-b" "$v4" -
	cl_pod b "$vm-b" "$vm" "$v4" - "u-$vm"
	cl_target b "$vm-b"
	wait_route c "$v4" ""
}

# route_events NODE FILE: start recording NODE's kernel route changes into
# FILE (one process, stopped with the cluster); moved ADDR FILE says those for
# ADDR. No pipeline: a process left behind would hold the test's output open.
route_events() {
	ip -n "$(ns_of "$1")" monitor route >"$2" 2>&1 &
	CL_PIDS+=($!)
	sleep 0.2
}
moved() { grep -F "$1 " "$2"; }

# 12: the target node's watcher restarts in the middle of the migration:
# killed while Live (a crash), stopped while in TimeWait (a rollout). The
# elevated route never moves across either restart, the restarted watcher
# continues each FSM where it was (no second GARP needed), and the TimeWait
# ends at its original deadline, not a fresh convergence time later.
scenario_watcher_restart() {
	local vm=$1 v4=$2 ev=$TOPO_DIR/route-events-$1 t_tw t_end
	log "== scenario watcher restart ($vm): b's watcher killed while Live, stopped in TimeWait"
	vm_start "$vm" a "$vm-a" "$v4" -
	cl_probe_start "$vm" c "$v4"
	migration_prepare "$vm" a b "$vm-a" "$vm-b" "u-$vm" "$v4" -
	switchover "$vm" a b "$vm-a" "$vm-b" "$v4" -
	wait_route b "$v4" "$(own b "$vm-b" 512)"
	route_events b "$ev"
	cl_watcher_stop b KILL
	cl_watcher_start b
	until_ok 10 "b's watcher to restore $vm-b as Live" \
		grep -q "msg=\"Live migration state restored\".*id=vms/$vm-b .*state=Live" "$TOPO_DIR/watcher-b.log"
	until_ok 10 "b's watcher ready again" cl_http b /readyz
	wait_route b "$v4" "$(own b "$vm-b" 512)"
	wait_route c "$v4" "$(bgp c b 512)"
	! moved "$v4" "$ev" || die "b's route to $vm moved across the restart: $(moved "$v4" "$ev")"

	# Completion, then a rollout in the middle of TimeWait.
	cl_del "pod-$vm-a"
	cl_vm_gone a "$vm-a"
	CL_CONVERGENCE=4s cl_felix
	cl_del "lm-mig-$vm-u-$vm"
	cl_state b "$vm-b" TimeWait
	t_tw=$(date +%s%3N)
	sleep 1
	cl_watcher_stop b TERM
	cl_watcher_start b
	until_ok 10 "b's watcher to restore $vm-b in TimeWait" \
		grep -q "msg=\"Live migration state restored\".*id=vms/$vm-b .*state=TimeWait" "$TOPO_DIR/watcher-b.log"
	wait_route b "$v4" "$(own b "$vm-b" 512)"
	wait_route c "$v4" "$(bgp c b 1024)" 10000
	t_end=$(date +%s%3N)
	# 4 s after TimeWait began (not 4 s after the restart, nor at once); the
	# upper bound leaves room for a loaded machine's slow start.
	[ $((t_end - t_tw)) -ge 3500 ] || die "TimeWait ended $((t_end - t_tw)) ms after it began, before its 4 s"
	[ $((t_end - t_tw)) -le 7500 ] || die "TimeWait ended $((t_end - t_tw)) ms after it began: restarted from scratch?"
	log "TimeWait ended $((t_end - t_tw)) ms after it began (4 s convergence, restart 1 s in)"
	cl_felix
	cl_probe_check "$vm" 2000
	want_transitions b "$vm-b" "$CLEAN"
}

# 13: BIRD on the target node dies while the VM is Live (kill -9) and its
# container starts it again (-R, graceful restart recovery): the VM stays
# reachable from the other nodes meanwhile, and the watcher hands the
# restarted BIRD the current configuration.
scenario_bird_restart() {
	local vm=$1 v4=$2 ev=$TOPO_DIR/route-events-$1
	log "== scenario BIRD restart ($vm): b's BIRD killed while Live"
	vm_start "$vm" a "$vm-a" "$v4" -
	cl_probe_start "$vm" c "$v4"
	migration_prepare "$vm" a b "$vm-a" "$vm-b" "u-$vm" "$v4" -
	switchover "$vm" a b "$vm-a" "$vm-b" "$v4" -
	route_events c "$ev"
	kill -9 "$(cat "$TOPO_DIR/b/bird.pid")"
	rm -f "$TOPO_DIR/b/bird.pid" "$(bird_sock b)"
	sleep 2
	wait_route c "$v4" "$(bgp c b 512)"
	ip netns exec "$(ns_of b)" bird -R -c "$TOPO_DIR/b/bird.cfg" -s "$(bird_sock b)" -P "$TOPO_DIR/b/bird.pid"
	# shellcheck disable=SC2046
	wait_established b $(bgp_protocols b)
	wait_route c "$v4" "$(bgp c b 512)"
	# That c's route never moves is e2e_test_bird_restart's strict check;
	# here what a user sees: the VM stays reachable through the restart
	# (at most 500 probes lost), and any flap is reported.
	if moved "$v4" "$ev" >/dev/null; then
		log "note: c's route to $vm moved while b's BIRD restarted: $(moved "$v4" "$ev" | tr '\n' ';')"
	fi
	complete "$vm" a b "$vm-a" "$vm-b" "u-$vm" "$v4" -
	cl_probe_check "$vm" 500
}
