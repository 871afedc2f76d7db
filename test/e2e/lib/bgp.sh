# bgp.sh - the two BGP topologies of the e2e tests, hand-written BIRD configs
# for the parts handoff does not render (ToRs, an operator's own BIRD), and
# the live-migration overlap scenario they all run. Source after topo.sh.
#
# iBGP (one AS 64512, full mesh on one L2 segment "fabric", 10.99.0.0/24):
#     A 10.99.0.1      B 10.99.0.2      C 10.99.0.3
#
# eBGP (two racks; every node peers eBGP with its rack's ToR; ToRs peer eBGP):
#     rack1 10.91.0.0/24: A .1 (AS 64512), B .2 (AS 64513), tor1 .254 (AS 65001)
#     rack2 10.92.0.0/24: C .3 (AS 64514),                 tor2 .254 (AS 65002)
#     uplink 10.90.0.0/30: tor1 .1, tor2 .2
# Each node has its own AS so that the source node A learns the target's
# elevated route through tor1 (same-AS nodes would drop it as a loop).
#
# The VM's address is VM_NET; it "migrates" from A to B.

VM_NET=10.65.0.10/32

topo_ibgp() {
	topo_fabric fabric
	local n i=1
	for n in a b c; do
		topo_node "$n"
		topo_attach "$n" fabric "10.99.0.$i/24"
		topo_workload "$n"
		i=$((i + 1))
	done
}

topo_racks() {
	topo_fabric rack1
	topo_fabric rack2
	topo_node a
	topo_node b
	topo_node c
	topo_node tor1
	topo_node tor2
	topo_attach a rack1 10.91.0.1/24
	topo_attach b rack1 10.91.0.2/24
	topo_attach tor1 rack1 10.91.0.254/24
	topo_attach c rack2 10.92.0.3/24
	topo_attach tor2 rack2 10.92.0.254/24
	topo_link tor1 10.90.0.1/30 tor2 10.90.0.2/30
	topo_workload a
	topo_workload b
	topo_workload c
}

# A ToR's BIRD, as a network team would write it: eBGP to its nodes and to
# the other ToR, routes into its kernel, and seed 001's step 3: routes tagged
# with the elevated-priority community win (preference 200), so the ToR
# passes the target's route on instead of treating both as equal.
# tor_cfg FILE ROUTER_ID LOCAL_AS "NAME IP AS"...
tor_cfg() {
	local file=$1 rid=$2 as=$3 p name ip pas
	shift 3
	{
		cat <<EOF
router id $rid;
protocol device { scan time 10; }
protocol kernel { scan time 10; import none; export all; }
filter import_community_priority {
  if ((65000, 100) ~ bgp_community) then {
    preference = 200;
  }
  accept;
}
template bgp bgp_peer {
  local as $as;
  direct;
  connect delay time 1;
  import filter import_community_priority;
  export all;
}
EOF
		for p in "$@"; do
			read -r name ip pas <<<"$p"
			echo "protocol bgp $name from bgp_peer { neighbor $ip as $pas; }"
		done
	} >"$file"
}

# An operator's own BIRD for a node (seed 000's OpenStack case), with the
# filters import_kernel / export_kernel / export_bgp / import_bgp taken
# verbatim from SNIPPET (the output of `handoff-watcher bird-snippet`) and
# used where the snippet's comments say.
# operator_cfg FILE ROUTER_ID LOCAL_AS SNIPPET "NAME IP AS"...
operator_cfg() {
	local file=$1 rid=$2 as=$3 snippet=$4 p name ip pas
	shift 4
	{
		cat <<EOF
router id $rid;
protocol device { scan time 10; }
# ---- pasted from handoff-watcher bird-snippet ----
EOF
		cat "$snippet"
		cat <<EOF
# ---- end of the pasted filters ----
protocol kernel {
  learn;
  scan time 10;
  import filter import_kernel;
  export filter export_kernel;
}
template bgp bgp_peer {
  local as $as;
  direct;
  connect delay time 1;
  import filter import_bgp;
  export filter export_bgp;
}
EOF
		for p in "$@"; do
			read -r name ip pas <<<"$p"
			echo "protocol bgp $name from bgp_peer { neighbor $ip as $pas; }"
		done
	} >"$file"
}

# render_node NODE_NAME DIR FILE...: DIR/bird.cfg for the node named NODE_NAME
# in the resources of the FILEs, by `handoff-watcher render-bird`.
render_node() {
	local node=$1 dir=$2 f args=()
	shift 2
	for f in "$@"; do args+=(-f "$f"); done
	mkdir -p "$dir"
	"$WATCHER" render-bird "${args[@]}" --node "$node" -o "$dir" ||
		die "render-bird --node $node failed"
	[ -s "$dir/bird.cfg" ] || die "render-bird --node $node wrote no $dir/bird.cfg"
}

# The BGP protocols of N's bird.cfg (rendered or hand-written), one a line.
bgp_protocols() { sed -n 's/^protocol bgp \([^ ]*\).*/\1/p' "$TOPO_DIR/$1/bird.cfg"; }

# The migration of VM_NET from A to B, as handoff's route syncer drives the
# kernel, with what a remote node must see at each step (seeds 000/001):
#   1. A has the VM (normal metric 1024): C routes to A.
#   2. B's VM is live (elevated 512) while A still has its route: C routes
#      to B at 512, and A routes to B too (its stale traffic follows the VM).
#   3. A deletes its route (migration done; B holds 512 through TimeWait).
#   4. B drops to normal (add 1024, then delete 512): C routes to B at 1024.
# $1: "ibgp" or "ebgp". In the eBGP topology C's next hop is its ToR; that
# the ToRs carry B's route is checked on tor1.
scenario_overlap() {
	local mode=$1 viaA viaB viaC_A viaC_B
	if [ "$mode" = ibgp ]; then
		viaA=10.99.0.1 viaB=10.99.0.2
		viaC_A=$viaA viaC_B=$viaB
	else
		viaA=10.91.0.1 viaB=10.91.0.2
		viaC_A=10.92.0.254 viaC_B=10.92.0.254
	fi

	log "step 1: VM on A at 1024"
	wl_route_add a "$VM_NET" 1024
	wait_route c "$VM_NET" "via=$viaC_A metric=1024 proto=bird"
	if [ "$mode" = ebgp ]; then wait_route_via tor1 "$VM_NET" "$viaA"; fi

	log "step 2: VM live on B at 512, A's route still there"
	wl_route_add b "$VM_NET" 512
	wait_route c "$VM_NET" "via=$viaC_B metric=512 proto=bird"
	if [ "$mode" = ebgp ]; then wait_route_via tor1 "$VM_NET" "$viaB"; fi
	# A (the source) forwards to B. Through tor1 too the next hop is B
	# itself: a BGP speaker keeps a next hop on the shared segment.
	wait_route a "$VM_NET" "via=$viaB metric=512 proto=bird
dev=wl0 metric=1024 proto=88"
	wait_route b "$VM_NET" "dev=wl0 metric=512 proto=88"

	log "step 3: A deletes its route"
	wl_route_del a "$VM_NET" 1024
	wait_route a "$VM_NET" "via=$viaB metric=512 proto=bird"
	wait_route c "$VM_NET" "via=$viaC_B metric=512 proto=bird"

	log "step 4: B back to normal priority (add 1024, delete 512)"
	wl_route_add b "$VM_NET" 1024
	wl_route_del b "$VM_NET" 512
	wait_route c "$VM_NET" "via=$viaC_B metric=1024 proto=bird"
	wait_route b "$VM_NET" "dev=wl0 metric=1024 proto=88"
	if [ "$mode" = ebgp ]; then wait_route_via tor1 "$VM_NET" "$viaB"; fi
	log "scenario $mode: ok"
}
