#!/usr/bin/env bash
# One series of hack/bench-blackout.sh (see there): a fabric made by
# test/e2e/lib/cluster.sh, one VM migrated back and forth between node a and
# node b RUNS times with handoff (LiveMigration objects), then RUNS times
# without (the baseline), while node c probes it every millisecond.
#   blackout-series.sh ibgp|ebgp RUNS OUTDIR
# Writes OUTDIR/MODE-{handoff,baseline}.tsv: one line per migration,
#   run  rarp_epoch  probe_file  monitor files are kept in OUTDIR too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
mode=$1 runs=$2 out=$3
e2e=$top/test/e2e
# shellcheck source=../../test/e2e/lib/topo.sh
. "$e2e/lib/topo.sh"
# shellcheck source=../../test/e2e/lib/bgp.sh
. "$e2e/lib/bgp.sh"
# shellcheck source=../../test/e2e/lib/cluster.sh
. "$e2e/lib/cluster.sh"
# shellcheck source=../../test/e2e/lib/scenarios.sh
. "$e2e/lib/scenarios.sh"

CL_CONVERGENCE=1s
CL_PROBE_MAX=3600
VM=vmb V4=10.65.0.50
# The source's pod goes this long after the VM resumed on the target (its
# route follows once the watcher has read the deletion: the folder datastore
# applies deletions 1 s after the last change): KubeVirt deletes the source
# virt-launcher pod once the migration has completed, typically later.
SOURCE_GONE_AFTER=${SOURCE_GONE_AFTER:-1}

topo_init
cl_up "$mode"
mkdir -p "$out"
other() { [ "$1" = a ] && echo b || echo a; }
no_own_route() { ! routes_of "$1" "$V4" | grep -q "proto=88"; }

# Route events where the path is chosen: node c's kernel, and on the eBGP
# fabric tor1 (node c only ever sees its ToR as next hop).
ip -n "$(ns_of c)" -ts monitor route >"$out/$mode-mon-c.log" 2>&1 &
CL_PIDS+=($!)
if [ "$mode" = ebgp ]; then
	ip -n "$(ns_of tor1)" -ts monitor route >"$out/$mode-mon-tor1.log" 2>&1 &
	CL_PIDS+=($!)
fi

# series KIND: RUNS migrations, with handoff (LiveMigration) or without.
series() {
	local kind=$1 cur=a pod i next npod uid t
	pod=$VM-$kind-0
	cl_vm "$VM" a "$pod" "$V4" -
	cl_pod a "$pod" "$VM" "$V4" -
	wait_route c "$V4" "$(bgp c a 1024)"
	cl_probe_start "$kind" c "$V4"
	: >"$out/$mode-$kind.tsv"
	for i in $(seq 1 "$runs"); do
		next=$(other "$cur") npod="$VM-$kind-$i" uid="u-$kind-$i"
		if [ "$kind" = handoff ]; then
			migration_prepare "$VM" "$cur" "$next" "$pod" "$npod" "$uid" "$V4" -
		else
			# A plain routed CNI: the target pod's route at the normal
			# priority as soon as it can be (while the source's route,
			# learned over BGP, holds the same metric in the target's
			# kernel, it waits: bird-notes.md, "Collision on the target").
			cl_vm "$VM" "$next" "$npod" "$V4" -
			cl_pod "$next" "$npod" "$VM" "$V4" -
		fi
		# The target's announcement, armed before the switchover (no
		# process start between stopping the source and the RARP).
		rm -f "$TOPO_DIR/cue" && mkfifo "$TOPO_DIR/cue"
		ip netns exec "$(ns_of "$npod")" "$CL_SEND_RARP" eth0 "${CL_VM_MAC[$VM]}" --on-cue \
			<"$TOPO_DIR/cue" >"$TOPO_DIR/rarp.out" &
		exec 7<>"$TOPO_DIR/cue"
		until_ok 5 "the armed RARP" grep -q ready "$TOPO_DIR/rarp.out"
		sleep 0.3
		cl_vm_pause "$pod"
		echo go >&7
		wait $! || die "the RARP was not sent"
		exec 7>&-
		t=$(sed -n 's/^sent //p' "$TOPO_DIR/rarp.out")
		printf '%s\t%s\t%s\t%s\n' "$i" "$t" "$cur" "$next" >>"$out/$mode-$kind.tsv"
		sleep "$SOURCE_GONE_AFTER"
		# The source's pod goes: its watcher withdraws the route (and BIRD
		# with it), then the pod's link goes (a link deleted first would
		# take the route with it unannounced: BIRD notices at its next scan).
		cl_del "pod-$pod"
		until_ok 10 "node-$cur to withdraw its route" no_own_route "$cur"
		cl_vm_gone "$cur" "$pod"
		if [ "$kind" = handoff ]; then
			cl_del "lm-mig-$VM-$uid"
			cl_state "$next" "$npod" TimeWait
		fi
		wait_route c "$V4" "$(bgp c "$next" 1024)" 10000
		cur=$next pod=$npod
		log "$mode $kind: migration $i of $runs done"
	done
	kill -INT "${CL_PROBE_PID[$kind]}"
	wait "${CL_PROBE_PID[$kind]}" || true
	cp "$TOPO_DIR/probe-$kind.txt" "$out/$mode-$kind-probe.txt"
	cl_del "pod-$pod"
	cl_vm_gone "$cur" "$pod"
	wait_route c "$V4" "" 10000
}

series handoff
series baseline
log "series $mode done"
