#!/usr/bin/env bash
# Route programming benchmark: the route syncer against `ip -batch` in a fresh
# network namespace (test/bench/bench_routes.c). Builds bench_routes if needed
# (build-bench/, Release unless BENCH_BUILD_TYPE says otherwise) and runs it as
# root. Prints figures only.
#
#   hack/bench-routes.sh [N [ROUNDS]]     default: 10000 routes, 3 rounds
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${BENCH_BUILD_DIR:-$top/build-bench}
type=${BENCH_BUILD_TYPE:-Release}

cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DHANDOFF_SANITIZE=OFF >/dev/null
cmake --build "$dir" --target bench_routes -j"$(nproc)" >&2

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	sudo=(sudo)
fi
exec "${sudo[@]}" "$dir/test/bench/bench_routes" "$@"
