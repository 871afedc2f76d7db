#!/usr/bin/env bash
# The shipped DaemonSet's pod, run for real: `podman kube play` of its pod
# template with the image hack/build-image.sh builds (offline, cached by
# content) and the shipped ConfigMap, inside a network namespace that plays
# the node, against hack/test-apiserver.py on that node's loopback.
#
# It checks what an operator relies on:
#   - the init container installs handoff-cni, host-local and the conflist on
#     the "host" (a temporary directory standing for the host paths), and
#     keeps the host's own loopback, which is newer;
#   - the watcher, with the in-cluster configuration (service-account token
#     and CA mounted, KUBERNETES_SERVICE_HOST/PORT), becomes Ready (/readyz
#     200) and publishes the node's spec.podCIDRs;
#   - BIRD and bird6 start on the watcher's configuration, listen for BGP, and
#     are reconfigured by the watcher when a BGPPeer appears; a peer node
#     (its own BIRD and bird6 in another namespace) learns this node's IPv4
#     and IPv6 pod blocks from them;
#   - a pod wired by the installed handoff-cni, run from the "host" directory
#     as its root (chroot: a host that has nothing but libc), gets an address
#     from the node's range, the watcher routes it, and traffic flows.
#
# What podman 4.3 cannot take from a DaemonSet is adapted, and nothing else
# (/work/shared/podman-notes.md): the pod template becomes a kind Pod with
# restartPolicy OnFailure; spec.nodeName (fieldRef) comes from an annotation;
# the service account's token and CA are a hostPath at the usual mount point;
# KUBERNETES_SERVICE_HOST/PORT are literal env; hostPath paths are moved under
# the temporary host directory; `ports` is dropped (podman 4.3 refuses port
# mappings with host networking, "PortMappings can only be used with Bridge
# or slirp4netns networking"; Kubernetes takes them as documentation of the
# host port). Capabilities, volumes, commands and images are the manifest's
# own.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
src=${HANDOFF_SOURCE_DIR:?}
build=${HANDOFF_BUILD_DIR:?}
podman_dir=${HANDOFF_PODMAN_DIR:-$build/podman}
tag=$$
ns=hpod-node-$tag nsb=hpod-nodeb-$tag podns=hpod-pod-$tag
dir=$(mktemp -d /tmp/handoff-podman-XXXXXX)
cleanup_dir "$dir"
cleanup_netns "$ns" "$nsb" "$podns"
host=$dir/host
api_pid= played=

# Diagnostics come from podman and the API server: this test keeps its own fail.
fail() {
	echo "FAIL: $*" >&2
	if [ -n "$played" ]; then
		for c in watcher bird bird6; do
			echo "--- $c log" >&2
			pm logs "handoff-node-a-$c" 2>&1 | tail -n 30 >&2 || true
		done
		pm ps -a >&2 || true
	fi
	echo "--- API server log" >&2
	tail -n 20 "$dir/api.log" >&2 || true
	exit 1
}
stop_nodeb_birds() {
	local f
	for f in "$dir"/nodeb/*.pid; do
		[ -f "$f" ] && kill "$(cat "$f")"
	done
}
at_exit stop_nodeb_birds
cleanup_pid api_pid
remove_pod() {
	if [ -n "$played" ]; then
		pm pod rm -f -t 2 handoff-node-a
		# The volume --configmap made: the next run gets the ConfigMap afresh.
		pm volume rm -f handoff-cni
	fi
}
at_exit remove_pod
wait_for() { # DESCRIPTION SECONDS COMMAND...: poll every 0.2 s
	local what=$1 n=$(($2 * 5))
	shift 2
	for _ in $(seq "$n"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	fail "$what"
}

# --- The image (built once by hack/test.sh; a no-op here when up to date).
t0=$(date +%s)
ref=$(bash "$src/hack/build-image.sh" --podman-dir "$podman_dir" 2>"$dir/build.log") ||
	fail "image build: $(tail -n 20 "$dir/build.log")"
echo "image $ref ready in $(($(date +%s) - t0)) s: $(tail -n 1 "$dir/build.log")"
# shellcheck source=hack/podman-env.sh
. "$src/hack/podman-env.sh" "$podman_dir"
# podman runs inside the node's namespace (nsenter, not `ip netns exec`,
# which remounts /sys and hides the cgroup mounts runc needs).
pm() { nsenter --net="/run/netns/$ns" podman "${podman_global[@]}" "$@"; }

# --- The node: a namespace with the node's addresses and a default route.
ip netns add "$ns"
ip -n "$ns" link set lo up
# node-b, its BGP peer, on the other end of the node's link (up0 -- up1).
ip netns add "$nsb"
ip -n "$nsb" link set lo up
ip -n "$ns" link add up0 type veth peer name up1 netns "$nsb"
ip -n "$ns" addr add 10.99.0.1/24 dev up0
ip -n "$ns" addr add fd99::1/64 dev up0 nodad
ip -n "$ns" link set up0 up
ip -n "$ns" route add default dev up0
ip -n "$ns" -6 route add default dev up0
ip -n "$nsb" addr add 10.99.0.2/24 dev up1
ip -n "$nsb" addr add fd99::2/64 dev up1 nodad
ip -n "$nsb" link set up1 up

# --- The API server on the node's loopback, with this node, a peer node and
# the BGP configuration.
mkdir -p "$dir/sa" "$host"
cat >"$dir/objects.yaml" <<'YAML'
apiVersion: v1
kind: Node
metadata: {name: node-a}
spec: {podCIDRs: [10.71.0.0/24, "fd71::/64"]}
status: {addresses: [{type: InternalIP, address: 10.99.0.1}, {type: InternalIP, address: "fd99::1"}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-b}
spec: {podCIDRs: [10.71.1.0/24, "fd71:0:0:1::/64"]}
status: {addresses: [{type: InternalIP, address: 10.99.0.2}, {type: InternalIP, address: "fd99::2"}]}
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 64512, nodeToNodeMeshEnabled: true}
YAML
ip netns exec "$ns" /usr/bin/python3 "$src/hack/test-apiserver.py" --tls-dir "$dir/tls" \
	--token-file "$dir/sa/token" --ready-file "$dir/ready.json" --objects "$dir/objects.yaml" \
	>"$dir/api.log" 2>&1 &
# shellcheck disable=SC2034 # cleanup_pid reads it by name
api_pid=$!
wait_for "the test API server did not start" 20 test -s "$dir/ready.json"
api_port=$(jq -r .api_port "$dir/ready.json")
control=http://127.0.0.1:$(jq -r .control_port "$dir/ready.json")
post() { ip netns exec "$ns" curl -sf -X POST --data-binary @- "$control/objects"; } # stdin: YAML
cp "$dir/tls/ca.crt" "$dir/sa/ca.crt"

# --- The DaemonSet's pod template as a Pod podman accepts.
python3 - "$src/manifests/30-daemonset.yaml" "$host" "$dir/sa" "$api_port" >"$dir/pod.yaml" <<'PY'
import sys, yaml
ds_path, host, sa, port = sys.argv[1:]
ds = yaml.safe_load(open(ds_path))
tpl = ds["spec"]["template"]
pod = {"apiVersion": "v1", "kind": "Pod",
       "metadata": dict(tpl["metadata"], name="handoff-node-a"), "spec": tpl["spec"]}
spec = pod["spec"]
spec["restartPolicy"] = "OnFailure"           # Always loops init containers in podman 4.3
pod["metadata"].setdefault("annotations", {})["handoff.dev/node-name"] = "node-a"
for c in spec["containers"]:
    c.pop("ports", None)
    for e in c.get("env", []):
        ref = e.get("valueFrom", {}).get("fieldRef", {})
        if ref.get("fieldPath") == "spec.nodeName":
            ref["fieldPath"] = "metadata.annotations['handoff.dev/node-name']"
    if c["name"] == "watcher":
        # What the kubelet provides to a pod with a service account.
        c["env"] += [{"name": "KUBERNETES_SERVICE_HOST", "value": "127.0.0.1"},
                     {"name": "KUBERNETES_SERVICE_PORT", "value": port}]
        c["volumeMounts"].append({"name": "sa-token", "readOnly": True,
                                  "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"})
spec["volumes"].append({"name": "sa-token", "hostPath": {"path": sa, "type": "Directory"}})
for v in spec["volumes"]:
    hp = v.get("hostPath")
    if hp and v["name"] != "sa-token":
        hp["path"] = host + hp["path"]
print(yaml.safe_dump(pod, sort_keys=False))
PY

# The host already has a newer loopback (it speaks CNI 1.1.0; Debian's in the
# image speaks up to 1.0.0): the init container must leave it alone.
mkdir -p "$host/opt/cni/bin"
cat >"$host/opt/cni/bin/loopback" <<'SH'
#!/bin/sh
# the host's own, newer loopback
[ "${CNI_COMMAND:-}" = VERSION ] && echo '{"cniVersion":"1.1.0","supportedVersions":["1.0.0","1.1.0"]}'
exit 0
SH
chmod 0755 "$host/opt/cni/bin/loopback"
cp -p "$host/opt/cni/bin/loopback" "$dir/host-loopback"

# --- kube play: init container first, then the watcher, BIRD and bird6.
pm volume rm -f handoff-cni >/dev/null 2>&1 || true
pm kube play --configmap "$src/manifests/20-cni-config.yaml" "$dir/pod.yaml" >"$dir/play.log" 2>&1 ||
	fail "kube play: $(cat "$dir/play.log")"
played=1

# The init container's work on the "host".
for p in handoff-cni loopback host-local; do
	[ -x "$host/opt/cni/bin/$p" ] || fail "init container did not install $p: $(ls -l "$host/opt/cni/bin" 2>&1)"
done
cmp -s "$src/cni/10-handoff.conflist" "$host/etc/cni/net.d/10-handoff.conflist" ||
	fail "conflist not installed on the host"
cmp -s "$build/cni/handoff-cni" "$host/opt/cni/bin/handoff-cni" ||
	fail "the installed handoff-cni is not this build's"
cmp -s "$dir/host-loopback" "$host/opt/cni/bin/loopback" ||
	fail "the init container replaced the host's newer loopback"
cmp -s /usr/lib/cni/host-local "$host/opt/cni/bin/host-local" ||
	fail "the installed host-local is not Debian's"

# Ready against the API server, with the service account's token.
wait_for "watcher never became Ready (/readyz)" 60 \
	ip netns exec "$ns" curl -sf http://127.0.0.1:9099/readyz
wait_for "node ranges not published on the host" 10 test -s "$host/run/handoff/ipam/node-ranges.json"
jq -e '.node == "node-a" and .podCIDRs == ["10.71.0.0/24", "fd71::/64"]' \
	"$host/run/handoff/ipam/node-ranges.json" >/dev/null ||
	fail "node ranges: $(cat "$host/run/handoff/ipam/node-ranges.json")"

# BIRD and bird6 run on the watcher's configuration: both listen for BGP
# (the mesh peer node-b over IPv4 and IPv6).
listening() { ip netns exec "$ns" ss -Hltn "sport = :179" | has "$1"; }
wait_for "BIRD (IPv4) is not listening on :179" 30 listening '0.0.0.0:179'
wait_for "bird6 is not listening on [::]:179" 30 listening '\[::\]:179'
for c in bird bird6; do
	[ "$(pm inspect -f '{{.State.Status}}' "handoff-node-a-$c")" = running ] || fail "$c is not running"
done
# Each container holds exactly the capabilities the manifest gives it:
# watcher NET_ADMIN (12) + NET_RAW (13); bird, bird6 NET_ADMIN + NET_BIND_SERVICE (10).
capeff() { pm exec "handoff-node-a-$1" /bin/sh -c 'grep ^CapEff: /proc/1/status' | awk '{print $2}'; }
for c in watcher:0000000000003000 bird:0000000000001400 bird6:0000000000001400; do
	got=$(capeff "${c%%:*}") || fail "cannot read ${c%%:*}'s capabilities"
	[ "$got" = "${c#*:}" ] || fail "${c%%:*} runs with capabilities $got, the manifest gives ${c#*:}"
done
# A BGPPeer appears: the watcher rewrites both files and reconfigures both daemons.
post >/dev/null <<'YAML' || fail "POST BGPPeer"
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: tor}
spec: {peerIP: 10.99.0.254, asNumber: 65100}
YAML
post >/dev/null <<'YAML' || fail "POST BGPPeer v6"
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: tor-v6}
spec: {peerIP: "fd99::fe", asNumber: 65100}
YAML
reconfigured() { pm logs handoff-node-a-watcher 2>&1 | has "file=/etc/handoff/bird/$1 reconfigured=yes"; }
wait_for "the watcher did not reconfigure BIRD (bird.cfg)" 20 reconfigured bird.cfg
wait_for "the watcher did not reconfigure bird6 (bird6.cfg)" 20 reconfigured bird6.cfg
metrics=$(ip netns exec "$ns" curl -sf http://127.0.0.1:9098/metrics) || fail "/metrics on --metrics"
echo "$metrics" | has '^handoff_bird_reload_failures_total 0$' ||
	fail "BIRD reload failures: $(echo "$metrics" | grep bird_reload)"
ip netns exec "$ns" curl -sf http://127.0.0.1:9099/healthz | has ok || fail "/healthz"

# --- A pod wired by the installed CNI, the "host" directory as the root: it
# holds the installed plugins and conflist, the watcher's files, and libc
# with its loader (a node with nothing but libc).
ip netns add "$podns"
mkdir -p "$host/lib64" "$host/lib/x86_64-linux-gnu" "$host/proc" "$host/run/netns"
cp /lib64/ld-linux-x86-64.so.2 "$host/lib64/"
cp /lib/x86_64-linux-gnu/libc.so.6 "$host/lib/x86_64-linux-gnu/"
touch "$host/run/netns/pod"
post >/dev/null <<'YAML' || fail "POST Pod"
apiVersion: v1
kind: Pod
metadata: {namespace: apps, name: web-1}
spec: {nodeName: node-a}
YAML
# The plugin's configuration as a runtime derives it from the conflist.
jq '.plugins[0] + {cniVersion: .cniVersion, name: .name}' "$host/etc/cni/net.d/10-handoff.conflist" \
	>"$dir/plugin.json"
cni() { # COMMAND: in the node's namespace, in a private mount namespace
	ip netns exec "$ns" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin CNI_COMMAND="$1" \
		CNI_CONTAINERID="web-1-$tag" CNI_NETNS=/run/netns/pod CNI_IFNAME=eth0 CNI_PATH=/opt/cni/bin \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=apps;K8S_POD_NAME=web-1" \
		unshare -m sh -c 'mount --bind /proc "$0/proc" && mount --bind "/run/netns/$1" "$0/run/netns/pod" &&
			exec chroot "$0" /opt/cni/bin/handoff-cni' "$host" "$podns" <"$dir/plugin.json"
}
cni ADD >"$dir/result.json" 2>"$dir/cni.log" || fail "CNI ADD: $(cat "$dir/result.json" "$dir/cni.log")"
jq -e '(.ips[0].address | test("^10\\.71\\.0\\.[0-9]+/32$")) and
	(.ips[1].address | test("^fd71::[0-9a-f]+/128$"))' "$dir/result.json" >/dev/null ||
	fail "the pod's addresses are not from node-a's range: $(cat "$dir/result.json")"
addr=$(jq -r '.ips[0].address | split("/")[0]' "$dir/result.json")
addr6=$(jq -r '.ips[1].address | split("/")[0]' "$dir/result.json")
hostif=$(jq -r '.interfaces[0].name' "$dir/result.json")
# handoff-cni names the record after the container (the sandbox) it wired.
[ -f "$host/run/handoff/endpoints/web-1-$tag.json" ] || fail "no endpoint record on the host"
[ -e "$host/var/lib/cni/handoff/handoff/$addr" ] || fail "no host-local lease for $addr on the host"
routed() { ip -n "$ns" route show "$1" proto 88 | has "dev $hostif"; }
wait_for "the watcher (in the pod) did not route $addr via $hostif" 10 routed "$addr"
wait_for "the watcher did not route $addr6" 10 bash -c "ip -n $ns -6 route show $addr6 proto 88 | grep -q $hostif"
ip netns exec "$podns" ping -c 1 -w 6 10.99.0.1 >/dev/null || fail "no IPv4 traffic from the pod to the node"
ip netns exec "$podns" ping -6 -c 1 -w 6 fd99::1 >/dev/null || fail "no IPv6 traffic from the pod to the node"

# --- What BGP carries as shipped: node-b's own BIRD and bird6 (configured by
# render-bird from the same resources) learn node-a's pod ranges, IPv4 and
# IPv6, from the BIRD and bird6 running in the pod. The pod's /32 and /128
# stay inside node-a's blocks (announced only while elevated).
mkdir -p "$dir/nodeb"
"$build/watcher/handoff-watcher" render-bird -f "$dir/objects.yaml" --node node-b -o "$dir/nodeb" ||
	fail "render-bird for node-b"
ip netns exec "$nsb" bird -c "$dir/nodeb/bird.cfg" -s "$dir/nodeb/bird.ctl" -P "$dir/nodeb/bird.pid" ||
	fail "node-b's BIRD did not start"
ip netns exec "$nsb" bird6 -c "$dir/nodeb/bird6.cfg" -s "$dir/nodeb/bird6.ctl" -P "$dir/nodeb/bird6.pid" ||
	fail "node-b's bird6 did not start"
learnt() { ip -n "$nsb" "$1" route show "$2" proto bird | has "$2"; }
wait_for "node-b did not learn node-a's IPv4 block 10.71.0.0/24 over BGP" 40 learnt -4 10.71.0.0/24
wait_for "node-b did not learn node-a's IPv6 block fd71::/64 over BGP (bird6)" 40 learnt -6 fd71::/64

cni DEL >"$dir/del.out" 2>>"$dir/cni.log" || fail "CNI DEL: $(cat "$dir/del.out" "$dir/cni.log")"
[ -e "$host/var/lib/cni/handoff/handoff/$addr" ] && fail "DEL left the lease of $addr"
echo "PASS ($(($(date +%s) - t0)) s)"
