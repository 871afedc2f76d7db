#!/usr/bin/env bash
# The test command: install what is needed, build twice (plain, then with
# ASan+UBSan) and run every test with ctest in both builds. Needs root for the
# network-namespace tests (label netns); as non-root they are skipped loudly.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/hack/install-deps.sh"

exclude=
if [ "$(id -u)" -ne 0 ]; then
	echo "test: not root: skipping tests labelled netns, e2e and podman" >&2
	exclude='netns|e2e|podman'
fi

status=0
for san in 0 1; do
	dir=$(SANITIZE=$san "$top/hack/build.sh")
	le=$exclude
	if [ "$san" = 0 ] && [ -z "$exclude" ]; then
		# The node image, built once here (cached by content) for the podman
		# test, in a network namespace of its own: the build is offline.
		echo "== image" >&2
		unshare -n "$top/hack/build-image.sh" --podman-dir "$dir/podman" >/dev/null || status=1
	elif [ "$san" = 1 ]; then
		# The podman test runs the image, which holds the plain build.
		le=${le:+$le|}podman
	fi
	echo "== ctest in $dir" >&2
	(cd "$dir" && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j1 ${le:+-LE "$le"}) || status=1
done
exit $status
