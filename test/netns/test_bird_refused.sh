#!/usr/bin/env bash
# Issue 9 section 3: when BIRD refuses a configuration the watcher sends,
# BIRD keeps running the previous one, the refusal names the objects the
# offending line comes from (log, /metrics, /readyz), and later changes still
# reach BIRD.
#
# Validation leaves no known BGP resource that makes BIRD 1.6 refuse the file
# (test/bird/test_bird_accept.sh), so the refusal here comes from an operator
# mistake: --bird6-socket names the IPv4 BIRD's socket. The real BIRD (in a
# namespace of its own) then parses bird6.cfg and stops at the first IPv6
# literal: the blackhole route of BlockAffinity b6.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
w=${HANDOFF_BUILD_DIR:?}/watcher/handoff-watcher
tag=$$
ns=hobr-$tag
dir=$(mktemp -d /tmp/handoff-refused.XXXXXX)
cleanup_dir "$dir"
cleanup_netns "$ns"
cleanup_pidfile "$dir/bird.pid"
port=$(test_port 104729)
pid=
cleanup_pid pid
fail_log "watcher log" "$dir/log"
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)"; exit 77; }
WAIT_FOR_SECS=15
bctl() { "${HANDOFF_BUILD_DIR}/test/e2e/bird_ctl" "$dir/bird.ctl" "$@"; }
http() { curl -s --max-time 2 "http://127.0.0.1:$port$1"; }
has_protocol() { bctl show protocols | grep -q "^$1 "; }

mkdir -p "$dir/ds" "$dir/bird"
cat >"$dir/ds/node.yaml" <<'YAML'
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1}
spec: {bgp: {ipv4Address: 10.0.0.1/24, ipv6Address: 'fd00::1/64'}}
---
apiVersion: crd.projectcalico.org/v1
kind: BlockAffinity
metadata: {name: b6}
spec: {node: n1, cidr: 'fd00:1::/122'}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: p1}
spec: {peerIP: 10.0.0.9, asNumber: 65009}
YAML

# BIRD starts on the configuration the watcher would write for IPv4.
"$w" render-bird -f "$dir/ds/node.yaml" --node n1 -o "$dir/bird"
rm "$dir/bird/bird6.cfg"
ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" bird -c "$dir/bird/bird.cfg" -s "$dir/bird.ctl" -P "$dir/bird.pid"
wait_for "BIRD" bctl show status
has_protocol Global_10_0_0_9 || fail "BIRD does not run the initial configuration"

"$w" run --node n1 --datastore "dir:$dir/ds" --no-dataplane \
	--bird-dir "$dir/bird" --bird-socket "$dir/bird.ctl" --bird6-socket "$dir/bird.ctl" \
	--http "127.0.0.1:$port" >"$dir/log" 2>&1 &
# shellcheck disable=SC2034 # cleanup_pid reads it by name
pid=$!

# The refusal, by file and object.
wait_for "the refusal" grep -q 'msg="BIRD refused the configuration; it keeps running the previous one" file=bird6.cfg objects="BlockAffinity b6" retry_in_ms=1000' "$dir/log"
grep 'msg="BIRD refused' "$dir/log" | grep -q 'bird6.cfg.rejected:[0-9]*:[0-9]*' ||
	fail "the refusal does not point into bird6.cfg.rejected"
line=$(grep -o 'bird6.cfg.rejected:[0-9]*' "$dir/log" | head -n 1 | cut -d: -f2)
sed -n "${line}p" "$dir/bird/bird6.cfg.rejected" | grep -qF "fd00:1::/122" ||
	fail "line $line of bird6.cfg.rejected is not b6's block"
[ ! -e "$dir/bird/bird6.cfg" ] || fail "a refused bird6.cfg was put in place"
metrics=$(http /metrics)
grep -qx 'handoff_bird_config_refused{file="bird6.cfg"} 1' <<<"$metrics" || fail "metric: $metrics"
grep -qx 'handoff_bird_config_refused{file="bird.cfg"} 0' <<<"$metrics" || fail "metric for bird.cfg"
grep -qx 'handoff_bird_rejected_objects{file="bird6.cfg",kind="BlockAffinity",name="b6"} 1' \
	<<<"$metrics" || fail "rejected-objects metric: $(grep rejected_objects <<<"$metrics")"
code=$(curl -s -o "$dir/readyz" -w '%{http_code}' "http://127.0.0.1:$port/readyz")
[ "$code" = 200 ] || fail "/readyz answered $code"
grep -qx "ready, degraded:" "$dir/readyz" || fail "/readyz: $(cat "$dir/readyz")"
grep -qxF "bird6.cfg: refused by BIRD (previous configuration running); objects: BlockAffinity b6" \
	"$dir/readyz" || fail "/readyz: $(cat "$dir/readyz")"

# BIRD kept what it ran: the IPv4 protocols, nothing of bird6.cfg.
has_protocol Global_10_0_0_9 || fail "BIRD lost its configuration after the refusal"
! has_protocol handoff_blocks || fail "BIRD took part of the refused configuration"

# A later change still reaches BIRD.
cat >"$dir/ds/peer2.yaml" <<'YAML'
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: p2}
spec: {peerIP: 10.0.0.10, asNumber: 65010}
YAML
wait_for "the new peer in BIRD" has_protocol Global_10_0_0_10
has_protocol Global_10_0_0_9 || fail "the first peer went"
grep -q "neighbor 10.0.0.10 as 65010;" "$dir/bird/bird.cfg" || fail "bird.cfg lacks the new peer"
# bird6.cfg is still refused, and said so again on each retry.
[ "$(grep -c 'msg="BIRD refused' "$dir/log")" -ge 2 ] || fail "the refused file was not retried"
echo "bird_refused: ok"
