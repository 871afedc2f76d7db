#!/usr/bin/env bash
# A restarted handoff-watcher (the real binary, a real kernel in namespaces)
# carries on each migration where it was (issue 9, section 1):
#   - Live, restarted by SIGTERM and by SIGKILL: the route stays at metric 512
#     the whole time (no route event at all for it across the restart), the
#     endpoint is Live again without a second GARP, and the next transition
#     (Live -> TimeWait) is logged with the migration's uid;
#   - TimeWait, killed 3 s into a 5 s convergence time: the route drops to
#     1024 about 5 s after TimeWait began (not at the restart, not 5 s after it);
#   - Target, killed: still no route across the restart (no transient 1024),
#     the capture reopens, and a GARP after the restart makes it Live.
# And the state file's bad cases: not JSON (reported, ignored; the elevated
# kernel route still says Live), one bad entry among good ones (that entry
# ignored by index and field), a deadline an hour away (cut to the entry's
# convergence time), another node's file (refused).
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
build=${HANDOFF_BUILD_DIR:?}
watcher=$build/watcher/handoff-watcher
tag=$$
node=hwrs-node-$tag wl=hwrs-wl-$tag
dir=$(mktemp -d /tmp/handoff-restart-XXXXXX)
cleanup_dir "$dir"
cleanup_netns "$node" "$wl"
port=$(test_port 7)
pid= mon=
cleanup_pid mon
cleanup_pid pid KILL
fail_log "route events" "$dir/routes"
WAIT_FOR_SECS=10
dst=10.65.0.10

now() { date +%s.%N; }
lt() { python3 -c "import sys; sys.exit(0 if $1 < $2 else 1)"; }

ifname=$(ifname_of vms vm1-target)

mkdir -p "$dir/ds"
ip netns add "$node"
ip netns add "$wl"
ip -n "$node" link set lo up
ip -n "$node" link add "$ifname" type veth peer name eth0 netns "$wl"
ip -n "$node" link set "$ifname" up
ip -n "$wl" link set eth0 up
ip -n "$wl" addr add "$dst/32" dev eth0

cat >"$dir/ds/felix.yaml" <<YAML
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {liveMigrationRouteConvergenceTime: 5s}
YAML
cat >"$dir/ds/pod.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {namespace: vms, name: vm1-target, labels: {vm: vm1}}
spec: {nodeName: node-1}
status: {podIPs: [{ip: $dst}]}
YAML
lm() { # NAME UID: a LiveMigration whose target is the pod
	cat >"$dir/ds/.lm.tmp" <<YAML
apiVersion: projectcalico.org/v3
kind: LiveMigration
metadata: {namespace: vms, name: $1, uid: $2}
spec:
  source:
    workload: {orchestratorID: k8s, workloadID: vms/vm1-source}
  target: {selector: "vm == 'vm1'"}
YAML
	mv "$dir/ds/.lm.tmp" "$dir/ds/lm.yaml"
}

run=0
start() { # a new watcher, its log in log.<n>
	run=$((run + 1))
	log=$dir/log.$run
	fail_log "$log" "$log"
	ip netns exec "$node" "$watcher" run --node node-1 --datastore "dir:$dir/ds" \
		--http "127.0.0.1:$port" --state-file "$dir/run/state.json" >"$log" 2>&1 &
	pid=$!
	wait_for "watcher $run ready" http /readyz
}
stop() { # SIGNAL; after SIGTERM a clean exit, and nothing a sanitizer build reports
	local st=0
	kill "-$1" "$pid"
	wait "$pid" 2>/dev/null || st=$?
	pid=
	[ "$1" != TERM ] || [ "$st" = 0 ] || fail "exit status $st after SIGTERM"
	if grep -q "Sanitizer\|runtime error" "$log"; then fail "sanitizer report in $log"; fi
}
metric() { # our route's metrics for dst, space separated ("" = none)
	ip -n "$node" route show "$dst" proto 88 | sed -n 's/.* metric \([0-9]*\).*/\1/p' | sort | xargs
}
route_is() { [ "$(metric)" = "$1" ]; }
http() { ip netns exec "$node" curl -sf "http://127.0.0.1:$port$1"; }
# Every change to the node's routes is written to $dir/routes.
monitor_routes() {
	: >"$dir/routes"
	ip -n "$node" monitor route >>"$dir/routes" 2>&1 &
	mon=$!
	sleep 0.2 # ip monitor subscribes asynchronously
}
no_route_event() { # WHAT
	if grep -q "$dst" "$dir/routes"; then
		fail "$1: the route to $dst changed: $(grep "$dst" "$dir/routes" | tr '\n' ';')"
	fi
}
transition() { # RUN FROM TO INPUT UID: the seed-000 line in log.RUN
	grep -q "msg=\"Live migration state transition\" from=$2 id=vms/vm1-target input=$4 migrationUid=$5 to=$3" "$dir/log.$1"
}

# ---- Live, restarted by SIGTERM, then by SIGKILL ---------------------------
start
wait_for "normal route" route_is 1024
lm mig-7 uid-7
wait_for "suppressed on the target" route_is ""
wait_for "capture open" grep -q 'msg="GARP/RARP capture started"' "$dir/log.1"
ip netns exec "$wl" arping -U -c1 -I eth0 "$dst" >/dev/null
wait_for "elevated after GARP" route_is 512
wait_for "state saved" grep -q '"state": *"Live"' "$dir/run/state.json"

for sig in TERM KILL; do
	monitor_routes
	stop "$sig"
	route_is 512 || fail "SIG$sig: route not at 512 once the watcher is gone"
	start
	sleep 0.5 # the new watcher has applied its first plan
	route_is 512 || fail "SIG$sig: route at '$(metric)' after the restart"
	no_route_event "restart by SIG$sig while Live"
	kill "$mon"
	wait "$mon" 2>/dev/null || true
	mon=
	grep -q 'msg="Live migration state restored" from=file id=vms/vm1-target migrationUid=uid-7 remainingMs=-1 state=Live' "$log" ||
		fail "SIG$sig: no restore line"
	if grep -q 'msg="Live migration state transition"' "$log"; then
		fail "SIG$sig: a transition after the restart: $(grep 'state transition' "$log")"
	fi
	http /migrations | python3 -c "
import json,sys
r=json.load(sys.stdin)['uid-7']['vms/vm1-target']
assert r['state']=='Live' and 'restoredAtMs' in r, r" || fail "SIG$sig: /migrations"
done

# ---- TimeWait: killed 3 s into the 5 s convergence time ----------------------
t0=$(now)
rm "$dir/ds/lm.yaml"
wait_for "Live -> TimeWait" transition "$run" Live TimeWait NoRole uid-7
wait_for "TimeWait saved" grep -q '"state": *"TimeWait"' "$dir/run/state.json"
sleep 3 # TimeWait began before the file said so: >= 3 s of it are gone
stop KILL
t_restart=$(now)
start
route_is 512 || fail "TimeWait: route at '$(metric)' right after the restart (remaining time lost)"
grep -q 'msg="Live migration state restored" from=file id=vms/vm1-target migrationUid=uid-7 remainingMs=[0-9]* state=TimeWait' "$log" ||
	fail "TimeWait: no restore line"
wait_for "normal after the remaining time" route_is 1024
t=$(now)
t_drop=$(python3 -c "print('%.3f' % ($t - $t0))")
since_restart=$(python3 -c "print('%.3f' % ($t - $t_restart))")
# Not before TimeWait began + 5 s (it began after t0); about 2 s after the
# restart (>= 3 s of the 5 were gone), where a fresh timer would take >= 5 s:
# 2.5 s of slack for a slow start on a loaded machine.
lt 4.95 "$t_drop" || fail "TimeWait: dropped to 1024 after ${t_drop}s (< 5 s of convergence)"
lt "$since_restart" 4.5 || fail "TimeWait: dropped ${since_restart}s after the restart: a fresh timer, not the remaining time"
wait_for "TimerPop logged" transition "$run" TimeWait Base TimerPop uid-7
echo "TimeWait: dropped at t0+${t_drop}s, ${since_restart}s after the restart"

# ---- Target: killed while suppressed, GARP after the restart -------------------
lm mig-8 uid-8
wait_for "suppressed for the second migration" route_is ""
wait_for "Target saved" grep -q '"state": *"Target"' "$dir/run/state.json"
monitor_routes
stop KILL
start
wait_for "capture reopened" grep -q 'msg="GARP/RARP capture started"' "$log"
route_is "" || fail "Target: route at '$(metric)' after the restart"
no_route_event "restart while Target"
kill "$mon"
wait "$mon" 2>/dev/null || true
mon=
ip netns exec "$wl" arping -U -c1 -I eth0 "$dst" >/dev/null
wait_for "elevated after the GARP that followed the restart" route_is 512
wait_for "Target -> Live logged" transition "$run" Target Live GARPDetected uid-8

# ---- a state file that is not JSON: reported, ignored, the kernel still says Live
stop KILL
echo '{"version":1,' >"$dir/run/state.json"
start
grep -q 'msg="Saved migration state ignored"' "$log" || fail "broken state file not reported"
grep -q 'msg="Live migration state restored" from=kernel id=vms/vm1-target .*state=Live' "$log" ||
	fail "Live not recovered from the kernel route"
sleep 0.3
route_is 512 || fail "broken state file: route at '$(metric)'"
http /migrations | python3 -c "
import json,sys
r=json.load(sys.stdin)['uid-8']['vms/vm1-target']
assert r['state']=='Live' and 'restoredAtMs' in r, r" || fail "kernel-recovered Live not in /migrations under its uid"

# ---- a bad entry is ignored, the others restored; a deadline an hour away
# (the wall clock stepped back) is cut to the entry's convergence time ------
stop KILL
rm "$dir/ds/lm.yaml"
boot=$(cat /proc/sys/kernel/random/boot_id)
far=$(( $(date +%s%3N) + 3600000 ))
cat >"$dir/run/state.json" <<JSON
{"version":1,"node":"node-1","bootId":"$boot","savedAtMs":0,"endpoints":[
 {"id":"vms/other","state":"Sideways","role":"NONE"},
 {"id":"vms/vm1-target","state":"TimeWait","role":"NONE","migrationUid":"uid-8",
  "deadlineUnixMs":$far,"convergenceMs":4000}]}
JSON
t0=$(now)
start
grep -q 'msg="Saved migration state entry ignored" file=.* entry=0 error="state: not Target, Live or TimeWait"' "$log" ||
	fail "bad entry not reported by index and field"
grep -q 'msg="Live migration state restored" from=file id=vms/vm1-target migrationUid=uid-8 remainingMs=[0-9]* state=TimeWait' "$log" ||
	fail "good entry next to a bad one not restored"
route_is 512 || fail "restored TimeWait: route at '$(metric)'"
wait_for "normal after at most the convergence time" route_is 1024
t=$(now)
lt "$(python3 -c "print($t - $t0)")" 8.0 || fail "an hour-away deadline was not cut to the convergence time"

# ---- another node's file is not ours ---------------------------------------
stop KILL
sed -i 's/"node": *"node-1"/"node": "node-2"/' "$dir/run/state.json"
start
grep -q 'msg="Saved migration state ignored" .*error="node: another node.s state"' "$log" ||
	fail "another node's state file not refused"
stop TERM
echo "PASS"
