#!/usr/bin/env bash
# `handoff-watcher status` against a real daemon (folder datastore, a veth
# workload, real BIRD 1.6 on its control socket), as an operator runs it:
# - with no daemon listening it says so and exits 1;
# - during a migration the table shows the endpoint, its role, FSM state,
#   migration uid, the route metric it has now, and after the VM's GARP the
#   time from GARP to route; the BIRD section shows the last reload and the
#   mesh session BIRD reports; the watch section shows the kinds seen and
#   the rejected file;
# - --json carries the same rows for scripts;
# - a source pod deleted while its migration is still there leaves the table.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
build=${HANDOFF_BUILD_DIR:?}
watcher=$build/watcher/handoff-watcher
tag=$$
node=hst-node-$tag wl=hst-wl-$tag
dir=$(mktemp -d /tmp/handoff-status-XXXXXX)
cleanup_dir "$dir"
cleanup_netns "$node" "$wl"
port=$(test_port 7919)
cleanup_pidfile "$dir/bird.pid"
pid=
cleanup_pid pid
fail_log "watcher log" "$dir/log"
command -v bird >/dev/null || fail "bird (BIRD 1.6) is not installed"

if1=$(ifname_of vms vm1-target)

ip netns add "$node"
ip netns add "$wl"
ip -n "$node" link set lo up
ip -n "$node" link add fabric0 type veth peer name fabric1
ip -n "$node" link set fabric1 up
ip -n "$node" addr add 10.99.0.1/24 dev fabric0
ip -n "$node" link set fabric0 up
ip -n "$node" link add "$if1" type veth peer name eth0 netns "$wl"
ip -n "$node" link set "$if1" up
ip -n "$wl" link set eth0 up
ip -n "$wl" addr add 10.65.0.10/32 dev eth0

# 1. No daemon: a clear message and a non-zero exit.
set +e
out=$(ip netns exec "$node" "$watcher" status --http "127.0.0.1:$port" 2>&1)
rc=$?
set -e
[ "$rc" = 1 ] || fail "status without a daemon exited $rc: $out"
grep -q "the daemon is not running on this node, or not listening on 127.0.0.1:$port" <<<"$out" ||
	fail "no clear not-running message: $out"

# 2. BIRD with a placeholder configuration; the watcher replaces it.
mkdir -p "$dir/ds" "$dir/ep" "$dir/bird"
printf 'router id 10.99.0.1;\nprotocol device {}\n' >"$dir/bird/bird.cfg"
ip netns exec "$node" bird -c "$dir/bird/bird.cfg" -s "$dir/bird.ctl" -P "$dir/bird.pid"
for _ in $(seq 100); do [ -S "$dir/bird.ctl" ] && break; sleep 0.02; done

cat >"$dir/ds/cluster.yaml" <<YAML
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {liveMigrationRouteConvergenceTime: 30s}
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 64512, nodeToNodeMeshEnabled: true}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: node-1}
spec: {bgp: {ipv4Address: 10.99.0.1/24}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: node-2}
spec: {bgp: {ipv4Address: 10.99.0.2/24}}
---
apiVersion: v1
kind: Pod
metadata:
  namespace: vms
  name: vm1-target
  labels: {vmi.kubevirt.io/id: vm1, kubevirt.io/migrationJobUID: uid-7}
spec: {nodeName: node-1}
status: {podIPs: [{ip: 10.65.0.10}]}
YAML

ip netns exec "$node" "$watcher" run --node node-1 --datastore "dir:$dir/ds" \
	--endpoint-dir "$dir/ep" --http "127.0.0.1:$port" --bird-dir "$dir/bird" \
	--bird-socket "$dir/bird.ctl" --state-file "$dir/state.json" >"$dir/log" 2>&1 &
pid=$!

status() { ip netns exec "$node" "$watcher" status --http "127.0.0.1:$port" "$@"; }
# row SECTION-LINE-REGEX: the status table has a line matching it.
has_row() { status | grep -Eq "$1"; }

wait_for "ready" has_row "^Node node-1: ready$"
wait_for "BIRD reloaded" has_row "^  bird +applied "

# The migration: this node's pod is the target.
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
# Target: the route is withdrawn (metric "none"), no GARP yet.
wait_for "target row" has_row "^  vms/vm1-target +TARGET +Target +[0-9]+s ago +uid-7 +none +-$"

echo "kind: [unclosed" >"$dir/ds/broken.yaml"
ip netns exec "$wl" arping -U -c1 -I eth0 10.65.0.10 >/dev/null
# Live: elevated metric, and a GARP-to-route time in milliseconds.
wait_for "live row" has_row "^  vms/vm1-target +TARGET +Live +[0-9]+s ago +uid-7 +512 +[0-9]+\.[0-9]{2} ms$"

table=$(status)
echo "$table"
grep -Eq "^  bird +Mesh_10_99_0_2 +(start|up) " <<<"$table" || fail "no mesh session row"
grep -Eq "^  bird6 " <<<"$table" || fail "no bird6 row"
grep -Eq "^  LiveMigration +folder +1 +[0-9]+s ago +- +- +- +0$" <<<"$table" ||
	fail "no LiveMigration watch row"
grep -Eq "^  Pod +folder +[1-9][0-9]* +[0-9]+s ago " <<<"$table" || fail "no Pod watch row"

# --json: the same facts, for scripts.
status --json | python3 -c "
import json,sys
d=json.load(sys.stdin)
assert d['node']=='node-1' and d['ready'] is True, d
[e]=d['endpoints']
assert (e['endpoint'],e['role'],e['state'],e['uid'])==('vms/vm1-target','TARGET','Live','uid-7'), e
assert [r['metric'] for r in e['routes']]==[512], e
assert 0 < e['garp_to_route_us'] < 5_000_000, e
assert e['since_ms'] <= d['now_ms'], e
bird=[b for b in d['bird'] if b['daemon']=='bird'][0]
assert any(s['name']=='Mesh_10_99_0_2' for s in bird['sessions']), bird
rel=[r for r in d['bird_reload'] if r['daemon']=='bird'][0]
assert rel['result'] in ('applied','unchanged') and rel['at_ms']>0, rel
w={x['resource']:x for x in d['watches']}
assert w['LiveMigration']['events']==1 and w['LiveMigration']['source']=='folder', w
" || fail "--json"

# Migration over: the row goes once the endpoint is back in Base.
rm "$dir/ds/lm.yaml"
wait_for "TimeWait row" has_row "^  vms/vm1-target +(TARGET|NONE) +TimeWait "

# A source pod deleted while its migration still names it (KubeVirt removes
# the source pod once the VM has moved): its row goes with it.
cat >"$dir/ds/src.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  namespace: vms
  name: vm2-source
  labels: {vmi.kubevirt.io/id: vm2}
spec: {nodeName: node-1}
status: {podIPs: [{ip: 10.65.0.20}]}
---
apiVersion: projectcalico.org/v3
kind: LiveMigration
metadata: {namespace: vms, name: mig-8, uid: uid-8}
spec:
  source:
    workload: {orchestratorID: k8s, workloadID: vms/vm2-source}
  target:
    selector: "vmi.kubevirt.io/id == 'vm2' && kubevirt.io/migrationJobUID == 'uid-8'"
YAML
wait_for "source row" has_row "^  vms/vm2-source +SOURCE +Base +[0-9]+s ago +uid-8 "
sed -i '/^apiVersion: v1$/,/^---$/d' "$dir/ds/src.yaml" # the Pod goes, mig-8 stays
no_source_row() { ! status | grep -q "vm2-source"; }
wait_for "the deleted source's row to go" no_source_row

kill -TERM "$pid"
wait "$pid" || fail "watcher exited with status $?"
pid=
set +e
out=$(status 2>&1)
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "not running" <<<"$out" || fail "after exit: rc=$rc $out"
echo "PASS"
