#!/usr/bin/env bash
# handoff-watcher run adopts the taps a hypervisor makes for its
# WorkloadEndpoints (watcher/taps.c), on a real kernel:
#   - an endpoint whose tap does not exist yet waits without error; the tap,
#     created down with a random MAC (as QEMU with script=no leaves it), is
#     prepared when it appears: the gateway MAC given by --gateway-mac, up,
#     proxy ARP without delay, rp_filter off, forwarding; the guest's route
#     goes through it;
#     the host's ARP replies claiming the guest's own address are dropped;
#   - the tap deleted and made again (a guest restarted by libvirt) is
#     prepared again;
#   - the hypervisor resetting the MAC is undone at once;
#   - a tap the hypervisor brought up with its own MAC (libvirt) also gets
#     the gateway's IPv6 link-local address (EUI-64 of the gateway MAC), which
#     the kernel derives by itself only for a link that comes up with it;
#   - another host's endpoint's tap is left alone;
#   - an invalid --gateway-mac stops the watcher with a message naming it.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
build=${HANDOFF_BUILD_DIR:?}
watcher=$build/watcher/handoff-watcher
tag=$$
node=hwt-node-$tag
dir=$(mktemp -d /tmp/handoff-taps-XXXXXX)
cleanup_dir "$dir"
cleanup_netns "$node"
pid=
cleanup_pid pid
fail_log "watcher log" "$dir/log"
GW=02:aa:bb:cc:dd:ee
GWLL=fe80::aa:bbff:fecc:ddee # EUI-64 link-local of $GW
TAP=tap0a1b2c3d-4e OTHER=tap99999999-99 UPTAP=tap77777777-77

# until_ok SECONDS WHAT COMMAND...: by the clock, polling every 20 ms.
until_ok() {
	local secs=$1 end=$((SECONDS + $1)) what=$2
	shift 2
	while [ "$SECONDS" -lt "$end" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	fail "timed out after $secs s waiting for: $what"
}
link_json() { ip -n "$node" -j link show "$1" | jq -r ".[0].$2"; }
prepared() {
	[ "$(link_json "$1" address)" = "$GW" ] &&
		link_json "$1" 'flags | join(",")' | grep -qw UP &&
		[ "$(ip netns exec "$node" sysctl -n "net.ipv4.conf.$1.proxy_arp")" = 1 ] &&
		[ "$(ip netns exec "$node" sysctl -n "net.ipv4.neigh.$1.proxy_delay")" = 0 ] &&
		[ "$(ip netns exec "$node" sysctl -n "net.ipv4.conf.$1.rp_filter")" = 0 ] &&
		[ "$(ip netns exec "$node" sysctl -n "net.ipv4.conf.$1.forwarding")" = 1 ]
}
route_via() { [ "$(ip -n "$node" -j route show 10.65.0.20 | jq -r '.[0].dev')" = "$1" ]; }
has_gw_ll() { ip -n "$node" -6 -j addr show dev "$1" | jq -e --arg a "$GWLL" '[.[0].addr_info[].local] | index($a) != null'; }
adoptions() { grep -c "msg=\"Adopted hypervisor interface\" interface=$TAP id=openstack/wep-a " "$dir/log" || true; }

mkdir -p "$dir/ds"
ip netns add "$node"
ip -n "$node" link set lo up

# An invalid gateway MAC is refused by name.
if ip netns exec "$node" "$watcher" run --node host-a --datastore "dir:$dir/ds" \
	--gateway-mac 01:00:5e:00:00:01 >"$dir/bad.log" 2>&1; then
	fail "a multicast --gateway-mac was accepted"
fi
grep -q -- '--gateway-mac: \\"01:00:5e:00:00:01\\" is not a unicast MAC address' "$dir/bad.log" ||
	fail "the refusal does not name --gateway-mac: $(cat "$dir/bad.log")"

wep() {
	cat <<YAML
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {namespace: openstack, name: $1}
spec: {node: $2, orchestrator: openstack, workload: inst-$1, endpoint: port-$1,
       interfaceName: $3, ipNetworks: [$4/32], mac: "fa:16:3e:00:00:01"}
YAML
}
# libvirt's way: the tap exists and is up, with the port's MAC, before the watcher knows it.
ip -n "$node" tuntap add "$UPTAP" mode tap
ip -n "$node" link set "$UPTAP" address fe:16:3e:00:00:09 up
{
	wep wep-a host-a "$TAP" 10.65.0.20
	echo ---
	wep wep-up host-a "$UPTAP" 10.65.0.22
	echo ---
	wep wep-other host-b "$OTHER" 10.65.0.21
} >"$dir/ds/.weps.tmp"
mv "$dir/ds/.weps.tmp" "$dir/ds/weps.yaml"

ip netns exec "$node" "$watcher" run --node host-a --datastore "dir:$dir/ds" \
	--gateway-mac "$GW" --http 127.0.0.1:9099 --log-level debug --state-file "$dir/state.json" >"$dir/log" 2>&1 &
# shellcheck disable=SC2034 # cleanup_pid reads it by name
pid=$!
until_ok 10 "the watcher ready" ip netns exec "$node" curl -sf http://127.0.0.1:9099/readyz
grep -q "Hypervisor interface not there yet.* interface=$TAP" "$dir/log" ||
	fail "the missing tap was not noted"

# The hypervisor makes the taps now, down, with random MACs.
ip -n "$node" tuntap add "$TAP" mode tap
ip -n "$node" tuntap add "$OTHER" mode tap
other_mac=$(link_json "$OTHER" address)
until_ok 5 "$TAP prepared after it appeared" prepared "$TAP"
until_ok 5 "the guest's route via $TAP" route_via "$TAP"
[ "$(adoptions)" = 1 ] || fail "adopted $(adoptions) times, not once"
# The host never answers ARP for the guest's own address on its tap.
arp_dropped() {
	ip netns exec "$node" nft list chain arp handoff-arp "wl-$TAP" | grep -q "arp saddr ip 10.65.0.20 .*drop"
}
until_ok 5 "ARP replies for the guest's own address dropped on $TAP" arp_dropped

until_ok 5 "$TAP's gateway link-local address" has_gw_ll "$TAP"
until_ok 5 "$UPTAP prepared" prepared "$UPTAP"
until_ok 5 "$UPTAP's gateway link-local address, added" has_gw_ll "$UPTAP"

# The hypervisor resets the MAC: put back.
ip -n "$node" link set "$TAP" address fe:16:3e:00:00:01
until_ok 5 "$TAP's gateway MAC restored" prepared "$TAP"

# Recreated (the guest restarted): prepared again, logged as a new adoption.
ip -n "$node" link del "$TAP"
ip -n "$node" tuntap add "$TAP" mode tap
until_ok 5 "$TAP prepared after it was made again" prepared "$TAP"
until_ok 5 "the guest's route via the new $TAP" route_via "$TAP"
[ "$(adoptions)" = 2 ] || fail "adopted $(adoptions) times after the re-creation, not twice"

# Another host's endpoint: its tap is not ours to touch.
[ "$(link_json "$OTHER" address)" = "$other_mac" ] || fail "$OTHER's MAC was changed"
link_json "$OTHER" 'flags | join(",")' | grep -qw UP && fail "$OTHER was brought up"
[ "$(ip netns exec "$node" sysctl -n "net.ipv4.conf.$OTHER.proxy_arp")" = 0 ] ||
	fail "$OTHER got proxy ARP"
echo "PASS: taps adopted when they appear, again when re-made or reset; other hosts' left alone"
