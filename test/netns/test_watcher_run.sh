#!/usr/bin/env bash
# handoff-watcher run --datastore dir:... on a real kernel: a veth workload gets
# its normal route, the route is withdrawn when a LiveMigration names the pod
# as target, elevated on the VM's GARP, and back to normal after the
# convergence time. A pod wired before its IPs are known gets its route from
# the CNI's endpoint record. HTTP endpoints report it all.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
build=${HANDOFF_BUILD_DIR:?}
watcher=$build/watcher/handoff-watcher
tag=$$
node=hwr-node-$tag wl=hwr-wl-$tag wl2=hwr-wl2-$tag
dir=$(mktemp -d /tmp/handoff-run-XXXXXX)
cleanup_dir "$dir"
cleanup_netns "$node" "$wl" "$wl2"
port=$(test_port 0)
pid=
cleanup_pid pid
fail_log "watcher log" "$dir/log"

if1=$(ifname_of vms vm1-target)
if2=$(ifname_of vms late-ips)

mkdir -p "$dir/ds" "$dir/ep"
ip netns add "$node"
ip netns add "$wl"
ip netns add "$wl2"
ip -n "$node" link set lo up
ip -n "$node" link add "$if1" type veth peer name eth0 netns "$wl"
ip -n "$node" link add "$if2" type veth peer name eth0 netns "$wl2"
for i in "$if1" "$if2"; do ip -n "$node" link set "$i" up; done
ip -n "$wl" link set eth0 up
ip -n "$wl" addr add 10.65.0.10/32 dev eth0
ip -n "$wl2" link set eth0 up

cat >"$dir/ds/felix.yaml" <<YAML
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {liveMigrationRouteConvergenceTime: 1500ms}
YAML
cat >"$dir/ds/pods.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  namespace: vms
  name: vm1-target
  labels: {vmi.kubevirt.io/id: vm1, kubevirt.io/migrationJobUID: uid-7}
spec: {nodeName: node-1}
status: {podIPs: [{ip: 10.65.0.10}, {ip: "fd00:65::10"}]}
---
apiVersion: v1
kind: Pod
metadata: {namespace: vms, name: late-ips}
spec: {nodeName: node-1}
---
apiVersion: v1
kind: Pod
metadata: {namespace: vms, name: elsewhere}
spec: {nodeName: node-2}
status: {podIPs: [{ip: 10.65.0.99}]}
YAML

echo "--log-level info" >"$dir/flags"
ip netns exec "$node" "$watcher" run --node node-1 --datastore "dir:$dir/ds" \
	--endpoint-dir "$dir/ep" --http "127.0.0.1:$port" --flags-file "$dir/flags" --state-file "$dir/state.json" >"$dir/log" 2>&1 &
pid=$!

route_is() { # DST METRIC ("" = no handoff route)
	local m
	m=$( (ip -n "$node" -j route show "$1" proto 88; ip -n "$node" -6 -j route show "$1" proto 88) 2>/dev/null |
		python3 -c "import json,sys
ms=[]
for line in sys.stdin.read().split('\n'):
    line=line.strip()
    if line: ms += [str(r.get('metric',0)) for r in json.loads(line)]
print(' '.join(sorted(ms)))")
	[ "$m" = "$2" ]
}
http() { ip netns exec "$node" curl -sf "http://127.0.0.1:$port$1"; }

wait_for "ready" http /readyz
wait_for "normal routes" route_is 10.65.0.10 1024
route_is fd00:65::10 1024 || fail "IPv6 route not at 1024"
route_is 10.65.0.99 "" || fail "a pod of another node got a route"

# The CNI records the late pod's address before the API server reports it.
cat >"$dir/ep/.rec.tmp" <<JSON
{"apiVersion":"handoff.dev/v1","kind":"EndpointRecord","metadata":{"namespace":"vms","name":"late-ips"},
 "spec":{"interface":"$if2","addresses":["10.65.0.20/32"],"mac":"02:00:00:00:00:20"}}
JSON
mv "$dir/ep/.rec.tmp" "$dir/ep/late-ips.json"
wait_for "route from the CNI record" route_is 10.65.0.20 1024

# The migration: the pod is the target; its route goes (both families).
cat >"$dir/ds/lm.yaml" <<YAML
apiVersion: projectcalico.org/v3
kind: LiveMigration
metadata: {namespace: vms, name: mig-7, uid: uid-7}
spec:
  source:
    workload: {orchestratorID: k8s, workloadID: vms/vm1-source}
  target:
    selector: "vmi.kubevirt.io/id == 'vm1' && kubevirt.io/migrationJobUID == 'uid-7'"
YAML
wait_for "suppressed on the target" route_is 10.65.0.10 ""
route_is fd00:65::10 "" || fail "IPv6 route not suppressed"
# The drop table follows the route in the same loop iteration, but after it:
# wait for it rather than race it. (grep without -q: no SIGPIPE under pipefail)
arp_drop_for() { ip netns exec "$node" nft list table arp handoff-arp | grep -F "arp saddr ip $1" >/dev/null; }
wait_for "ARP suppression for the workload's own IP" arp_drop_for 10.65.0.10

# A broken file is reported; nothing already working is lost.
echo "kind: [unclosed" >"$dir/ds/broken.yaml"
sleep 0.2
route_is 10.65.0.10 "" || fail "state changed after a broken file"

# The VM resumes here and announces itself.
ip netns exec "$wl" arping -U -c1 -I eth0 10.65.0.10 >/dev/null
wait_for "elevated after GARP" route_is 10.65.0.10 512
route_is fd00:65::10 512 || fail "IPv6 route not elevated"

# Migration done: TimeWait keeps 512, then the convergence time brings 1024.
rm "$dir/ds/lm.yaml"
sleep 0.3
route_is 10.65.0.10 512 || fail "elevated route dropped before the convergence time"
wait_for "normal after convergence" route_is 10.65.0.10 1024
route_is fd00:65::10 1024 || fail "IPv6 route not back to 1024"

# What the node reports.
metrics=$(http /metrics)
grep -q '^handoff_migrations_total{outcome="completed"} 1$' <<<"$metrics" || fail "metrics: $metrics"
grep -q '^handoff_migration_phase_seconds_count{phase="target_to_live"} 1$' <<<"$metrics" ||
	fail "no Target->Live duration"
grep -q '^handoff_garp_to_route_seconds_count 1$' <<<"$metrics" || fail "no GARP->route figure"
grep -q '^handoff_objects_rejected_total [1-9]' <<<"$metrics" || fail "broken file not counted"
http /migrations | python3 -c "
import json,sys
m=json.load(sys.stdin)
r=m['uid-7']['vms/vm1-target']
steps=[(t['from'],t['input'],t['to']) for t in r['transitions']]
assert steps==[('Base','Target','Target'),('Target','GARPDetected','Live'),('Live','NoRole','TimeWait'),('TimeWait','TimerPop','Base')], steps
assert r['state']=='Base', r
" || fail "/migrations"
grep -q 'msg="Live migration state transition" from=Target id=vms/vm1-target input=GARPDetected migrationUid=uid-7 to=Live' "$dir/log" ||
	fail "seed-000 transition line missing"

# SIGHUP: the flags that can change are re-read (debug lines appear), a flag
# that needs a restart is refused by name, and the routes are re-synced.
echo "--log-level debug" >"$dir/flags"
kill -HUP "$pid"
wait_for "SIGHUP handled" grep -q 'msg="SIGHUP: flags re-read, full re-sync"' "$dir/log"
printf 'kind: Pod\napiVersion: v1\nmetadata: {namespace: vms, name: other}\nspec: {nodeName: node-2}\n' >"$dir/ds/other.yaml"
wait_for "debug logging after SIGHUP" grep -q 'level=debug msg="Object event"' "$dir/log"
echo "--http 0.0.0.0:1" >"$dir/flags"
kill -HUP "$pid"
wait_for "flags file refused" grep -qF "flags:1: only '--log-level" "$dir/log"
route_is 10.65.0.10 1024 || fail "routes changed by SIGHUP"

# SIGTERM: a clean exit that leaves the routes in place.
kill -TERM "$pid"
wait "$pid" || fail "watcher exited with status $?"
pid=
route_is 10.65.0.10 1024 || fail "routes removed on exit"
echo "PASS"
