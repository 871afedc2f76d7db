#!/usr/bin/env bash
# The main job: show a live migration, on built-in defaults.
#
# Feeds the recorded clean KubeVirt migration (test/replay/clean-migration.jsonl:
# VM moves from node-a to node-b, the VM announces itself with RARP at 2.8 s,
# the migration completes at 4.5 s) through handoff's core on a virtual clock
# and prints what node-b decides, with every transition's timing.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/hack/install-deps.sh"
build=$("$top/hack/build.sh")
scenario="$top/test/replay/clean-migration.jsonl"

echo "== handoff replay: clean migration, as node-b (the target) sees it"
"$build/watcher/handoff-watcher" replay -q --timeline --node node-b "$scenario"
echo
echo "== the same recording, as node-a (the source) sees it"
"$build/watcher/handoff-watcher" replay -q --timeline --node node-a "$scenario"
echo
echo "Route metric on the target: suppressed while Target, 512 from the RARP"
echo "(Live) through TimeWait, back to 1024 after the 30 s convergence time."
