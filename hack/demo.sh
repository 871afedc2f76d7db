#!/usr/bin/env bash
# The main job: a live migration, live, measured.
#
#   hack/demo.sh                  the live demo (root): see below, ~15 s
#   hack/demo.sh --replay         the recorded migration through the core on a
#                                 virtual clock (no root needed)
#   hack/demo.sh --results FILE   live demo, and its figures as key=value lines
#   hack/demo.sh --png FILE       where the live demo draws its timeline
#                                 (default: demo-timeline.png, here)
#
# The live demo builds a small cluster in network namespaces (removed on exit,
# whatever happens; no traffic leaves them):
#
#       node-a 10.99.0.1   node-b 10.99.0.2   node-c 10.99.0.3     one L2 segment,
#          |                  |                  |                 iBGP full mesh
#       VM 10.65.0.10      VM 10.65.0.10      traffic to 10.65.0.10:
#       (source pod)       (target pod)       a UDP datagram a ms, echoed
#
# Every node runs real BIRD 1.6 and a real `handoff-watcher run`, which follows
# a shared datastore folder (Pods, LiveMigration, BGP resources), renders and
# reloads its node's BIRD, programs workload routes and captures the VM's GARP.
# The VM migrates from node-a to node-b the way KubeVirt does it: LiveMigration
# written, target pod created (its route suppressed), source paused, target
# resumed with a GARP, source pod deleted, LiveMigration deleted. Printed: the
# timeline (watchers' transitions, kernel routes, the script's steps), node-c's
# route over time, datagrams lost and the blackout; and the same timeline as
# a picture (probe replies, routes per node, events; the switchover zoomed).
#
# HANDOFF_BUILD_DIR=DIR uses that build instead of installing and building
# (the e2e test does this).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

mode=live results= png=demo-timeline.png
while [ $# -gt 0 ]; do
	case "$1" in
	--replay) mode=replay ;;
	--results)
		results=${2:?--results needs a file}
		shift
		;;
	--png)
		png=${2:?--png needs a file}
		shift
		;;
	-h | --help)
		sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "demo: unknown argument $1 (try --help)" >&2
		exit 2
		;;
	esac
	shift
done

png=$(realpath -m "$png")

if [ -n "${HANDOFF_BUILD_DIR:-}" ]; then
	build=$HANDOFF_BUILD_DIR
else
	"$top/hack/install-deps.sh"
	build=$("$top/hack/build.sh")
fi
export HANDOFF_BUILD_DIR=$build

replay() {
	local scenario="$top/test/replay/clean-migration.jsonl"
	echo "== handoff replay: clean migration, as node-b (the target) sees it"
	"$build/watcher/handoff-watcher" replay -q --timeline --node node-b "$scenario"
	echo
	echo "== the same recording, as node-a (the source) sees it"
	"$build/watcher/handoff-watcher" replay -q --timeline --node node-a "$scenario"
	echo
	echo "Route metric on the target: suppressed while Target, 512 from the RARP"
	echo "(Live) through TimeWait, back to 1024 after the 30 s convergence time."
}

if [ "$mode" = replay ]; then
	replay
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: the live demo needs root (network namespaces); showing the replay instead" >&2
	echo "      (run as root, or hack/demo.sh --replay to get this directly)" >&2
	echo
	replay
	exit 0
fi

exec "$top/hack/demo/live.sh" ${results:+--results "$results"} --png "$png"
