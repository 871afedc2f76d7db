#!/usr/bin/env bash
# GARP on the wire -> elevated route in the kernel: median, p99, min, max over
# RUNS (default 200) in network namespaces. Needs root. Prints figures only.
#   hack/bench-garp.sh [--fifo] [RUNS]
# BUILD_DIR (default build/) is configured and only the benchmark is built.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${BUILD_DIR:-$top/build}
cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" --target bench_garp_route -j2 >&2
bin="$dir/test/bench/bench_garp_route"
if [ "$(id -u)" != 0 ]; then
	exec sudo "$bin" "$@"
fi
exec "$bin" "$@"
