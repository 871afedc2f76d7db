#!/usr/bin/env bash
# CNI ADD/DEL latency of handoff-cni (veth, and veth + tap) next to Debian's
# ptp plugin, all with host-local IPAM, run the way a runtime runs them: one
# exec per command, in a namespace that plays the host, a fresh pod interface
# each cycle, the plugins taking turns. Prints the
# median, p90 and max over N cycles (default 20). Root. A benchmark: it prints
# figures and never fails on timing.
#
#   hack/bench-cni.sh [BUILD_DIR] [CYCLES]
set -euo pipefail
build=${1:-${HANDOFF_BUILD_DIR:-build}}
cycles=${2:-20}
cni_dir=$(mktemp -d /tmp/handoff-bench-cni-XXXXXX)
tag=$$
host=hbc-host-$tag pod=hbc-pod-$tag

cleanup() {
	ip netns del "$host" 2>/dev/null || true
	ip netns del "$pod" 2>/dev/null || true
	rm -rf "$cni_dir"
}
trap cleanup EXIT

[ -x "$build/cni/handoff-cni" ] || { echo "no $build/cni/handoff-cni (build first)" >&2; exit 1; }
# Both plugins side by side in one CNI_PATH, next to host-local.
cp "$build/cni/handoff-cni" /usr/lib/cni/ptp /usr/lib/cni/host-local "$cni_dir/"
# handoff-cni in tap mode (tap0 and its tc redirects too), under its own type name.
cp "$build/cni/handoff-cni" "$cni_dir/handoff-tap"
ip netns add "$host"
ip netns add "$pod"
ip -n "$host" link set lo up

# The timing loop runs inside the host namespace, so `ip netns exec` itself is
# not measured; each command is one exec of the plugin, as from a runtime.
cat >"$cni_dir/loop.sh" <<'LOOP'
set -euo pipefail
cycles=$1 dir=$2 netns=$3
conf() {
	cat <<JSON
{"cniVersion": "1.0.0", "name": "bench-$1", "type": "$1",
 $( [ "$1" != ptp ] && echo "\"endpointDir\": \"$dir/endpoints\"," )
 $( [ "$1" = handoff-tap ] && echo "\"tap\": true," )
 "ipam": {"type": "host-local", "dataDir": "$dir/ipam-$1",
          "ranges": [[{"subnet": "10.66.0.0/24"}]]}}
JSON
}
export CNI_NETNS=$netns CNI_IFNAME=eth0 CNI_PATH=$dir
export CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=pod"
# The two plugins alternate cycle by cycle, so that whatever else loads the
# machine meanwhile weighs on both alike.
for i in $(seq 1 "$cycles"); do
	for plugin in handoff-cni ptp handoff-tap; do
		c=$(conf "$plugin")
		export CNI_CONTAINERID=bench-$i
		t0=$(date +%s%N)
		CNI_COMMAND=ADD "$dir/$plugin" <<<"$c" >/dev/null 2>"$dir/err" || { cat "$dir/err" >&2; exit 1; }
		t1=$(date +%s%N)
		CNI_COMMAND=DEL "$dir/$plugin" <<<"$c" >/dev/null 2>"$dir/err" || { cat "$dir/err" >&2; exit 1; }
		t2=$(date +%s%N)
		echo "$(( (t1 - t0) / 1000 )) $(( (t2 - t1) / 1000 ))" >>"$dir/$plugin.times"
	done
done
LOOP

stats() { # microseconds on stdin -> "median p90 max" in ms
	sort -n | awk '{v[NR] = $1} END {
		p90 = int(NR * 0.9 + 0.5); if (p90 < 1) p90 = 1
		med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "median %6.1f ms  p90 %6.1f ms  max %6.1f ms", med / 1000, v[p90] / 1000, v[NR] / 1000 }'
}

echo "CNI latency, $cycles ADD/DEL cycles each (alternating), host-local IPAM, $(nproc) CPUs," \
	"$(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
ip netns exec "$host" bash "$cni_dir/loop.sh" "$cycles" "$cni_dir" "/run/netns/$pod"
for plugin in handoff-cni ptp handoff-tap; do
	printf '%-12s ADD %s\n' "$plugin" "$(cut -d' ' -f1 "$cni_dir/$plugin.times" | stats)"
	printf '%-12s DEL %s\n' "$plugin" "$(cut -d' ' -f2 "$cni_dir/$plugin.times" | stats)"
done
