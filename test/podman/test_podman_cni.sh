#!/usr/bin/env bash
# handoff-cni driven by a real client: Debian's podman (4.3, CNI backend, runc)
# with the conflist shipped in manifests/20-cni-config.yaml, and the watcher
# routing the containers from a folder datastore, as on a node without a
# kubelet. Everything happens in a network namespace this test creates
# (podman runs there through nsenter --net=), with podman's state private to
# the test (containers.conf, storage.conf, --root/--runroot, tmp_dir,
# network_config_dir): nothing lands in the host's /etc/cni/net.d.
#
# Checks: containers get addresses (podman's view = the endpoint record), the
# watcher routes them and programs their ARP drop, traffic flows (container ->
# node, container -> container), `podman rm` leaves nothing behind (lease,
# link, record, route, nft element, container), and neither do CYCLES
# sequential create/remove cycles (default 100) nor 4 workers in parallel.
#
# The image is made offline from busybox-static (`podman import`).
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
build=${HANDOFF_BUILD_DIR:?}
src=${HANDOFF_SOURCE_DIR:?}
cycles=${HANDOFF_PODMAN_CYCLES:-100}
par_cycles=${HANDOFF_PODMAN_PAR_CYCLES:-10} # per worker, 4 workers
tag=$$
net=hpm-$tag
dir=$(mktemp -d /tmp/handoff-podman-XXXXXX)
cleanup_dir "$dir"
cleanup_netns "$net"

# A tail of the log, not all of it (it is long): this test keeps its own fail.
fail() {
	echo "FAIL: $*" >&2
	[ -f "$dir/watcher.log" ] && tail -n 20 "$dir/watcher.log" >&2
	exit 1
}
for t in podman runc conmon; do command -v "$t" >/dev/null || fail "$t missing (hack/install-deps.sh)"; done
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || fail "/bin/busybox (busybox-static) missing"

pm() {
	nsenter --net="/run/netns/$net" env CONTAINERS_CONF="$dir/containers.conf" \
		CONTAINERS_STORAGE_CONF="$dir/storage.conf" \
		podman --root "$dir/root" --runroot "$dir/runroot" "$@"
}
remove_containers() {
	if [ -f "$dir/containers.conf" ]; then
		pm rm -a -f -t 0
		# Podman's per-container mounts live under the runroot: none may outlive us.
		findmnt -rn -o TARGET | grep "^$dir/" | sort -r | xargs -r -n1 umount -l
	fi
}
at_exit remove_containers
wpid=
cleanup_pid wpid

# --- the node: a namespace with an address to reach and a default route
# (proxy ARP answers only for targets routed out of another interface).
ip netns add "$net"
ip -n "$net" link set lo up
ip -n "$net" addr add 10.99.0.1/32 dev lo
ip -n "$net" link add up0 type veth peer name up1
ip -n "$net" link set up0 up
ip -n "$net" link set up1 up
ip -n "$net" route add default dev up0

# --- podman's private configuration and the shipped conflist.
mkdir -p "$dir/net.d" "$dir/tmp" "$dir/rootfs/bin" "$dir/ds" "$dir/endpoints"
cat >"$dir/containers.conf" <<EOF
[containers]
# The sandbox's hard limits are below podman's defaults (runc: rlimit 7).
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$dir/tmp"
[network]
network_backend = "cni"
cni_plugin_dirs = ["$build/cni", "/usr/lib/cni"]
network_config_dir = "$dir/net.d"
EOF
cat >"$dir/storage.conf" <<EOF
[storage]
driver = "vfs"
runroot = "$dir/runroot"
graphroot = "$dir/root"
EOF
python3 - "$src/manifests/20-cni-config.yaml" "$dir" <<'EOF'
import json, sys, yaml
cm = yaml.safe_load(open(sys.argv[1]))
conf = json.loads(cm["data"]["10-handoff.conflist"])
plugin = conf["plugins"][0]
# The test's own folders instead of the node's /run and /var/lib.
plugin["endpointDir"] = sys.argv[2] + "/endpoints"
plugin["ipam"]["dataDir"] = sys.argv[2] + "/ipam"
plugin["ipam"]["nodeRangesFile"] = sys.argv[2] + "/node-ranges.json"
json.dump(conf, open(sys.argv[2] + "/net.d/10-handoff.conflist", "w"), indent=1)
EOF
net_name=$(jq -r .name "$dir/net.d/10-handoff.conflist")
# The conflist says "usePodCidr": the node's own range, which the watcher
# publishes from its Node object (below).
subnet=10.65.0.0/24
prefix=${subnet%.*}. # "10.65.0."

cp /bin/busybox "$dir/rootfs/bin/"
for a in sh sleep ping true; do ln -s busybox "$dir/rootfs/bin/$a"; done
tar -C "$dir/rootfs" -cf "$dir/rootfs.tar" .
pm import --change 'CMD ["/bin/sh"]' "$dir/rootfs.tar" localhost/handoff-test-box >/dev/null ||
	fail "podman import"

# --- the watcher, with a Pod (no namespace: podman's containers are
# default/<name>) for every container this test runs.
{
	for n in web1 web2 $(seq -f 'c%g' 1 "$cycles") $(for w in 1 2 3 4; do seq -f "p$w-%g" 1 "$par_cycles"; done); do
		printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec: {nodeName: node-1}\n' "$n"
	done
} >"$dir/ds/pods.yaml"
printf 'apiVersion: v1\nkind: Node\nmetadata: {name: node-1}\nspec: {podCIDRs: [%s]}\n' "$subnet" >"$dir/ds/node.yaml"
nsenter --net="/run/netns/$net" "$build/watcher/handoff-watcher" run --node node-1 \
	--datastore "dir:$dir/ds" --endpoint-dir "$dir/endpoints" --http 127.0.0.1:9099 \
	--node-ranges "$dir/node-ranges.json" --state-file "$dir/state.json" \
	>"$dir/watcher.log" 2>&1 &
# shellcheck disable=SC2034 # cleanup_pid reads it by name
wpid=$!

# wait_for DESCRIPTION COMMAND...: bounded (10 s).
wait_for() {
	local what=$1
	shift
	for _ in $(seq 200); do
		"$@" && return 0
		sleep 0.05
	done
	fail "timed out: $what"
}
routed() { ip -n "$net" route show "$1" proto 88 | has "dev $2"; }
unrouted() { ! ip -n "$net" route show proto 88 | has .; }
arp_dropped() { ip netns exec "$net" nft list table arp handoff-arp 2>/dev/null | has "saddr ip $1 "; }
no_arp_drop() { ! ip netns exec "$net" nft list ruleset 2>/dev/null | has "$prefix"; }

# no_leaks WHEN: nothing of any container is left.
no_leaks() {
	local leases
	[ -z "$(pm ps -a -q)" ] || fail "$1: containers left: $(pm ps -a)"
	leases=$(ls "$dir/ipam/$net_name" 2>/dev/null | grep -v -e '^lock$' -e '^last_reserved_ip' || true)
	[ -z "$leases" ] || fail "$1: IPAM leases left: $leases"
	! ip -n "$net" -o link | has ' ho[0-9a-f]\{12\}' || fail "$1: links left: $(ip -n "$net" -o link)"
	[ -z "$(ls -A "$dir/endpoints")" ] || fail "$1: records left: $(ls -A "$dir/endpoints")"
	wait_for "$1: routes removed ($(ip -n "$net" route show proto 88 | head -3))" unrouted
	wait_for "$1: ARP drops removed" no_arp_drop
}

# The watcher has published the node's range: the CNI can allocate.
wait_for "the node's ranges published" test -s "$dir/node-ranges.json"

# --- two containers: addresses, routes, ARP drops, traffic.
t0=$(date +%s)
for n in web1 web2; do
	pm run -d --name "$n" --network "$net_name" --cap-add NET_RAW localhost/handoff-test-box \
		sleep 600 >/dev/null || fail "podman run $n"
done
declare -A ip hif
for n in web1 web2; do
	ip[$n]=$(pm inspect -f "{{(index .NetworkSettings.Networks \"$net_name\").IPAddress}}" "$n")
	[[ ${ip[$n]} == "$prefix"* ]] || fail "$n: podman reports address '${ip[$n]}', not in $subnet"
	rec=$(grep -l "\"name\": \"$n\"" "$dir"/endpoints/*.json) || fail "$n: no endpoint record"
	jq -e --arg a "${ip[$n]}/32" '.metadata.namespace == "default" and .spec.addresses == [$a]' "$rec" \
		>/dev/null || fail "$n: record disagrees with podman: $(cat "$rec")"
	hif[$n]=$(jq -r .spec.interface "$rec")
	wait_for "the watcher routes $n (${ip[$n]} dev ${hif[$n]})" routed "${ip[$n]}" "${hif[$n]}"
	wait_for "ARP drop for ${ip[$n]}" arp_dropped "${ip[$n]}"
done
ping_from() { # FROM TO
	pm exec "$1" ping -c 1 -W 2 "$2" >"$dir/ping.out" 2>&1 ||
		fail "$1 cannot reach $2: $(cat "$dir/ping.out")"
}
ping_from web1 10.99.0.1 # the node
ping_from web1 "${ip[web2]}"
ping_from web2 "${ip[web1]}"
pm rm -f -t 0 web1 web2 >/dev/null || fail "podman rm"
no_leaks "after podman rm"
echo "two containers: addressed, routed, traffic, removed cleanly in $(($(date +%s) - t0)) s"

# --- sequential create/remove cycles.
t0=$(date +%s)
for i in $(seq "$cycles"); do
	pm run --rm --name "c$i" --network "$net_name" localhost/handoff-test-box true >"$dir/run.out" 2>&1 ||
		fail "cycle $i: $(cat "$dir/run.out")"
done
no_leaks "after $cycles sequential cycles"
echo "$cycles sequential create/remove cycles in $(($(date +%s) - t0)) s: nothing left"

# --- 4 workers in parallel.
t0=$(date +%s)
pids=()
for w in 1 2 3 4; do
	(
		for i in $(seq "$par_cycles"); do
			pm run --rm --name "p$w-$i" --network "$net_name" localhost/handoff-test-box true \
				>"$dir/par$w.out" 2>&1 || { echo "worker $w cycle $i: $(cat "$dir/par$w.out")"; exit 1; }
		done
	) &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a parallel worker failed"; done
no_leaks "after 4 parallel workers x $par_cycles cycles"
echo "4 parallel workers x $par_cycles cycles in $(($(date +%s) - t0)) s: nothing left"
[ ! -e /etc/cni/net.d/10-handoff.conflist ] || fail "a conflist landed in the host's /etc/cni/net.d"
echo "PASS"
