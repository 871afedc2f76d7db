#!/usr/bin/env bash
# The test command: install what is needed, build twice (plain, then with
# ASan+UBSan) and run every test with ctest in both builds. Needs root for the
# network-namespace tests (label netns); as non-root they are skipped loudly.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/hack/install-deps.sh"

labels=()
if [ "$(id -u)" -ne 0 ]; then
	echo "test: not root: skipping tests labelled netns, e2e and podman" >&2
	labels=(-LE 'netns|e2e|podman')
fi

status=0
for san in 0 1; do
	dir=$(SANITIZE=$san "$top/hack/build.sh")
	echo "== ctest in $dir" >&2
	(cd "$dir" && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j1 "${labels[@]}") || status=1
done
exit $status
