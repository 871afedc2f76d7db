#!/usr/bin/env bash
# run.sh WATCHER SCENARIO.jsonl NODE EXPECTED: replay and compare exactly.
set -euo pipefail
watcher=$1 scenario=$2 node=$3 expected=$4
actual=$(mktemp)
trap 'rm -f "$actual"' EXIT
"$watcher" replay -q --node "$node" "$scenario" >"$actual" 2>/dev/null
if ! diff -u "$expected" "$actual"; then
	echo "replay of $(basename "$scenario") on $node differs from $(basename "$expected")" >&2
	exit 1
fi
# Deterministic: a second run prints the same bytes.
"$watcher" replay -q --node "$node" "$scenario" 2>/dev/null | cmp -s - "$actual" || {
	echo "replay is not deterministic" >&2
	exit 1
}
