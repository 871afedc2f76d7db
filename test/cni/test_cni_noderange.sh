#!/usr/bin/env bash
# Per-node addresses: two "nodes" (namespaces), each running handoff-watcher
# on a folder datastore that holds both core/v1 Nodes with different
# spec.podCIDRs. Each watcher publishes its own node's ranges; handoff-cni with
# "usePodCidr"/"usePodCidrIPv6" in its host-local ranges then gives each
# node's pods addresses from that node's range, and traffic flows through the
# watcher's route. Also: ADD before the ranges file exists answers CNI error
# 11 (try again later) and leaves nothing behind; a podCIDRs change is
# republished; DEL without the file still releases the lease.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
build=${HANDOFF_BUILD_DIR:?}
cni=$build/cni/handoff-cni
watcher=$build/watcher/handoff-watcher
tag=$$
dir=$(mktemp -d /tmp/handoff-noderange-XXXXXX)
cleanup_dir "$dir"
pids=()
for n in a b; do
	cleanup_netns "hnr-node-$n-$tag" "hnr-pod-$n-$tag"
	fail_log "watcher $n log" "$dir/$n/watcher.log"
done
[ -x /usr/lib/cni/host-local ] || fail "/usr/lib/cni/host-local missing (containernetworking-plugins)"

nodes() { # $1: node-a's IPv4 podCIDR
	cat <<YAML
apiVersion: v1
kind: Node
metadata: {name: node-a}
spec: {podCIDRs: ["$1", "fd70:1::/64"]}
status: {addresses: [{type: InternalIP, address: 192.0.2.11}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-b}
spec: {podCIDRs: ["10.70.2.0/24", "fd70:2::/64"]}
status: {addresses: [{type: InternalIP, address: 192.0.2.12}]}
YAML
}
conf() { # $1: node
	cat <<JSON
{"cniVersion": "1.0.0", "name": "handoff", "type": "handoff-cni",
 "endpointDir": "$dir/$1/endpoints",
 "ipam": {"type": "host-local", "dataDir": "$dir/$1/ipam",
          "nodeRangesFile": "$dir/$1/ranges.json",
          "ranges": [[{"subnet": "usePodCidr"}], [{"subnet": "usePodCidrIPv6"}]]}}
JSON
}
# cnirun COMMAND NODE POD: handoff-cni run on that node for pod "pods/POD".
cnirun() {
	conf "$2" | ip netns exec "hnr-node-$2-$tag" env CNI_COMMAND="$1" CNI_CONTAINERID="ctr-$3-$tag" \
		CNI_NETNS="/run/netns/hnr-pod-$2-$tag" CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=pods;K8S_POD_NAME=$3" "$cni"
}

for n in a b; do
	mkdir -p "$dir/$n/ds" "$dir/$n/endpoints"
	ip netns add "hnr-node-$n-$tag"
	ip netns add "hnr-pod-$n-$tag"
	ns=hnr-node-$n-$tag
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add 10.99.0.1/32 dev lo
	ip -n "$ns" link add up0 type veth peer name up1
	ip -n "$ns" link set up0 up
	ip -n "$ns" link set up1 up
	ip -n "$ns" route add default dev up0
	nodes 10.70.1.0/24 >"$dir/$n/ds/nodes.yaml"
	printf 'apiVersion: v1\nkind: Pod\nmetadata: {namespace: pods, name: pod-%s}\nspec: {nodeName: node-%s}\n' \
		"$n" "$n" >"$dir/$n/ds/pod.yaml"
done

# --- ADD before the watcher has published anything: error 11, nothing left.
if cnirun ADD a pod-a >"$dir/early.json"; then fail "ADD without ranges succeeded: $(cat "$dir/early.json")"; fi
jq -e '.code == 11 and (.msg | contains("ranges.json does not exist yet"))' "$dir/early.json" >/dev/null ||
	fail "ADD without ranges: $(cat "$dir/early.json")"
ip -n hnr-pod-a-$tag link show eth0 >/dev/null 2>&1 && fail "failed ADD left the pod's eth0"
[ -z "$(ls "$dir/a/ipam/handoff" 2>/dev/null | grep -E '^(10\.|fd)')" ] || fail "failed ADD left a lease"

# --- the watchers publish their own node's ranges.
for n in a b; do
	ip netns exec "hnr-node-$n-$tag" "$watcher" run --node "node-$n" --datastore "dir:$dir/$n/ds" \
		--endpoint-dir "$dir/$n/endpoints" --node-ranges "$dir/$n/ranges.json" --state-file "$dir/$n/state.json" \
		--http 127.0.0.1:9099 >"$dir/$n/watcher.log" 2>&1 &
	pids+=($!)
	cleanup_pid $!
done
wait_for() { # $1: description; rest: a command that must succeed within 5 s
	local what=$1
	shift
	for _ in $(seq 100); do
		"$@" && return 0
		sleep 0.05
	done
	fail "$what"
}
for n in a b; do wait_for "watcher $n wrote no ranges" test -s "$dir/$n/ranges.json"; done
jq -e '.apiVersion == "handoff.dev/v1" and .kind == "NodeRanges" and .node == "node-a" and
	.podCIDRs == ["10.70.1.0/24", "fd70:1::/64"]' "$dir/a/ranges.json" >/dev/null ||
	fail "node-a ranges: $(cat "$dir/a/ranges.json")"
jq -e '.node == "node-b" and .podCIDRs == ["10.70.2.0/24", "fd70:2::/64"]' "$dir/b/ranges.json" \
	>/dev/null || fail "node-b ranges: $(cat "$dir/b/ranges.json")"

# --- each node's pod gets an address of its own node's range; traffic flows
# through the route the watcher programs.
for n in a b; do
	i=$([ $n = a ] && echo 1 || echo 2)
	cnirun ADD $n pod-$n >"$dir/$n/result.json" || fail "ADD on node-$n: $(cat "$dir/$n/result.json")"
	jq -e --arg p4 "^10\\.70\\.$i\\.[0-9]+/32\$" --arg p6 "^fd70:$i::[0-9a-f]+/128\$" '
		(.ips[0].address | test($p4)) and (.ips[1].address | test($p6))' "$dir/$n/result.json" \
		>/dev/null || fail "node-$n pod address not from its range: $(cat "$dir/$n/result.json")"
	addr=$(jq -r '.ips[0].address | split("/")[0]' "$dir/$n/result.json")
	hostif=$(jq -r '.interfaces[0].name' "$dir/$n/result.json")
	wait_for "node-$n watcher did not route $addr" \
		bash -c "ip -n hnr-node-$n-$tag route show $addr proto 88 | grep -q 'dev $hostif'"
	ip netns exec "hnr-pod-$n-$tag" ping -c 1 -w 6 10.99.0.1 >"$dir/ping.out" 2>&1 ||
		fail "node-$n: no traffic from its pod $addr: $(cat "$dir/ping.out")"
done

# --- node-a's range changes (node IPAM reassigned it): republished.
nodes 10.70.9.0/24 >"$dir/a/ds/nodes.yaml.tmp"
mv "$dir/a/ds/nodes.yaml.tmp" "$dir/a/ds/nodes.yaml"
wait_for "node-a ranges not republished (see $dir/a/ranges.json)" \
	bash -c "jq -e '.podCIDRs[0] == \"10.70.9.0/24\"' '$dir/a/ranges.json' >/dev/null"
ls "$dir/a" | has '\.tmp\.' && fail "temporary ranges file left behind"
# Someone removed it: SIGHUP's full re-sync writes it again.
rm "$dir/a/ranges.json"
kill -HUP "${pids[0]}"
wait_for "SIGHUP did not rewrite node-a's ranges" test -s "$dir/a/ranges.json"

# --- DEL with the file gone (the node rebooted, /run is empty): the lease goes.
addr=$(jq -r '.ips[0].address | split("/")[0]' "$dir/b/result.json")
[ -e "$dir/b/ipam/handoff/$addr" ] || fail "no lease for $addr on node-b"
kill "${pids[1]}"
wait "${pids[1]}" 2>/dev/null || true
rm "$dir/b/ranges.json"
cnirun DEL b pod-b >"$dir/b/del.out" || fail "DEL without ranges: $(cat "$dir/b/del.out")"
[ -e "$dir/b/ipam/handoff/$addr" ] && fail "DEL without ranges left the lease of $addr"
echo PASS
