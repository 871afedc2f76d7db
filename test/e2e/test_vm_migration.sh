#!/usr/bin/env bash
# A real QEMU guest live-migrated a -> b -> a by QEMU itself, its NIC a tap
# inside its pod's namespace, the network moved by handoff on QEMU's own
# RARPs (hack/demo-vm.sh does it and fails unless every route step happens
# and the guest is healthy after each migration: QEMU running, no kernel
# error on its console, heartbeat going on, answering; and its probes' last
# 300 answered at the end). Checked here: both migrations happened and the
# client's traffic came back after each within 3 s (QEMU/TCG's downtime is
# 40-170 ms here; the bound leaves room for a loaded machine).
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
src=${HANDOFF_SOURCE_DIR:?} build=${HANDOFF_BUILD_DIR:?}
res=$(mktemp /tmp/handoff-vm-results-XXXXXX)
cleanup_dir "$res"
fail_log results "$res"
HANDOFF_BUILD_DIR=$build "$src/hack/demo-vm.sh" --round-trips 1 --results "$res"
get() { sed -n "s/^$1=//p" "$res"; }
[ "$(get migrations)" = 2 ] || fail "$(get migrations) migrations, not 2"
for k in 1 2; do
	s=$(get "migration_${k}_silence_ms")
	[ -n "$s" ] && [ "$s" -lt 3000 ] || fail "migration $k: the client saw ${s:-?} ms of silence"
done
echo "PASS: guest migrated a -> b -> a; silences $(get migration_1_silence_ms) ms, $(get migration_2_silence_ms) ms"
