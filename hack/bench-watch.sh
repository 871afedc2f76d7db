#!/usr/bin/env bash
# Watch-event benchmark: a recorded stream of watch events (KubeVirt Pods of
# one node, LiveMigrations) replayed through the watcher's per-event path in
# one thread, then resident memory with many endpoints and migrations
# (test/bench/bench_watch_events.c). Builds it if needed (build-bench/, Release
# unless BENCH_BUILD_TYPE says otherwise). Prints figures only; no root needed.
#
#   hack/bench-watch.sh [EVENTS [ENDPOINTS [MIGRATIONS]]]
#       default: 100000 events; 10000 endpoints and 1000 LiveMigrations
# The stream is recorded once into $BENCH_STREAM (default
# /tmp/handoff-watch-<EVENTS>.ndjson) and replayed from there.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${BENCH_BUILD_DIR:-$top/build-bench}
type=${BENCH_BUILD_TYPE:-Release}
events=${1:-100000}
eps=${2:-10000}
lms=${3:-1000}
stream=${BENCH_STREAM:-/tmp/handoff-watch-$events.ndjson}

cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DHANDOFF_SANITIZE=OFF >/dev/null
cmake --build "$dir" --target bench_watch_events -j2 >&2

echo "# machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$dir/test/bench/bench_watch_events" stream "$stream" "$events"
"$dir/test/bench/bench_watch_events" memory "$eps" "$lms"
