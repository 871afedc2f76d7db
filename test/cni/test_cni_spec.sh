#!/usr/bin/env bash
# handoff-cni against the CNI spec's details and callers other than the
# kubelet, on a real kernel:
#  - podman's CNI_ARGS (K8S_POD_NAME, no namespace) and a plain caller's (none)
#    get an identity (default/<name>, default/<container id>) the watcher can
#    route through the folder datastore;
#  - chained: prevResult's interfaces, IPs and DNS kept, ours appended;
#  - IPAM's error code passed through (11 stays 11) and IPAM DEL after any
#    failed ADD; IPAM's routes installed and reported;
#  - CHECK notices a missing default or IPAM route, proxy_arp off, a missing record;
#  - VERSION in the requested version; details carry the field's value; a
#    configuration without name is code 7.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
build=${HANDOFF_BUILD_DIR:?}
cni=$build/cni/handoff-cni
tag=$$
host=hcs-host-$tag
dir=$(mktemp -d /tmp/handoff-cnis-XXXXXX)
cleanup_dir "$dir"
cleanup_netns "$host"
wpid=
cleanup_pid wpid
newpod() {
	cleanup_netns "hcs-$1-$tag"
	ip netns add "hcs-$1-$tag"
}

[ -x /usr/lib/cni/host-local ] || fail "/usr/lib/cni/host-local missing (containernetworking-plugins)"
ip netns add "$host"
ip -n "$host" link set lo up
ip -n "$host" addr add 10.99.0.1/32 dev lo
ip -n "$host" link add up0 type veth peer name up1
ip -n "$host" link set up0 up
ip -n "$host" link set up1 up
ip -n "$host" route add default dev up0

# A fake IPAM plugin next to host-local: logs each command, and fails ADD with
# the code in $dir/fake-code (when that file exists).
mkdir -p "$dir/bin"
cp /usr/lib/cni/host-local "$dir/bin/"
cat >"$dir/bin/fake-ipam" <<EOF
#!/bin/sh
cat >/dev/null
echo "\$CNI_COMMAND \$CNI_CONTAINERID" >>"$dir/fake.log"
if [ "\$CNI_COMMAND" = ADD ] && [ -e "$dir/fake-code" ]; then
	printf '{"cniVersion":"1.0.0","code":%s,"msg":"pool busy","details":"try in 5s"}\n' "\$(cat "$dir/fake-code")"
	exit 1
fi
[ "\$CNI_COMMAND" = ADD ] && echo '{"cniVersion":"1.0.0","ips":[{"address":"10.68.0.9/24"}]}'
exit 0
EOF
chmod +x "$dir/bin/fake-ipam"

ipam_hl='{"type": "host-local", "dataDir": "'$dir'/ipam", "ranges": [[{"subnet": "10.67.0.0/24"}]],
          "routes": [{"dst": "10.200.0.0/16"}, {"dst": "0.0.0.0/0"}]}'
# cni COMMAND CONTAINERID POD-SUFFIX CNI_ARGS [CONF]
cni() {
	local ns=""
	[ -n "$3" ] && ns=/run/netns/hcs-$3-$tag
	local conf=${5:-'{"cniVersion": "1.0.0", "name": "handoff", "type": "handoff-cni",
	  "endpointDir": "'$dir'/endpoints", "ipam": '$ipam_hl'}'}
	echo "$conf" | ip netns exec "$host" env CNI_COMMAND="$1" CNI_CONTAINERID="$2" \
		CNI_NETNS="$ns" CNI_IFNAME=eth0 CNI_PATH="$dir/bin" CNI_ARGS="$4" "$cni"
}
record_of() { cat "$dir/endpoints/$1.json"; }

# --- item 3: podman (name, no namespace) and a plain caller (neither).
newpod p
cni ADD podctr1 p "IgnoreUnknown=1;K8S_POD_NAME=web" >"$dir/out" || fail "podman-style ADD: $(cat "$dir/out")"
record_of podctr1 | jq -e '.metadata == {"namespace": "default", "name": "web"}' >/dev/null ||
	fail "podman-style record: $(record_of podctr1)"
pif=$(ifname_of default web)
ip -n "$host" link show "$pif" >/dev/null 2>&1 || fail "podman-style ADD: no host side $pif"
newpod q
cni ADD plainctr2 q "" >"$dir/out" || fail "plain ADD: $(cat "$dir/out")"
record_of plainctr2 | jq -e '.metadata == {"namespace": "default", "name": "plainctr2"}' >/dev/null ||
	fail "plain record: $(record_of plainctr2)"
ip -n "$host" link show "$(ifname_of default plainctr2)" >/dev/null 2>&1 || fail "plain ADD: no host side"

# The watcher routes the podman-style endpoint from a Pod without a namespace.
mkdir -p "$dir/ds"
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {nodeName: node-1}\n' >"$dir/ds/web.yaml"
ip netns exec "$host" "$build/watcher/handoff-watcher" run --node node-1 --datastore "dir:$dir/ds" \
	--endpoint-dir "$dir/endpoints" --http 127.0.0.1:9099 --state-file "$dir/state.json" \
	>"$dir/watcher.log" 2>&1 &
wpid=$!
addr=$(record_of podctr1 | jq -r '.spec.addresses[0] | split("/")[0]')
ok=
for _ in $(seq 100); do # bounded: 5 s
	ip -n "$host" route show "$addr" proto 88 | has "dev $pif" && ok=1 && break
	sleep 0.05
done
[ -n "$ok" ] || fail "the watcher did not route the podman-style $addr via $pif: $(tail -5 "$dir/watcher.log")"
ip netns exec "hcs-p-$tag" ping -c 1 -W 2 10.99.0.1 >/dev/null || fail "no traffic from the podman-style pod"
cni DEL podctr1 p "IgnoreUnknown=1;K8S_POD_NAME=web" >"$dir/out" || fail "podman-style DEL: $(cat "$dir/out")"
ok=
for _ in $(seq 100); do
	ip -n "$host" route show "$addr" proto 88 | has . || { ok=1 && break; }
	sleep 0.05
done
[ -n "$ok" ] || fail "the watcher kept the route of $addr after DEL"
kill "$wpid"
wait "$wpid" 2>/dev/null || true
wpid=
cni DEL plainctr2 q "" >"$dir/out" || fail "plain DEL: $(cat "$dir/out")"

# --- IPAM routes: installed in the pod via our gateway and reported; IPAM's
# default route is ours already, not doubled.
newpod r
cni ADD rctr r "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=r" >"$dir/r.json" || fail "ADD with IPAM routes: $(cat "$dir/r.json")"
ip -n "hcs-r-$tag" route | has "^10.200.0.0/16 via 169.254.1.1 dev eth0" ||
	fail "IPAM route 10.200.0.0/16 not installed: $(ip -n "hcs-r-$tag" route)"
jq -e '(.routes | index({"dst": "10.200.0.0/16", "gw": "169.254.1.1"})) != null and
	([.routes[] | select(.dst == "0.0.0.0/0")] | length) == 1' "$dir/r.json" >/dev/null ||
	fail "IPAM routes in the result: $(cat "$dir/r.json")"

# --- CHECK: healthy passes; then each broken piece is named.
rconf() {
	echo '{"cniVersion": "1.0.0", "name": "handoff", "type": "handoff-cni",
	  "endpointDir": "'$dir'/endpoints", "ipam": '$ipam_hl', "prevResult": '"$(cat "$dir/r.json")"'}'
}
check() { cni CHECK rctr r "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=r" "$(rconf)"; }
check >"$dir/out" || fail "CHECK on a healthy pod: $(cat "$dir/out")"
rif=$(ifname_of ns r)
ip netns exec "$host" sh -c "echo 0 >/proc/sys/net/ipv4/conf/$rif/proxy_arp"
if check >"$dir/out"; then fail "CHECK passed with proxy_arp off"; fi
jq -e '.msg | contains("proxy_arp")' "$dir/out" >/dev/null || fail "CHECK proxy_arp answer: $(cat "$dir/out")"
ip netns exec "$host" sh -c "echo 1 >/proc/sys/net/ipv4/conf/$rif/proxy_arp"
ip -n "hcs-r-$tag" route del default
if check >"$dir/out"; then fail "CHECK passed without the pod's default route"; fi
jq -e '.msg | contains("default route")' "$dir/out" >/dev/null || fail "CHECK route answer: $(cat "$dir/out")"
ip -n "hcs-r-$tag" route add default via 169.254.1.1 dev eth0
check >"$dir/out" || fail "CHECK after repair: $(cat "$dir/out")"
ip -n "hcs-r-$tag" route del 10.200.0.0/16
if check >"$dir/out"; then fail "CHECK passed without IPAM's route 10.200.0.0/16"; fi
jq -e '.msg | contains("route to 10.200.0.0/16 via 169.254.1.1")' "$dir/out" >/dev/null ||
	fail "CHECK IPAM route answer: $(cat "$dir/out")"
ip -n "hcs-r-$tag" route add 10.200.0.0/16 via 169.254.1.1 dev eth0
check >"$dir/out" || fail "CHECK after the IPAM route's repair: $(cat "$dir/out")"
mv "$dir/endpoints/rctr.json" "$dir/rctr.json"
if check >"$dir/out"; then fail "CHECK passed without the endpoint record"; fi
jq -e '.msg | contains("endpoint record")' "$dir/out" >/dev/null || fail "CHECK record answer: $(cat "$dir/out")"
mv "$dir/rctr.json" "$dir/endpoints/rctr.json"

# --- chained: a previous plugin's interface, IP and DNS kept, ours appended.
newpod c
prev='{"cniVersion": "1.0.0", "interfaces": [{"name": "net1", "sandbox": "/x"}],
  "ips": [{"address": "192.0.2.5/24", "interface": 0}],
  "routes": [{"dst": "192.0.2.0/24"}], "dns": {"nameservers": ["192.0.2.53"]}}'
cconf='{"cniVersion": "1.0.0", "name": "handoff", "type": "handoff-cni",
  "endpointDir": "'$dir'/endpoints", "ipam": '$ipam_hl', "prevResult": '$prev'}'
cni ADD cctr c "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=c" "$cconf" >"$dir/c.json" ||
	fail "chained ADD: $(cat "$dir/c.json")"
jq -e '.interfaces[0].name == "net1" and .interfaces[2].name == "eth0" and
	.ips[0].address == "192.0.2.5/24" and .ips[0].interface == 0 and
	.ips[1].interface == 2 and (.ips[1].address | endswith("/32")) and
	(.routes | index({"dst": "192.0.2.0/24"})) != null and
	.dns.nameservers == ["192.0.2.53"]' "$dir/c.json" >/dev/null || fail "chained result: $(cat "$dir/c.json")"

# --- IPAM errors: code 11 passed through with its details, and IPAM DEL called.
fconf='{"cniVersion": "1.0.0", "name": "handoff", "type": "handoff-cni",
  "endpointDir": "'$dir'/endpoints", "ipam": {"type": "fake-ipam"}}'
newpod f
echo 11 >"$dir/fake-code"
if cni ADD fctr f "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=f" "$fconf" >"$dir/out"; then
	fail "ADD succeeded with IPAM failing"
fi
jq -e '.code == 11 and (.msg | contains("pool busy")) and .details == "try in 5s"' "$dir/out" >/dev/null ||
	fail "IPAM's code 11 not passed through: $(cat "$dir/out")"
[ "$(cat "$dir/fake.log")" = "$(printf 'ADD fctr\nDEL fctr')" ] || fail "IPAM calls on a failed IPAM ADD: $(cat "$dir/fake.log")"
# A failure after IPAM succeeded (the pod's namespace is gone) releases too.
rm -f "$dir/fake-code" "$dir/fake.log"
if cni ADD gctr gone "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=g" "$fconf" >"$dir/out"; then
	fail "ADD into a missing namespace succeeded"
fi
[ "$(cat "$dir/fake.log")" = "$(printf 'ADD gctr\nDEL gctr')" ] || fail "IPAM calls on a failed ADD: $(cat "$dir/fake.log")"

# --- configuration errors: no name is 7; details carry the offending value.
noname='{"cniVersion": "1.0.0", "type": "handoff-cni", "ipam": '$ipam_hl'}'
if cni ADD nctr f "" "$noname" >"$dir/out"; then fail "a configuration without name was accepted"; fi
jq -e '.code == 7 and (.msg | startswith("name: required"))' "$dir/out" >/dev/null || fail "no name: $(cat "$dir/out")"
typo='{"cniVersion": "1.0.0", "name": "handoff", "hostMac": "ee:ee:ee:00:00:01", "ipam": '$ipam_hl'}'
if cni ADD nctr f "" "$typo" >"$dir/out"; then fail "an unknown field was accepted"; fi
jq -e '.code == 2 and .details == "\"ee:ee:ee:00:00:01\""' "$dir/out" >/dev/null || fail "code 2 details: $(cat "$dir/out")"

# --- VERSION answers in the version it was asked in.
for v in 0.3.1 0.4.0 1.0.0; do
	echo "{\"cniVersion\":\"$v\"}" | CNI_COMMAND=VERSION "$cni" | jq -e --arg v "$v" \
		'.cniVersion == $v and (.supportedVersions | index($v)) != null' >/dev/null || fail "VERSION asked in $v"
done
echo "PASS"
