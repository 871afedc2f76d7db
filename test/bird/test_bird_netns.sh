#!/usr/bin/env bash
# What the rendered configuration makes a real BIRD 1.6 do (root; two network
# namespaces A and B on one veth link, iBGP mesh, a BIRD in each, configs from
# render-bird). Node A owns block 10.244.1.0/24; A's kernel holds:
#   10.244.1.5/32 proto 88 metric 1024  inside the block, normal   -> not announced
#   10.244.1.6/32 proto 88 metric 512   inside the block, elevated -> announced
#   10.50.0.7/32  proto 88 metric 1024  outside any block          -> announced
#   10.50.0.8/32  proto 88 metric 512   outside, elevated          -> announced
#   10.60.0.1/32  proto boot            not a workload route       -> not learned
#   169.254.1.1/32 proto 88             link-local                 -> not learned
# B must end with the block aggregate and the three announced /32s, each at
# the metric A programmed (LOCAL_PREF -> krt_metric), and nothing else; A's
# elevated kernel routes get BIRD preference 200.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

src=${HANDOFF_SOURCE_DIR:?}
w=${HANDOFF_BUILD_DIR:?}/watcher/handoff-watcher
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root" >&2
	exit 77
fi

id=$$
nsa=hbird-a-$id
nsb=hbird-b-$id
va=hba$id
vb=hbb$id
tmp=$(mktemp -d /tmp/handoff-bird-netns.XXXXXX)

cleanup_dir "$tmp"
cleanup_netns "$nsa" "$nsb"
at_exit ip link del "$va" # still in the root namespace if set-up stopped before moving it
for f in a.pid b.pid a.pid6 b.pid6; do cleanup_pidfile "$tmp/$f"; done

# The diagnostics here are commands, not files: this test keeps its own fail.
fail() {
	echo "FAIL: $*" >&2
	echo "--- B's kernel:" >&2
	ip -n "$nsb" route >&2 || true
	echo "--- A's BIRD:" >&2
	birdc -s "$tmp/a.ctl" show route all >&2 || true
	exit 1
}

cat >"$tmp/res.yaml" <<'YAML'
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: a}
spec: {bgp: {ipv4Address: 10.9.0.1/24, ipv6Address: "fd00:9::1/64"}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: b}
spec: {bgp: {ipv4Address: 10.9.0.2/24, ipv6Address: "fd00:9::2/64"}}
---
apiVersion: crd.projectcalico.org/v1
kind: BlockAffinity
metadata: {name: a-10-244-1-0-24}
spec: {cidr: 10.244.1.0/24, node: a, state: confirmed}
YAML
for n in a b; do
	"$w" render-bird -f "$tmp/res.yaml" --node "$n" -o "$tmp/$n" || fail "render-bird $n"
done

ip netns add "$nsa"
ip netns add "$nsb"
ip link add "$va" type veth peer name "$vb"
ip link set "$va" netns "$nsa"
ip link set "$vb" netns "$nsb"
ip -n "$nsa" link set lo up
ip -n "$nsb" link set lo up
ip -n "$nsa" addr add 10.9.0.1/24 dev "$va"
ip -n "$nsb" addr add 10.9.0.2/24 dev "$vb"
ip -n "$nsa" addr add fd00:9::1/64 dev "$va" nodad
ip -n "$nsb" addr add fd00:9::2/64 dev "$vb" nodad
ip -n "$nsa" link set "$va" up
ip -n "$nsb" link set "$vb" up
# A workload's host interface: "ho" + 12 hex digits, as the CNI names them.
ip -n "$nsa" link add ho0123456789ab type veth peer name wl0
ip -n "$nsa" link set ho0123456789ab up
ip -n "$nsa" link set wl0 up

for n in a b; do
	ns=hbird-$n-$id
	ip netns exec "$ns" bird -c "$tmp/$n/bird.cfg" -s "$tmp/$n.ctl" -P "$tmp/$n.pid" ||
		fail "bird did not start in $ns"
	ip netns exec "$ns" bird6 -c "$tmp/$n/bird6.cfg" -s "$tmp/$n.ctl6" -P "$tmp/$n.pid6" ||
		fail "bird6 did not start in $ns"
done

dev=ho0123456789ab
ip -n "$nsa" route add 10.244.1.5/32 dev $dev proto 88 metric 1024
ip -n "$nsa" route add 10.244.1.6/32 dev $dev proto 88 metric 512
ip -n "$nsa" route add 10.50.0.7/32 dev $dev proto 88 metric 1024
ip -n "$nsa" route add 10.50.0.8/32 dev $dev proto 88 metric 512
ip -n "$nsa" route add 10.60.0.1/32 dev $dev proto boot metric 1024
ip -n "$nsa" route add 169.254.1.1/32 dev $dev proto 88 metric 1024
ip -n "$nsa" -6 route add fd00:50::7/128 dev $dev proto 88 metric 1024
ip -n "$nsa" -6 route add fd00:50::8/128 dev $dev proto 88 metric 512

# Wait (at most 20 s: BGP connect delay is 2 s) for the last expected route.
want="10.244.1.0/24 via 10.9.0.1 dev $vb metric 1024
10.244.1.6 via 10.9.0.1 dev $vb metric 512
10.50.0.7 via 10.9.0.1 dev $vb metric 1024
10.50.0.8 via 10.9.0.1 dev $vb metric 512"
got=""
for _ in $(seq 1 200); do
	got=$(ip -n "$nsb" route show proto bird | sed 's/ *$//' | sort)
	[ "$got" = "$(echo "$want" | sort)" ] && break
	sleep 0.1
done
[ "$got" = "$(echo "$want" | sort)" ] || fail "B's BIRD routes:
$got
expected:
$want"

# IPv6 through bird6.cfg: the same metrics.
want6="fd00:50::7 via fd00:9::1 dev $vb metric 1024 pref medium
fd00:50::8 via fd00:9::1 dev $vb metric 512 pref medium"
for _ in $(seq 1 200); do
	got=$(ip -n "$nsb" -6 route show proto bird | sed 's/ *$//' | sort)
	[ "$got" = "$want6" ] && break
	sleep 0.1
done
[ "$got" = "$want6" ] || fail "B's bird6 routes:
$got
expected:
$want6"

# A learned only its workload routes; elevated ones at preference 200.
birdc -s "$tmp/a.ctl" show route protocol kernel1 >"$tmp/a.routes"
for p in 10.244.1.5/32 10.244.1.6/32 10.50.0.7/32 10.50.0.8/32; do
	grep -q "^$p " "$tmp/a.routes" || fail "A did not learn $p"
done
for p in 10.60.0.1/32 169.254.1.1/32; do
	! grep -q "^$p " "$tmp/a.routes" || fail "A learned $p"
done
grep -q "^10.50.0.8/32 .*(200)" "$tmp/a.routes" || fail "elevated route without preference 200"
grep -q "^10.50.0.7/32 .*(10)" "$tmp/a.routes" || fail "normal route's preference changed"
echo "bird_netns: ok"
