#!/usr/bin/env bash
# `cmake --install` lays out exactly what the image uses (cmake/install.cmake),
# and the installed handoff-cni depends on no shared library but libc: it is
# copied onto nodes that have none of the build's libraries.
# $1: ON in a sanitizer build, whose binaries also need the ASan/UBSan runtimes.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
build=${HANDOFF_BUILD_DIR:?}
src=${HANDOFF_SOURCE_DIR:?}
sanitize=${1:-OFF}
dir=$(mktemp -d /tmp/handoff-install-XXXXXX)
cleanup_dir "$dir"

cmake --install "$build" --prefix "$dir/usr" >/dev/null
got=$(cd "$dir/usr" && find . -type f -o -type l | sort)
want=$(printf '%s\n' ./bin/handoff-watcher ./lib/cni/handoff-cni ./lib/handoff/install-cni \
	./share/handoff/10-handoff.conflist)
[ "$got" = "$want" ] || fail "installed tree:
$got
expected:
$want"
for f in bin/handoff-watcher lib/cni/handoff-cni lib/handoff/install-cni; do
	[ -x "$dir/usr/$f" ] || fail "$f is not executable"
done
cmp "$src/cni/10-handoff.conflist" "$dir/usr/share/handoff/10-handoff.conflist" ||
	fail "conflist template differs from cni/10-handoff.conflist"

# The CNI's dynamic dependencies: NEEDED entries, and what the loader resolves.
cni=$dir/usr/lib/cni/handoff-cni
needed=$(readelf -d "$cni" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort)
allowed='^libc\.so\.6$'
[ "$sanitize" = ON ] && allowed='^(libc\.so\.6|libasan\.so\.[0-9]+|libubsan\.so\.[0-9]+|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1)$'
echo "handoff-cni NEEDED: $(echo $needed)"
echo "$needed" | grep -q '^libc\.so\.6$' || fail "handoff-cni does not name libc: $needed"
extra=$(echo "$needed" | grep -Ev "$allowed" || true)
[ -z "$extra" ] || fail "handoff-cni needs shared libraries besides libc: $extra"
ldd "$cni"
# ldd's view: libc, the loader and the vDSO only (plus sanitizer runtimes in
# a sanitizer build).
bad=$(ldd "$cni" | awk '{print $1}' | grep -Ev '^(linux-vdso\.so\.1|libc\.so\.6|/lib64/ld-linux-x86-64\.so\.2)$' || true)
if [ "$sanitize" != ON ] && [ -n "$bad" ]; then
	fail "ldd handoff-cni lists more than libc: $bad"
fi
# It runs: VERSION, and the about line install-cni reads the release from.
CNI_COMMAND=VERSION "$cni" </dev/null | jq -e '.supportedVersions | index("1.0.0")' >/dev/null ||
	fail "installed handoff-cni does not answer VERSION"
ver=$(sed -n 's/^project(handoff VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
about=$(env -u CNI_COMMAND "$cni" </dev/null 2>&1 >/dev/null | head -n 1 || true)
[ "$about" = "CNI handoff-cni plugin v$ver" ] || fail "about line: \"$about\", want v$ver"
echo "PASS"
