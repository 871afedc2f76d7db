#!/usr/bin/env bash
# render-bird on manifests/examples/bgp-*.yaml with the example rack's nodes
# (examples/datastore/bgp-nodes.yaml): byte-for-byte goldens
# (test/bird/golden/<node>.txt), -o writes the same text, BIRD 1.6 parses
# every file; render-bird's warnings and exit codes; bird-snippet's filters
# inside a minimal BIRD config, for bird and bird6.
#
# HANDOFF_UPDATE_GOLDEN=1 rewrites the goldens instead of comparing.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

src=${HANDOFF_SOURCE_DIR:?}
w=${HANDOFF_BUILD_DIR:?}/watcher/handoff-watcher
tmp=$(mktemp -d /tmp/handoff-bird-golden.XXXXXX)
cleanup_dir "$tmp"

examples=()
for f in "$src"/manifests/examples/bgp-*.yaml "$src"/examples/datastore/bgp-nodes.yaml; do
	examples+=(-f "$f")
done
[ ${#examples[@]} -ge 8 ] || fail "expected the four bgp-*.yaml examples, found: ${examples[*]}"

for node in node-a node-b; do
	out=$tmp/$node.txt
	"$w" render-bird "${examples[@]}" --node "$node" >"$out" 2>"$tmp/$node.err" ||
		fail "render-bird --node $node exited $?: $(cat "$tmp/$node.err")"
	[ ! -s "$tmp/$node.err" ] || fail "render-bird --node $node warned: $(cat "$tmp/$node.err")"
	golden=$src/test/bird/golden/$node.txt
	if [ "${HANDOFF_UPDATE_GOLDEN:-}" = 1 ]; then
		cp "$out" "$golden"
	fi
	cmp -s "$out" "$golden" || {
		diff -u "$golden" "$out" >&2 || true
		fail "render-bird --node $node differs from $golden"
	}

	# A glob after one -f reads every file too.
	"$w" render-bird --node "$node" -f "$src"/manifests/examples/bgp-*.yaml \
		"$src"/examples/datastore/bgp-nodes.yaml >"$tmp/$node.glob" ||
		fail "render-bird -f GLOB exited $?"
	cmp -s "$tmp/$node.glob" "$out" || fail "-f GLOB renders differently for $node"

	# -o writes exactly the two parts of stdout, and BIRD parses them.
	"$w" render-bird "${examples[@]}" --node "$node" -o "$tmp/$node" ||
		fail "render-bird -o exited $?"
	{
		echo "# ==== bird.cfg ===="
		cat "$tmp/$node/bird.cfg"
		echo "# ==== bird6.cfg ===="
		cat "$tmp/$node/bird6.cfg"
	} >"$tmp/$node.joined"
	cmp -s "$tmp/$node.joined" "$out" || fail "-o files differ from stdout for $node"
	bird -p -c "$tmp/$node/bird.cfg" || fail "bird -p rejects $node bird.cfg"
	bird6 -p -c "$tmp/$node/bird6.cfg" || fail "bird6 -p rejects $node bird6.cfg"
	# Unchanged text is not rewritten (same inode, same mtime).
	before=$(stat -c '%i %.9Y' "$tmp/$node/bird.cfg")
	sleep 0.01
	"$w" render-bird "${examples[@]}" --node "$node" -o "$tmp/$node"
	[ "$before" = "$(stat -c '%i %.9Y' "$tmp/$node/bird.cfg")" ] ||
		fail "-o rewrote an unchanged bird.cfg"
done

# The seed's ToR peering is in both goldens: the eBGP import starts from
# normal priority and the seed-001 filter functions are called with false.
grep -qF "    bgp_local_pref = 2147482623;  # eBGP: normal priority unless a filter raises it" \
	"$src/test/bird/golden/node-a.txt" || fail "golden lacks the eBGP LOCAL_PREF preamble"
grep -qF "'bgp_kubevirt-live-migration_exportFilterV4'(false);" \
	"$src/test/bird/golden/node-b.txt" || fail "golden lacks the filter call"

# An invalid object is reported (file, object, field) and left out; the rest
# renders and the exit status is 0.
cat >"$tmp/bad.yaml" <<'YAML'
apiVersion: projectcalico.org/v3
kind: BGPFilter
metadata:
  name: broken
spec:
  exportV4:
    - action: Accept
      communities:
        values: ["65536:0"]
---
apiVersion: projectcalico.org/v3
kind: BGPFilter
metadata:
  name: fine
spec:
  exportV4:
    - action: Reject
YAML
"$w" render-bird "${examples[@]}" -f "$tmp/bad.yaml" --node node-a >"$tmp/bad.out" 2>"$tmp/bad.err" ||
	fail "render-bird with one invalid object exited $?"
want="render-bird: $tmp/bad.yaml (document 1): BGPFilter broken: spec.exportV4[0].communities.values[0]: \"65536:0\" is not a community (aa:nn, each 0..65535); object skipped"
[ "$(cat "$tmp/bad.err")" = "$want" ] || fail "warning was: $(cat "$tmp/bad.err")"
grep -qF "# v4 BGPFilter fine" "$tmp/bad.out" || fail "valid filter not rendered"
! grep -q broken "$tmp/bad.out" || fail "invalid filter rendered"

# `kind: List` documents (kubectl get -o yaml) are opened up.
cat >"$tmp/list.yaml" <<'YAML'
apiVersion: v1
kind: List
items:
  - apiVersion: projectcalico.org/v3
    kind: BGPFilter
    metadata:
      name: from-a-list
    spec:
      importV4:
        - action: Accept
  - apiVersion: v1
    kind: ConfigMap
    metadata:
      name: ignored
YAML
"$w" render-bird "${examples[@]}" -f "$tmp/list.yaml" --node node-a >"$tmp/list.out" 2>"$tmp/list.err" ||
	fail "render-bird with a List exited $?"
[ ! -s "$tmp/list.err" ] || fail "List warned: $(cat "$tmp/list.err")"
grep -qF "function 'bgp_from-a-list_importFilterV4'() {" "$tmp/list.out" || fail "List item not rendered"

# Nothing can render: exit 1 with the reason.
set +e
"$w" render-bird "${examples[@]}" --node nobody >/dev/null 2>"$tmp/err"
rc=$?
set -e
[ $rc = 1 ] || fail "unknown node: exit $rc"
grep -qF "render-bird: Node nobody: not found among the resources" "$tmp/err" || fail "$(cat "$tmp/err")"
set +e
"$w" render-bird -f "$tmp/missing.yaml" --node node-a >/dev/null 2>"$tmp/err"
rc=$?
set -e
[ $rc = 1 ] || fail "missing file: exit $rc"
grep -qF "$tmp/missing.yaml" "$tmp/err" || fail "missing file not named: $(cat "$tmp/err")"
set +e
"$w" render-bird --node node-a >/dev/null 2>&1
rc=$?
set -e
[ $rc = 2 ] || fail "no -f: exit $rc"

# bird-snippet: complete filters that BIRD 1.6 accepts in a minimal config.
snippet_config() { # $1 = snippet file, $2 = neighbor address
	cat "$1"
	cat <<CONF
router id 10.0.0.1;
protocol device { }
protocol kernel { learn; import filter import_kernel; export filter export_kernel; }
protocol bgp peer1 { local as 65001; neighbor $2 as 65002; import filter import_bgp; export filter export_bgp; }
CONF
}
for mode in "--ibgp" "--ebgp 65000:100" "--ebgp 65000:100:7 --normal 2000 --elevated 100"; do
	# shellcheck disable=SC2086
	"$w" bird-snippet $mode >"$tmp/snippet.txt" || fail "bird-snippet $mode exited $?"
	snippet_config "$tmp/snippet.txt" 10.0.0.2 >"$tmp/snippet4.conf"
	snippet_config "$tmp/snippet.txt" 2001:db8::2 >"$tmp/snippet6.conf"
	bird -p -c "$tmp/snippet4.conf" || fail "bird -p rejects bird-snippet $mode"
	bird6 -p -c "$tmp/snippet6.conf" || fail "bird6 -p rejects bird-snippet $mode"
	for f in import_kernel export_bgp import_bgp export_kernel; do
		grep -q "^filter $f {" "$tmp/snippet.txt" || fail "bird-snippet $mode lacks $f"
	done
done
"$w" bird-snippet --ibgp >"$tmp/i.txt"
grep -qF "  bgp_local_pref = 2147483647 - krt_metric;" "$tmp/i.txt" || fail "iBGP export"
grep -qF "  if (defined(bgp_local_pref)&&(bgp_local_pref > 2147482623)) then" "$tmp/i.txt" ||
	fail "iBGP import threshold"
"$w" bird-snippet --ebgp 65000:100 >"$tmp/e.txt"
grep -qF "    bgp_community.add((65000, 100));" "$tmp/e.txt" || fail "eBGP export community"
grep -qF "  bgp_local_pref = 2147482623;" "$tmp/e.txt" || fail "eBGP import normal LOCAL_PREF"
grep -qF "    bgp_local_pref = 2147483135;" "$tmp/e.txt" || fail "eBGP import elevated LOCAL_PREF"
grep -qF "      krt_metric = 512;" "$tmp/e.txt" || fail "eBGP kernel metric"
"$w" bird-snippet --ebgp 65000:100:7 --normal 2000 --elevated 100 >"$tmp/l.txt"
grep -qF "    bgp_large_community.add((65000, 100, 7));" "$tmp/l.txt" || fail "large community"
grep -qF "  if ( krt_metric < 2000 ) then preference = 200;" "$tmp/l.txt" || fail "--normal"
grep -qF "    bgp_local_pref = 2147483547;" "$tmp/l.txt" || fail "--elevated"
for bad in "--ebgp 65536:0" "--ibgp --ebgp 1:1" "" "--ibgp --normal 512 --elevated 512" "--ibgp --normal 0"; do
	set +e
	# shellcheck disable=SC2086
	"$w" bird-snippet $bad >/dev/null 2>"$tmp/err"
	rc=$?
	set -e
	[ $rc = 2 ] || fail "bird-snippet $bad: exit $rc"
	[ -s "$tmp/err" ] || fail "bird-snippet $bad: no message"
done
grep -qF 'bird-snippet: --ebgp: "65536:0" is not a community (aa:nn, each 0..65535)' <("$w" bird-snippet --ebgp 65536:0 2>&1) ||
	fail "bad community message"
echo "bird_golden: ok"
