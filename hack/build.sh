#!/usr/bin/env bash
# Build into build/ (or build-asan/ with SANITIZE=1). Prints the build dir.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
if [ "${SANITIZE:-0}" = 1 ]; then
	dir="$top/build-asan"
	cmake -S "$top" -B "$dir" -DHANDOFF_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
else
	dir="$top/build"
	cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$dir" -j"$(nproc)" >&2
echo "$dir"
