#!/usr/bin/env bash
# handoff-cni under a runtime's lifecycle, on a real kernel with host-local:
#  - everything is keyed on CNI_CONTAINERID: a DEL for a sandbox that no longer
#    owns the pod's wiring (the kubelet removing an old sandbox after the new
#    one is up, or a repeated DEL) releases that sandbox's lease and nothing
#    else; an ADD while a dead sandbox's wiring is still there takes it over;
#  - a DEL without K8S_POD_* arguments still removes everything ADD made;
#  - endpoint records cannot collide (a_b/c against a/b_c), hold 253-character
#    pod names, and are never written through a planted symlink.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
build=${HANDOFF_BUILD_DIR:?}
cni=$build/cni/handoff-cni
tag=$$
host=hcl-host-$tag
dir=$(mktemp -d /tmp/handoff-cnil-XXXXXX)
cleanup_dir "$dir"
cleanup_netns "$host"
newpod() { # $1: suffix -> a fresh pod namespace /run/netns/hcl-$1-$tag
	cleanup_netns "hcl-$1-$tag"
	ip netns add "hcl-$1-$tag"
}

[ -x /usr/lib/cni/host-local ] || fail "/usr/lib/cni/host-local missing (containernetworking-plugins)"
ip netns add "$host"
ip -n "$host" link set lo up

conf='{"cniVersion": "1.0.0", "name": "handoff", "type": "handoff-cni",
 "endpointDir": "'$dir'/endpoints",
 "ipam": {"type": "host-local", "dataDir": "'$dir'/ipam", "ranges": [[{"subnet": "10.67.0.0/24"}]]}}'
# cni COMMAND CONTAINERID NETNS-SUFFIX CNI_ARGS: one plugin run as a runtime does it.
cni() {
	local ns=""
	[ -n "$3" ] && ns=/run/netns/hcl-$3-$tag
	echo "$conf" | ip netns exec "$host" env CNI_COMMAND="$1" CNI_CONTAINERID="$2" \
		CNI_NETNS="$ns" CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni CNI_ARGS="$4" "$cni"
}
k8s() { echo "IgnoreUnknown=1;K8S_POD_NAMESPACE=$1;K8S_POD_NAME=$2;K8S_POD_INFRA_CONTAINER_ID=x"; }
lease_of() { grep -rlE -- "^$1"$'\r'"?\$" "$dir/ipam/handoff" 2>/dev/null | head -n1 || true; } # host-local: "ID\r\nIFNAME"
records_for() { # records naming pod $1/$2 (regular files only: planted symlinks are not records)
	find "$dir/endpoints" -maxdepth 1 -type f -name '*.json' -exec jq -r --arg ns "$1" --arg n "$2" \
		'select(.metadata.namespace == $ns and .metadata.name == $n) | .spec.containerID' {} + \
		2>/dev/null || true
}

# --- 1. ADD A, DEL A, ADD B, DEL A again: B stays wired.
hif=$(ifname_of vms launcher)
newpod a
newpod b
cni ADD ctr-a a "$(k8s vms launcher)" >"$dir/out" || fail "ADD A: $(cat "$dir/out")"
cni DEL ctr-a a "$(k8s vms launcher)" >"$dir/out" || fail "DEL A: $(cat "$dir/out")"
cni ADD ctr-b b "$(k8s vms launcher)" >"$dir/out" || fail "ADD B: $(cat "$dir/out")"
addr_b=$(jq -r '.ips[0].address | split("/")[0]' "$dir/out")
ip netns del "hcl-a-$tag" # the old sandbox's namespace is gone by the time it is removed
cni DEL ctr-a "" "$(k8s vms launcher)" >"$dir/out" || fail "repeated DEL A: $(cat "$dir/out")"
ip -n "$host" link show "$hif" >/dev/null 2>&1 || fail "a repeated DEL of A removed B's $hif"
ip -n "hcl-b-$tag" addr show dev eth0 | has "inet $addr_b/32" || fail "a repeated DEL of A broke B's eth0"
[ "$(records_for vms launcher)" = ctr-b ] || fail "B's record after DEL A: $(records_for vms launcher)"
[ -n "$(lease_of ctr-b)" ] || fail "a repeated DEL of A released B's lease"

# --- 1b. the kubelet's order without the first DEL: A's sandbox died, B is
# added while A's wiring is still there, then A is deleted. B takes over, and
# A's DEL gives back A's lease only.
newpod c
newpod d
cni ADD ctr-c c "$(k8s vms vm2)" >"$dir/c.json" || fail "ADD C: $(cat "$dir/c.json")"
cni ADD ctr-d d "$(k8s vms vm2)" >"$dir/d.json" || fail "ADD D over C's stale wiring: $(cat "$dir/d.json")"
addr_d=$(jq -r '.ips[0].address | split("/")[0]' "$dir/d.json")
[ "$(records_for vms vm2)" = ctr-d ] || fail "records of vms/vm2 after the takeover: $(records_for vms vm2)"
[ -n "$(lease_of ctr-c)" ] || fail "C's lease vanished before C's DEL"
cni DEL ctr-c c "$(k8s vms vm2)" >"$dir/out" || fail "DEL C: $(cat "$dir/out")"
hif2=$(ifname_of vms vm2)
ip -n "$host" link show "$hif2" >/dev/null 2>&1 || fail "DEL of the stale C removed D's $hif2"
ip -n "hcl-d-$tag" addr show dev eth0 | has "inet $addr_d/32" || fail "DEL of C broke D's eth0"
[ -z "$(lease_of ctr-c)" ] || fail "DEL C kept C's lease"
[ -n "$(lease_of ctr-d)" ] || fail "DEL C released D's lease"
[ "$(records_for vms vm2)" = ctr-d ] || fail "D's record after DEL C: $(records_for vms vm2)"
# CHECK acts on its own container: D's passes, C's (which owns nothing now) does not.
check() { # CONTAINERID POD-SUFFIX RESULT-FILE
	local saved=$conf
	conf=$(jq -c --slurpfile r "$3" '. + {prevResult: $r[0]}' <<<"$conf")
	cni CHECK "$1" "$2" "$(k8s vms vm2)"
	local rc=$?
	conf=$saved
	return $rc
}
check ctr-d d "$dir/d.json" >"$dir/out" || fail "CHECK of D: $(cat "$dir/out")"
if check ctr-c c "$dir/c.json" >"$dir/out"; then fail "CHECK of the replaced C passed"; fi
jq -e '.msg | contains("endpoint record of container ctr-c")' "$dir/out" >/dev/null || fail "CHECK of C: $(cat "$dir/out")"
cni DEL ctr-d d "$(k8s vms vm2)" >"$dir/out" || fail "DEL D: $(cat "$dir/out")"
ip -n "$host" link show "$hif2" >/dev/null 2>&1 && fail "DEL D left $hif2"

# --- 1c. the dead sandbox's namespace (and so its veth) is already gone when
# the new one is added: its record must still not outlive it, or the watcher
# would see two records of one pod.
newpod j
newpod k
cni ADD ctr-j j "$(k8s vms vm5)" >"$dir/out" || fail "ADD J: $(cat "$dir/out")"
ip netns del "hcl-j-$tag"
for _ in $(seq 100); do # the namespace goes asynchronously, its veth with it (bounded: 5 s)
	ip -n "$host" link show "$(ifname_of vms vm5)" >/dev/null 2>&1 || break
	sleep 0.05
done
ip -n "$host" link show "$(ifname_of vms vm5)" >/dev/null 2>&1 && fail "J's veth outlived its namespace"
cni ADD ctr-k k "$(k8s vms vm5)" >"$dir/out" || fail "ADD K: $(cat "$dir/out")"
[ "$(records_for vms vm5)" = ctr-k ] || fail "records of vms/vm5 after J died: $(records_for vms vm5 | tr '\n' ' ')"
cni DEL ctr-j "" "$(k8s vms vm5)" >"$dir/out" || fail "DEL J: $(cat "$dir/out")"
[ "$(records_for vms vm5)" = ctr-k ] || fail "DEL J removed K's record"
ip -n "$host" link show "$(ifname_of vms vm5)" >/dev/null 2>&1 || fail "DEL J removed K's host side"
cni DEL ctr-k k "$(k8s vms vm5)" >"$dir/out" || fail "DEL K: $(cat "$dir/out")"
left=$(ls -A "$dir/endpoints" | grep -e ctr-j -e ctr-k -e "$(ifname_of vms vm5)" || true)
[ -z "$left" ] || fail "files of vms/vm5 left in the endpoint folder: $left"

# --- 2. DEL without K8S_POD_* (runtimes send other CNI_ARGS on DEL).
newpod e
cni ADD ctr-e e "$(k8s vms vm3)" >"$dir/out" || fail "ADD E: $(cat "$dir/out")"
hif3=$(ifname_of vms vm3)
cni DEL ctr-e e "IgnoreUnknown=1" >"$dir/out" || fail "DEL E without K8S args: $(cat "$dir/out")"
ip -n "$host" link show "$hif3" >/dev/null 2>&1 && fail "DEL without K8S args left $hif3"
ip -n "hcl-e-$tag" link show eth0 >/dev/null 2>&1 && fail "DEL without K8S args left eth0"
[ -z "$(records_for vms vm3)" ] || fail "DEL without K8S args left the record"
[ -z "$(lease_of ctr-e)" ] || fail "DEL without K8S args left the lease"
cni DEL ctr-e "" "" >"$dir/out" || fail "DEL E again, no netns, no args: $(cat "$dir/out")"

# --- 5. records cannot collide; a 253-character name works.
newpod f
newpod g
cni ADD ctr-f f "$(k8s a_b c)" >"$dir/out" || fail "ADD a_b/c: $(cat "$dir/out")"
cni ADD ctr-g g "$(k8s a b_c)" >"$dir/out" || fail "ADD a/b_c: $(cat "$dir/out")"
[ "$(records_for a_b c)" = ctr-f ] || fail "record of a_b/c: $(records_for a_b c)"
[ "$(records_for a b_c)" = ctr-g ] || fail "record of a/b_c: $(records_for a b_c)"
cni DEL ctr-g g "$(k8s a b_c)" >"$dir/out" || fail "DEL a/b_c: $(cat "$dir/out")"
[ "$(records_for a_b c)" = ctr-f ] || fail "DEL of a/b_c removed the record of a_b/c"
cni DEL ctr-f f "$(k8s a_b c)" >"$dir/out" || fail "DEL a_b/c: $(cat "$dir/out")"
long=$(printf 'p%.0s' $(seq 253))
newpod h
cni ADD ctr-h h "$(k8s kubevirt "$long")" >"$dir/out" || fail "ADD of a 253-character pod: $(cat "$dir/out")"
[ "$(records_for kubevirt "$long")" = ctr-h ] || fail "no record for the 253-character pod"
cni DEL ctr-h h "$(k8s kubevirt "$long")" >"$dir/out" || fail "DEL of the 253-character pod: $(cat "$dir/out")"
[ -z "$(records_for kubevirt "$long")" ] || fail "DEL left the 253-character pod's record"

# --- 5b. planted symlinks at the record's names are never written through.
echo precious >"$dir/victim"
newpod i
mkdir -p "$dir/endpoints"
for n in ctr-i.json ctr-i.json.tmp .ctr-i.json.tmp vms_vm4.json vms_vm4.json.tmp; do
	ln -sf "$dir/victim" "$dir/endpoints/$n"
done
cni ADD ctr-i i "$(k8s vms vm4)" >"$dir/out" || fail "ADD I: $(cat "$dir/out")"
[ "$(cat "$dir/victim")" = precious ] || fail "a record was written through a planted symlink"
[ "$(records_for vms vm4)" = ctr-i ] || fail "no record for vms/vm4"
cni DEL ctr-i i "$(k8s vms vm4)" >"$dir/out" || fail "DEL I: $(cat "$dir/out")"
[ "$(cat "$dir/victim")" = precious ] || fail "DEL wrote through a planted symlink"
echo "PASS"
