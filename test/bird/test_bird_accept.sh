#!/usr/bin/env bash
# Issue 9 section 3: every form handoff accepts renders a configuration that
# BIRD 1.6 accepts, and every form BIRD would refuse is rejected by name.
#
# For each accepted form: render-bird on a base (two nodes, a
# BGPConfiguration) plus that one object, no warning, then `bird -p` on
# bird.cfg and `bird6 -p` on bird6.cfg. For each rejected form: render-bird
# reports the object, field and rule, leaves it out, and what it renders still
# passes `bird -p`/`bird6 -p`. Duplicate definitions and two BGPPeers on one
# neighbour are reported too.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

w=${HANDOFF_BUILD_DIR:?}/watcher/handoff-watcher
tmp=$(mktemp -d /tmp/handoff-bird-accept.XXXXXX)
cleanup_dir "$tmp"

cat >"$tmp/base.yaml" <<'YAML'
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1}
spec: {bgp: {ipv4Address: 10.0.0.1/24, ipv6Address: 'FD00::1/64'}}
---
apiVersion: v1
kind: Node
metadata: {name: n2}
spec: {podCIDRs: ['10.244.2.0/24', 'FD00:2:0::/64']}
status: {addresses: [{type: InternalIP, address: 10.0.0.2}, {type: InternalIP, address: 'FD00:0::2'}]}
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 64512}
YAML

peer() { printf 'apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: p}\nspec: %s\n' "$1"; }
filter() { printf 'apiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata: {name: f}\nspec: {%s: [%s]}\n' "$1" "$2"; }
v1node() { printf 'apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nspec: %s\n' "$1"; }
affinity() { printf 'apiVersion: crd.projectcalico.org/v1\nkind: BlockAffinity\nmetadata: {name: b}\nspec: {node: n1, cidr: "%s"}\n' "$1"; }
config() { printf 'apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: node.n1}\nspec: %s\n' "$1"; }
v3node() { printf 'apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: %s}\nspec: {bgp: %s}\n' "$1" "$2"; }

asns() { seq -s ', ' 1 "$1"; }

accepted=(
	"$(peer '{peerIP: 10.0.0.9, asNumber: 65001}')"
	"$(peer '{peerIP: "10.0.0.9:1790", asNumber: "1.10", localASNumber: 4294967295}')"
	"$(peer '{peerIP: "FD00:0::9", asNumber: 65001}')"
	"$(peer '{peerIP: "[FD00:0:0::9]:1790", asNumber: 65001}')"
	"$(peer '{peerIP: "::ffff:10.0.0.9", asNumber: 65001}')"
	"$(peer '{peerIP: 169.254.0.9, asNumber: 65001}')"
	"$(peer '{peerIP: "FD00::1", asNumber: 65001}')" # the node itself: no session
	"$(peer '{peerSelector: all(), filters: [f]}')"
	"$(filter exportV4 '{action: Accept, matchOperator: In, cidr: 10.0.0.0/8}')"
	"$(filter exportV4 '{action: Accept, matchOperator: Equal, cidr: 0.0.0.0/0}')"
	"$(filter exportV4 '{action: Reject, matchOperator: NotIn, cidr: 10.1.2.3/32, prefixLength: {min: 32}}')"
	"$(filter importV4 '{action: Accept, matchOperator: In, cidr: 10.0.0.0/8, prefixLength: {min: 16, max: 24}}')"
	"$(filter importV6 '{action: Accept, matchOperator: In, cidr: "FD00:0::/48"}')"
	"$(filter exportV6 '{action: Accept, matchOperator: NotEqual, cidr: "::/0"}')"
	"$(filter exportV6 '{action: Accept, matchOperator: In, cidr: "fd00::/8", prefixLength: {max: 128}}')"
	"$(filter exportV4 "{action: Accept, asPathPrefix: [$(asns 1024)]}")"
	"$(filter exportV4 '{action: Accept, asPathPrefix: [4294967295, "1.1"]}')"
	"$(filter exportV6 '{action: Accept, operations: [{prependASPath: {prefix: [4294967295, 1]}}, {addCommunity: {value: "65000:100:7"}}]}')"
	"$(v1node '{podCIDRs: ["10.244.1.0/24", "FD00:1:0::/64", "10.244.9.5/32"]}')"
	"$(v1node '{podCIDR: "10.244.1.0/26"}')"
	"$(affinity 10.10.0.0/26)"
	"$(affinity 'FD00:2:0::/122')"
	"$(config '{asNumber: 4294967295, listenPort: 1790}')"
	"$(config '{asNumber: "65000.65535"}')"
	"$(v3node n3 '{ipv4Address: 10.0.0.3, ipv6Address: "FD00:0:0::3", asNumber: 65010}')"
)

# "<form>|<message after 'render-bird: FILE (document 1): '>"
rejected=(
	"$(filter exportV4 '{action: Accept, matchOperator: In, cidr: 10.0.0.1/8}')|BGPFilter f: spec.exportV4[0].cidr: \"10.0.0.1/8\" has host bits set (the network is 10.0.0.0/8)"
	"$(filter importV6 '{action: Accept, matchOperator: In, cidr: "fd00::1/64"}')|BGPFilter f: spec.importV6[0].cidr: \"fd00::1/64\" has host bits set (the network is fd00::/64)"
	"$(filter exportV4 "{action: Accept, asPathPrefix: [$(asns 10000)]}")|BGPFilter f: spec.exportV4[0].asPathPrefix: must have 0..1024 AS numbers"
	"$(filter exportV4 '{action: Accept, operations: [{prependASPath: {prefix: [0]}}]}')|BGPFilter f: spec.exportV4[0].operations[0].prependASPath.prefix[0]: AS number 0 is reserved (RFC 7607); BIRD refuses it (1..4294967295)"
	"$(affinity 10.10.0.7/26)|BlockAffinity b: spec.cidr: \"10.10.0.7/26\" has host bits set (the network is 10.10.0.0/26)"
	"$(affinity 0.0.0.0/0)|BlockAffinity b: spec.cidr: \"0.0.0.0/0\" is a default route, not a block of pod addresses"
	"$(v1node '{podCIDRs: ["10.244.1.1/24"]}')|Node n1: spec.podCIDRs[0]: \"10.244.1.1/24\" has host bits set (the network is 10.244.1.0/24)"
	"$(v1node '{podCIDRs: ["0.0.0.0/0"]}')|Node n1: spec.podCIDRs[0]: \"0.0.0.0/0\" is a default route, not a block of pod addresses"
	"$(v1node '{podCIDR: "::/0"}')|Node n1: spec.podCIDR: \"::/0\" is a default route, not a block of pod addresses"
	"$(peer '{peerIP: 10.0.0.9, asNumber: 0}')|BGPPeer p: spec.asNumber: AS number 0 is reserved (RFC 7607); BIRD refuses it (1..4294967295)"
	"$(peer '{peerIP: 10.0.0.9, asNumber: 65001, localASNumber: "0.0"}')|BGPPeer p: spec.localASNumber: AS number 0 is reserved (RFC 7607); BIRD refuses it (1..4294967295)"
	"$(config '{asNumber: 0}')|BGPConfiguration node.n1: spec.asNumber: AS number 0 is reserved (RFC 7607); BIRD refuses it (1..4294967295)"
	"$(v3node n1 '{ipv4Address: 10.0.0.1/24, asNumber: 0}')|Node n1: spec.bgp.asNumber: AS number 0 is reserved (RFC 7607); BIRD refuses it (1..4294967295)"
	"$(peer '{peerIP: 0.0.0.0, asNumber: 65001}')|BGPPeer p: spec.peerIP: \"0.0.0.0\" is the unspecified address, not a neighbour"
	"$(peer '{peerIP: "::", asNumber: 65001}')|BGPPeer p: spec.peerIP: \"::\" is the unspecified address, not a neighbour"
	"$(peer '{peerIP: "FE80::9", asNumber: 65001}')|BGPPeer p: spec.peerIP: \"fe80::9\" is link-local: BIRD needs an interface for it, which a BGPPeer cannot name"
	"$(peer '{peerIP: "[fe80::9]:179", asNumber: 65001}')|BGPPeer p: spec.peerIP: \"fe80::9\" is link-local: BIRD needs an interface for it, which a BGPPeer cannot name"
	"$(v3node n1 '{ipv4Address: 0.0.0.0/24}')|Node n1: spec.bgp.ipv4Address: \"0.0.0.0\" is the unspecified address, not a neighbour"
	"$(printf 'apiVersion: v1\nkind: Node\nmetadata: {name: n3}\nstatus: {addresses: [{type: InternalIP, address: 0.0.0.0}]}\n')|Node n3: status.addresses[0].address: \"0.0.0.0\" is the unspecified address, not a neighbour"
)

check_bird() { # $1 = dir, $2 = what
	bird -p -c "$1/bird.cfg" 2>"$tmp/bird.err" ||
		fail "$2: bird -p refuses bird.cfg: $(cat "$tmp/bird.err")"
	bird6 -p -c "$1/bird6.cfg" 2>"$tmp/bird.err" ||
		fail "$2: bird6 -p refuses bird6.cfg: $(cat "$tmp/bird.err")"
}

n=0
for form in "${accepted[@]}"; do
	n=$((n + 1))
	printf '%s\n' "$form" >"$tmp/form.yaml"
	rm -rf "$tmp/out"
	"$w" render-bird -f "$tmp/base.yaml" -f "$tmp/form.yaml" --node n1 -o "$tmp/out" 2>"$tmp/err" ||
		fail "accepted form $n: render-bird exited $?: $(cat "$tmp/err")"
	[ ! -s "$tmp/err" ] || fail "accepted form $n warned: $(cat "$tmp/err")"$'\n'"$form"
	check_bird "$tmp/out" "accepted form $n (${form:0:200})"
done

# Forms that reach the rendered text in canonical spelling.
printf '%s\n' "$(peer '{peerIP: "FD00:0::9", asNumber: 65001}')" >"$tmp/form.yaml"
"$w" render-bird -f "$tmp/base.yaml" -f "$tmp/form.yaml" --node n1 >"$tmp/out.txt"
grep -qF "protocol bgp Global_fd00__9 from bgp_template {" "$tmp/out.txt" || fail "peer name not canonical"
grep -qF "  neighbor fd00::9 as 65001;" "$tmp/out.txt" || fail "neighbor not canonical"
grep -qF "  source address fd00::1;" "$tmp/out.txt" || fail "node address not canonical"
grep -qF "protocol bgp Mesh_fd00__2 from bgp_template {" "$tmp/out.txt" || fail "mesh peer not canonical"
printf '%s\n' "$(peer '{peerIP: "FD00::1", asNumber: 65001}')" >"$tmp/form.yaml"
"$w" render-bird -f "$tmp/base.yaml" -f "$tmp/form.yaml" --node n1 >"$tmp/out.txt"
! grep -q "Global_fd00__1" "$tmp/out.txt" || fail "a BGPPeer spelling the node's own address got a session"

n=0
for entry in "${rejected[@]}"; do
	n=$((n + 1))
	form=${entry%|*}
	msg=${entry##*|}
	printf '%s\n' "$form" >"$tmp/form.yaml"
	rm -rf "$tmp/out"
	"$w" render-bird -f "$tmp/base.yaml" -f "$tmp/form.yaml" --node n1 -o "$tmp/out" 2>"$tmp/err" ||
		fail "rejected form $n: render-bird exited $?: $(cat "$tmp/err")"
	want="render-bird: $tmp/form.yaml (document 1): $msg; object skipped"
	[ "$(cat "$tmp/err")" = "$want" ] ||
		fail "rejected form $n: message was"$'\n'"  $(cat "$tmp/err")"$'\n'"expected"$'\n'"  $want"
	check_bird "$tmp/out" "after rejected form $n"
done

# A BGPFilter defined twice is reported; the later definition is used.
cat >"$tmp/dup.yaml" <<'YAML'
apiVersion: projectcalico.org/v3
kind: BGPFilter
metadata: {name: f}
spec: {exportV4: [{action: Accept, matchOperator: In, cidr: 10.1.0.0/16}]}
---
apiVersion: projectcalico.org/v3
kind: BGPFilter
metadata: {name: f}
spec: {exportV4: [{action: Reject, matchOperator: In, cidr: 10.2.0.0/16}]}
YAML
"$w" render-bird -f "$tmp/base.yaml" -f "$tmp/dup.yaml" --node n1 >"$tmp/out.txt" 2>"$tmp/err"
want="render-bird: $tmp/dup.yaml (document 2): BGPFilter f is defined again (first in $tmp/dup.yaml (document 1)); the later definition is used"
[ "$(cat "$tmp/err")" = "$want" ] || fail "duplicate BGPFilter: message was: $(cat "$tmp/err")"
grep -qF "10.2.0.0/16" "$tmp/out.txt" && ! grep -qF "10.1.0.0/16" "$tmp/out.txt" ||
	fail "duplicate BGPFilter: the later definition is not the one rendered"

# Two spellings of one neighbour: one session, and the loser is named.
{
	peer '{peerIP: "FD00::9", asNumber: 65001}' | sed 's/name: p/name: a/'
	echo ---
	peer '{peerIP: "fd00:0::9", asNumber: 65002}' | sed 's/name: p/name: b/'
} >"$tmp/clash.yaml"
"$w" render-bird -f "$tmp/base.yaml" -f "$tmp/clash.yaml" --node n1 >"$tmp/out.txt" 2>"$tmp/err"
grep -qxF "render-bird: BGPPeer b: spec.peerIP: fd00::9 is the neighbour of BGPPeer a too; only a's session is rendered" "$tmp/err" ||
	fail "clash not reported: $(cat "$tmp/err")"
[ "$(grep -c "^protocol bgp Global_fd00__9 " "$tmp/out.txt")" = 1 ] || fail "clash: not exactly one session"
grep -qF "  neighbor fd00::9 as 65001;" "$tmp/out.txt" || fail "clash: a's session is not the one rendered"
# Two Nodes spelling one address: reported, one mesh session.
v3node n3 '{ipv4Address: 10.0.0.3/24, ipv6Address: "fd00:0::2/64"}' >"$tmp/n3.yaml"
"$w" render-bird -f "$tmp/base.yaml" -f "$tmp/n3.yaml" --node n1 >"$tmp/out.txt" 2>"$tmp/err"
grep -qxF "render-bird: Node n3: address fd00::2 is Node n2's too; the other nodes' mesh has one session to it, as Node n2" "$tmp/err" ||
	fail "node address clash not reported: $(cat "$tmp/err")"
[ "$(grep -c "^protocol bgp Mesh_fd00__2 " "$tmp/out.txt")" = 1 ] || fail "node clash: not exactly one mesh session"
echo "bird_accept: ok (${#accepted[@]} accepted forms, ${#rejected[@]} rejected forms)"
