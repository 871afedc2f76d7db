#!/usr/bin/env bash
# handoff-cni's tap mode carries a VM's traffic, on a real kernel: a process
# attached to the pod's tap as QEMU attaches (tool_tap_probe) resolves the
# gateway to the fixed host MAC and reaches the node, and a network beyond it,
# with the pod's address;
# the result reports the tap with its MAC; the tap is multiqueue and owned by
# the configured uid/gid (that uid attaches without privileges, another uid
# cannot); DEL removes the tap when only ADD's configuration asked for it.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
build=${HANDOFF_BUILD_DIR:?}
cni=$build/cni/handoff-cni
probe=$build/test/cni/tool_tap_probe
tag=$$
host=hct-host-$tag pod=hct-pod-$tag remote=hct-remote-$tag
dir=$(mktemp -d /tmp/handoff-cnit-XXXXXX)
cleanup_dir "$dir"
cleanup_netns "$host" "$pod" "$remote"

[ -x /usr/lib/cni/host-local ] || fail "/usr/lib/cni/host-local missing (containernetworking-plugins)"
ip netns add "$host"
ip netns add "$pod"
ip netns add "$remote"
ip -n "$host" link set lo up
ip -n "$host" addr add 10.99.0.1/32 dev lo
# Beyond the node: a network the node routes to (its default route, as every
# node has one; proxy ARP answers only for targets routed out of another link).
ip -n "$host" link add up0 type veth peer name eth0 netns "$remote"
ip -n "$host" addr add 10.98.0.254/24 dev up0
ip -n "$host" link set up0 up
ip -n "$host" route add default via 10.98.0.1 dev up0
ip netns exec "$host" sysctl -qw net.ipv4.conf.all.forwarding=1
ip -n "$remote" link set lo up
ip -n "$remote" addr add 10.98.0.1/24 dev eth0
ip -n "$remote" link set eth0 up
ip -n "$remote" route add default via 10.98.0.254 dev eth0

ipam='"ipam": {"type": "host-local", "dataDir": "'$dir'/ipam", "ranges": [[{"subnet": "10.69.0.0/24"}]]}'
tapconf='{"cniVersion": "1.0.0", "name": "handoff", "type": "handoff-cni", "endpointDir": "'$dir'/ep",
 "tap": true, "tapMultiqueue": true, "tapOwner": 4242, "tapGroup": 4242, '$ipam'}'
plainconf='{"cniVersion": "1.0.0", "name": "handoff", "type": "handoff-cni", "endpointDir": "'$dir'/ep", '$ipam'}'
cni() { # COMMAND CONF
	echo "$2" | ip netns exec "$host" env CNI_COMMAND="$1" CNI_CONTAINERID=vm-$tag \
		CNI_NETNS="/run/netns/$pod" CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=vms;K8S_POD_NAME=virt-launcher-vm1" "$cni"
}

cni ADD "$tapconf" >"$dir/res.json" || fail "tap ADD: $(cat "$dir/res.json")"
tapmac=$(ip -n "$pod" link show tap0 | awk '/link\/ether/ {print $2}')
jq -e --arg m "$tapmac" --arg ns "/run/netns/$pod" \
	'[.interfaces[] | select(.name == "tap0" and .mac == $m and .sandbox == $ns)] | length == 1' \
	"$dir/res.json" >/dev/null || fail "the result does not report tap0 with its MAC $tapmac: $(cat "$dir/res.json")"
ip -n "$pod" -d link show tap0 | has "multi_queue" || fail "tap0 is not multiqueue: $(ip -n "$pod" -d link show tap0)"
ip -n "$pod" -d link show tap0 | has "user 4242 group 4242" || fail "tap0 not owned by 4242:4242"
addr=$(jq -r '.ips[0].address | split("/")[0]' "$dir/res.json")
hostif=$(jq -r '.interfaces[0].name' "$dir/res.json")
# The route the watcher programs for the pod.
ip -n "$host" route add "$addr/32" dev "$hostif"

# The VM (uid 4242, two queues) reaches the node with the pod's address; its
# RARP announce (a migrated VM resuming) reaches the host side, where the
# watcher listens for it.
ip netns exec "$host" timeout 10 tcpdump -l -n -e -c 1 -i "$hostif" 'ether proto 0x8035' \
	>"$dir/rarp.out" 2>"$dir/tcpdump.err" &
tpid=$!
for _ in $(seq 100); do has "listening on" "$dir/tcpdump.err" && break; sleep 0.05; done
"$probe" "/run/netns/$pod" tap0 "$addr" 10.99.0.1 --uid 4242 --gid 4242 --queues 2 --rarp >"$dir/probe.out" ||
	fail "the VM's traffic did not flow: $(cat "$dir/probe.out")"
has "^gateway ee:ee:ee:ee:ee:ee$" "$dir/probe.out" || fail "gateway MAC: $(cat "$dir/probe.out")"
has "^reply 10.99.0.1$" "$dir/probe.out" || fail "no echo reply: $(cat "$dir/probe.out")"
wait "$tpid" || fail "no RARP from the VM on $hostif: $(cat "$dir/tcpdump.err")"
has "52:54:00:12:34:56" "$dir/rarp.out" || fail "RARP on $hostif: $(cat "$dir/rarp.out")"
# ... and beyond the node, routed by it.
"$probe" "/run/netns/$pod" tap0 "$addr" 10.98.0.1 --uid 4242 --gid 4242 --queues 2 >"$dir/probe.out" ||
	fail "the VM did not reach 10.98.0.1 beyond the node: $(cat "$dir/probe.out")"
has "^reply 10.98.0.1$" "$dir/probe.out" || fail "no echo reply from beyond: $(cat "$dir/probe.out")"
ip -n "$host" neigh show "$addr" dev "$hostif" | has "lladdr 52:54:00:12:34:56" ||
	fail "the node did not learn the VM's MAC for $addr: $(ip -n "$host" neigh)"

# Another unprivileged uid may not attach.
rc=0
"$probe" "/run/netns/$pod" tap0 "$addr" 10.99.0.1 --uid 4343 --gid 4343 --queues 2 --attach-only \
	>"$dir/probe.out" || rc=$?
[ "$rc" = 2 ] || fail "uid 4343 attached to a tap owned by 4242 (rc $rc): $(cat "$dir/probe.out")"

# CHECK sees the tap and both redirects, and a missing redirect.
checkconf=$(jq -c --slurpfile r "$dir/res.json" '. + {prevResult: $r[0]}' <<<"$tapconf")
cni CHECK "$checkconf" >"$dir/check.out" || fail "CHECK of a healthy VM pod: $(cat "$dir/check.out")"
ip netns exec "$pod" tc filter del dev tap0 ingress
if cni CHECK "$checkconf" >"$dir/check.out"; then fail "CHECK passed without the tap's redirect"; fi
jq -e '.msg | contains("redirect from the VM'"'"'s tap tap0 to eth0 is missing")' "$dir/check.out" >/dev/null ||
	fail "CHECK answer: $(cat "$dir/check.out")"

# DEL with a configuration that no longer says tap: the record remembers it.
cni DEL "$plainconf" >"$dir/del.out" || fail "DEL: $(cat "$dir/del.out")"
ip -n "$pod" link show tap0 >/dev/null 2>&1 && fail "DEL left tap0 (tap only asked at ADD)"
ip -n "$host" link show "$hostif" >/dev/null 2>&1 && fail "DEL left $hostif"
echo "PASS"
