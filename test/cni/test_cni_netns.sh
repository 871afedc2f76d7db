#!/usr/bin/env bash
# handoff-cni on a real kernel, with Debian's host-local IPAM from /usr/lib/cni.
# A namespace plays the host (the plugin runs there through `ip netns exec`, so
# the machine's own namespace is never touched) and another plays the pod.
# Checks what a user relies on: the host side named by the watcher's rule with
# the fixed MAC and proxy ARP, the pod's /32 (and /128) with routes via the
# link-local gateways, the endpoint record, traffic once the watcher's route
# exists, CHECK, DEL (idempotent, address released), rollback of a failed ADD,
# and a bad configuration answered with CNI error JSON naming the field.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
build=${HANDOFF_BUILD_DIR:?}
cni=$build/cni/handoff-cni
tag=$$
host=hcni-host-$tag pod=hcni-pod-$tag vmpod=hcni-vm-$tag
dir=$(mktemp -d /tmp/handoff-cni-XXXXXX)
cleanup_dir "$dir"
cleanup_netns "$host" "$pod" "$vmpod"

[ -x /usr/lib/cni/host-local ] || fail "/usr/lib/cni/host-local missing (containernetworking-plugins)"
ip netns add "$host"
ip netns add "$pod"
# The host's own address for the pod to reach, and a default route as every
# node has (proxy ARP answers only for targets routed out another interface).
ip -n "$host" link set lo up
ip -n "$host" addr add 10.99.0.1/32 dev lo
ip -n "$host" addr add fd99::1/128 dev lo
ip -n "$host" link add up0 type veth peer name up1
ip -n "$host" link set up0 up
ip -n "$host" link set up1 up
ip -n "$host" route add default dev up0

conf() { # $1: extra top-level fields
	cat <<JSON
{"cniVersion": "1.0.0", "name": "handoff", "type": "handoff-cni", $1
 "endpointDir": "$dir/endpoints",
 "ipam": {"type": "host-local", "dataDir": "$dir/ipam",
          "ranges": [[{"subnet": "10.66.0.0/24"}], [{"subnet": "fd66::/64"}]]}}
JSON
}
# run COMMAND NETNS [extra config fields]: the plugin as a runtime runs it.
run() {
	conf "${3:-}" | ip netns exec "$host" env CNI_COMMAND="$1" CNI_CONTAINERID=ctr-$tag \
		CNI_NETNS="$2" CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=kubevirt;K8S_POD_NAME=virt-launcher-vm1" \
		"$cni"
}
netns=/run/netns/$pod
# The watcher's naming rule (src/core/model.c), computed independently: FNV-1a.
hostif=$(python3 -c '
h = 0xcbf29ce484222325
for c in b"kubevirt.virt-launcher-vm1":
    h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
print("ho%012x" % (h & 0xffffffffffff))')

# --- ADD
run ADD "$netns" >"$dir/result.json" || fail "ADD failed: $(cat "$dir/result.json")"
jq -e --arg h "$hostif" --arg ns "$netns" '
	.cniVersion == "1.0.0" and
	.interfaces[0].name == $h and .interfaces[0].mac == "ee:ee:ee:ee:ee:ee" and
	.interfaces[1].name == "eth0" and .interfaces[1].sandbox == $ns and
	.ips[0].address == "10.66.0.2/32" and .ips[0].gateway == "169.254.1.1" and
	.ips[0].interface == 1 and .ips[1].address == "fd66::2/128" and
	.ips[1].gateway == "fe80::ecee:eeff:feee:eeee" and
	(.routes | index({"dst": "0.0.0.0/0", "gw": "169.254.1.1"})) != null and
	(.routes | index({"dst": "::/0", "gw": "fe80::ecee:eeff:feee:eeee"})) != null' \
	"$dir/result.json" >/dev/null || fail "ADD result: $(cat "$dir/result.json")"

ip -n "$host" link show "$hostif" | has "link/ether ee:ee:ee:ee:ee:ee" ||
	fail "host side $hostif: missing or wrong MAC: $(ip -n "$host" link)"
[ "$(ip netns exec "$host" cat /proc/sys/net/ipv4/conf/"$hostif"/proxy_arp)" = 1 ] ||
	fail "host side $hostif: proxy_arp is not 1"
[ "$(ip netns exec "$host" cat /proc/sys/net/ipv4/conf/"$hostif"/rp_filter)" = 0 ] ||
	fail "host side $hostif: rp_filter is not 0"
# The IPv6 gateway (the host side's link-local) answers as soon as ADD
# returns: no DAD keeps it tentative for the pod's first second or two.
ll=$(ip -n "$host" -6 addr show dev "$hostif" scope link)
echo "$ll" | has "inet6 fe80::ecee:eeff:feee:eeee/64" || fail "host side $hostif: no gateway link-local: $ll"
echo "$ll" | has "tentative" && fail "host side $hostif: gateway link-local still tentative (DAD): $ll"
ip -n "$host" route | has 10.66.0.2 && fail "the CNI added a host route (the watcher owns it)"
ip -n "$pod" -4 addr show dev eth0 | has "inet 10.66.0.2/32" || fail "pod eth0 lacks 10.66.0.2/32"
ip -n "$pod" -6 addr show dev eth0 | has "inet6 fd66::2/128" || fail "pod eth0 lacks fd66::2/128: $(ip -n "$pod" addr)"
ip -n "$pod" route show default | has "^default via 169.254.1.1 dev eth0" || fail "pod: no default via 169.254.1.1"
ip -n "$pod" route | has "^169.254.1.1 dev eth0 .*scope link" || fail "pod: no 169.254.1.1 scope link"
ip -n "$pod" -6 route | has "^default via fe80::ecee:eeff:feee:eeee dev eth0" ||
	fail "pod: no IPv6 default via fe80::ecee:eeff:feee:eeee"
podmac=$(ip -n "$pod" link show eth0 | awk '/link\/ether/ {print $2}')

rec=$dir/endpoints/ctr-$tag.json # one record per container
[ -f "$rec" ] || fail "no endpoint record $rec"
jq -e --arg h "$hostif" --arg m "$podmac" --arg ns "$netns" --arg c "ctr-$tag" '
	.apiVersion == "handoff.dev/v1" and .kind == "EndpointRecord" and
	.metadata == {"namespace": "kubevirt", "name": "virt-launcher-vm1"} and
	.spec.interface == $h and .spec.addresses == ["10.66.0.2/32", "fd66::2/128"] and
	.spec.mac == $m and .spec.containerID == $c and .spec.netns == $ns' "$rec" >/dev/null ||
	fail "endpoint record: $(cat "$rec")"
ls "$dir/endpoints" | has tmp && fail "temporary record file left behind"

# --- traffic: the route the watcher would add, then proxy ARP answers for the gateway.
ip -n "$host" route add 10.66.0.2/32 dev "$hostif"
ip -n "$host" -6 route add fd66::2/128 dev "$hostif"
ip netns exec "$pod" ping -c 1 -W 2 10.99.0.1 >/dev/null || fail "pod cannot reach 10.99.0.1 on the host"
ip -n "$pod" neigh show 169.254.1.1 | has "lladdr ee:ee:ee:ee:ee:ee" ||
	fail "gateway 169.254.1.1 not resolved to ee:ee:ee:ee:ee:ee: $(ip -n "$pod" neigh)"
ip netns exec "$pod" ping -6 -c 1 -w 5 fd99::1 >/dev/null || fail "pod cannot reach fd99::1 on the host"

# --- CHECK with prevResult: passes now, fails once the pod lost its address.
check() {
	conf "\"prevResult\": $(cat "$dir/result.json")," | ip netns exec "$host" env CNI_COMMAND=CHECK \
		CNI_CONTAINERID=ctr-$tag CNI_NETNS="$netns" CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=kubevirt;K8S_POD_NAME=virt-launcher-vm1" "$cni"
}
check >"$dir/check.out" || fail "CHECK on a healthy pod: $(cat "$dir/check.out")"
ip -n "$pod" addr del 10.66.0.2/32 dev eth0
if check >"$dir/check.out"; then fail "CHECK passed with 10.66.0.2 gone"; fi
grep -q "address 10.66.0.2 is missing" "$dir/check.out" || fail "CHECK error: $(cat "$dir/check.out")"

# --- DEL: veth, record and lease gone; a second DEL is fine.
run DEL "$netns" >"$dir/del.out" || fail "DEL: $(cat "$dir/del.out")"
ip -n "$host" link show "$hostif" >/dev/null 2>&1 && fail "DEL left $hostif"
ip -n "$pod" link show eth0 >/dev/null 2>&1 && fail "DEL left the pod's eth0"
[ -e "$rec" ] && fail "DEL left the endpoint record"
[ -e "$dir/ipam/handoff/10.66.0.2" ] && fail "DEL left the IPAM lease of 10.66.0.2"
run DEL "$netns" >"$dir/del.out" || fail "second DEL: $(cat "$dir/del.out")"
run DEL "" >"$dir/del.out" || fail "DEL without a netns: $(cat "$dir/del.out")"

# --- a failed ADD (the pod namespace is gone) rolls back: no veth, no lease.
if run ADD /run/netns/hcni-missing-$tag >"$dir/bad.out"; then fail "ADD into a missing netns succeeded"; fi
jq -e '.code == 5 and (.msg | contains("CNI_NETNS"))' "$dir/bad.out" >/dev/null ||
	fail "failed ADD error: $(cat "$dir/bad.out")"
ip -n "$host" link show "$hostif" >/dev/null 2>&1 && fail "failed ADD left $hostif"
[ -z "$(ls "$dir/ipam/handoff" | grep -E '^(10\.66|fd66)')" ] ||
	fail "failed ADD left leases: $(ls "$dir/ipam/handoff")"

# --- bad configuration: CNI error JSON naming the field, non-zero exit.
if run ADD "$netns" '"hostMAC": 42,' >"$dir/bad.out"; then fail "hostMAC 42 accepted"; fi
jq -e '.cniVersion == "1.0.0" and .code == 7 and
	(.msg | startswith("hostMAC: must be a string like ee:ee:ee:ee:ee:ee"))' "$dir/bad.out" \
	>/dev/null || fail "bad hostMAC answer: $(cat "$dir/bad.out")"
if run ADD "$netns" '"hostMac": "ee:ee:ee:ee:ee:ee",' >"$dir/bad.out"; then fail "unknown field accepted"; fi
jq -e '.code == 2 and (.msg | startswith("hostMac: unknown field"))' "$dir/bad.out" >/dev/null ||
	fail "unknown field answer: $(cat "$dir/bad.out")"
ip -n "$host" link show "$hostif" >/dev/null 2>&1 && fail "rejected ADD created $hostif"

# --- a VM pod (HANDOFF_TAP=1 in CNI_ARGS, mtu 1400) under an older spec version (0.3.1):
# tap0 appears in the pod, up; the result lists it and gives ips a "version".
ip netns add "$vmpod"
vmconf='{"cniVersion": "0.3.1", "name": "handoff", "type": "handoff-cni", "mtu": 1400,
 "endpointDir": "'$dir'/endpoints",
 "ipam": {"type": "host-local", "dataDir": "'$dir'/ipam", "ranges": [[{"subnet": "10.66.0.0/24"}]]}}'
vmrun() {
	echo "$vmconf" | ip netns exec "$host" env CNI_COMMAND="$1" CNI_CONTAINERID=vm-$tag \
		CNI_NETNS="/run/netns/$vmpod" CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=kubevirt;K8S_POD_NAME=vm2;HANDOFF_TAP=1" "$cni"
}
vmrun ADD >"$dir/vm.json" || fail "tap ADD: $(cat "$dir/vm.json")"
jq -e '.cniVersion == "0.3.1" and .ips[0].version == "4" and
	(.interfaces | map(.name) | index("tap0")) != null' "$dir/vm.json" >/dev/null ||
	fail "tap ADD result: $(cat "$dir/vm.json")"
ip -n "$vmpod" -d link show tap0 | has "tun type tap" || fail "no tap device tap0 in the VM pod"
ip -n "$vmpod" link show tap0 | has "<.*UP.*>" || fail "tap0 is not up"
ip -n "$vmpod" link show eth0 | has "mtu 1400 " || fail "mtu 1400 not set on the pod's eth0"
vmif=$(jq -r '.interfaces[0].name' "$dir/vm.json")
ip -n "$host" link show "$vmif" | has "mtu 1400 " || fail "mtu 1400 not set on $vmif"
vmrun DEL >"$dir/vm.out" || fail "tap DEL: $(cat "$dir/vm.out")"
ip -n "$vmpod" link show tap0 >/dev/null 2>&1 && fail "DEL left tap0"
[ -e "$dir/endpoints/vm-$tag.json" ] && fail "DEL left the VM pod's record"

# --- the whole chain: the watcher reads the record the CNI wrote and programs
# the pod's route itself (the Pod carries no IPs yet), and traffic flows.
watcher=$build/watcher/handoff-watcher
mkdir -p "$dir/ds"
printf 'apiVersion: v1\nkind: Pod\nmetadata: {namespace: kubevirt, name: virt-launcher-vm1}\nspec: {nodeName: node-1}\n' \
	>"$dir/ds/pod.yaml"
ip netns exec "$host" "$watcher" run --node node-1 --datastore "dir:$dir/ds" \
	--endpoint-dir "$dir/endpoints" --http 127.0.0.1:9099 --state-file "$dir/state.json" >"$dir/watcher.log" 2>&1 &
# shellcheck disable=SC2034 # cleanup_pid reads it by name
wpid=$!
cleanup_pid wpid
run ADD "$netns" >"$dir/result.json" || fail "ADD (with the watcher): $(cat "$dir/result.json")"
addr=$(jq -r '.ips[0].address | split("/")[0]' "$dir/result.json") # host-local hands out round-robin
ok=
for _ in $(seq 100); do # bounded: 5 s
	ip -n "$host" route show "$addr" proto 88 | has "dev $hostif" && ok=1 && break
	sleep 0.05
done
[ -n "$ok" ] || fail "the watcher did not route $addr via $hostif: $(cat "$dir/watcher.log")"
ip netns exec "$pod" ping -c 1 -W 2 10.99.0.1 >/dev/null || fail "no traffic through the watcher's route"
run DEL "$netns" >"$dir/del.out" || fail "DEL (with the watcher): $(cat "$dir/del.out")"

# --- VERSION
echo '{"cniVersion":"1.0.0"}' | CNI_COMMAND=VERSION "$cni" | jq -e \
	'.supportedVersions == ["0.3.0","0.3.1","0.4.0","1.0.0"]' >/dev/null || fail "VERSION"
echo "PASS"
