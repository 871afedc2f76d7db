#!/usr/bin/env bash
# install-cni (cni/install-cni.sh), the DaemonSet's init container: plugins
# land on the host's bin directory unless the host's copy is newer, by each
# rule it documents, and the conflist follows the ConfigMap. Fake plugins
# (scripts answering as CNI plugins do) set up each case; the real ones
# (Debian's loopback and host-local, the built handoff-cni) go last.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
build=${HANDOFF_BUILD_DIR:?}
src=${HANDOFF_SOURCE_DIR:?}
ic=$src/cni/install-cni.sh
dir=$(mktemp -d /tmp/handoff-install-cni-XXXXXX)
cleanup_dir "$dir"

# mkplugin PATH RELEASE(or "") MAXSPEC: a plugin with that about line and VERSION answer.
mkplugin() {
	mkdir -p "$(dirname "$1")"
	cat >"$1" <<SH
#!/bin/sh
# $1 ${2:-unknown} $3
if [ -z "\${CNI_COMMAND:-}" ]; then echo "CNI fake plugin ${2:+v$2}${2:-version unknown}" >&2; exit 0; fi
[ "\$CNI_COMMAND" = VERSION ] && echo '{"cniVersion":"$3","supportedVersions":["0.4.0","$3"]}'
SH
	chmod 0755 "$1"
}
# case NAME OURS_RELEASE OURS_SPEC HOST_RELEASE HOST_SPEC EXPECT(install|keep) [touch-host-older]
n=0
check() {
	local name=$1 expect=$6
	n=$((n + 1))
	local ours=$dir/ours$n/$name host=$dir/host$n
	mkplugin "$ours" "$2" "$3"
	mkplugin "$host/$name" "$4" "$5"
	if [ "${7:-}" = host-older ]; then
		touch -d '2001-01-01' "$host/$name"
	else
		touch -d '2001-01-01' "$ours"
	fi
	local before
	before=$(cat "$host/$name")
	"$ic" --bin-dir "$host" "$ours" 2>"$dir/log$n" || fail "$name: install-cni failed: $(cat "$dir/log$n")"
	if [ "$expect" = install ]; then
		cmp -s "$ours" "$host/$name" || fail "$name: host copy kept, expected ours: $(cat "$dir/log$n")"
	else
		[ "$(cat "$host/$name")" = "$before" ] || fail "$name: host copy replaced, expected kept: $(cat "$dir/log$n")"
	fi
	grep -q "^install-cni: $name: $expect" "$dir/log$n" || fail "$name: log: $(cat "$dir/log$n")"
	[ -z "$(ls -A "$host" | grep -v "^$name\$")" ] || fail "$name: leftovers in bin dir: $(ls -A "$host")"
}
#     name                 ours        host        expect
check older-release        1.2.0 1.0.0 1.1.0 1.0.0 install
check newer-release        1.1.0 1.0.0 1.2.0 1.0.0 keep
check equal-release        1.1.0 1.0.0 1.1.0 1.0.0 install
check release-vs-10        1.9.0 1.0.0 1.10.0 1.0.0 keep
check newer-spec           "" 1.0.0 "" 1.1.0 keep
check older-spec           "" 1.1.0 "" 1.0.0 install
check newer-mtime          "" 1.0.0 "" 1.0.0 keep
check older-mtime          "" 1.0.0 "" 1.0.0 install host-older

# Absent on the host: installed with mode 0755 into a created directory.
mkplugin "$dir/a/fresh" 1.0.0 1.0.0
"$ic" --bin-dir "$dir/new/bin" "$dir/a/fresh" 2>/dev/null
[ "$(stat -c %a "$dir/new/bin/fresh")" = 755 ] || fail "fresh plugin mode $(stat -c %a "$dir/new/bin/fresh")"

# The real plugins, as the image installs them, then the conflist.
hostbin=$dir/host/opt/cni/bin hostnet=$dir/host/etc/cni/net.d
cp "$src/cni/10-handoff.conflist" "$dir/10-handoff.conflist"
run() { "$ic" --bin-dir "$hostbin" --net-dir "$hostnet" --conflist "$dir/10-handoff.conflist" \
	"$build/cni/handoff-cni" /usr/lib/cni/loopback /usr/lib/cni/host-local 2>"$dir/real.log"; }
run || fail "real plugins: $(cat "$dir/real.log")"
for p in handoff-cni loopback host-local; do
	grep -q "^install-cni: $p: install absent" "$dir/real.log" || fail "first run, $p: $(cat "$dir/real.log")"
done
cmp -s "$dir/10-handoff.conflist" "$hostnet/10-handoff.conflist" || fail "conflist not installed"
CNI_COMMAND=VERSION "$hostbin/loopback" </dev/null | jq -e . >/dev/null || fail "installed loopback does not run"
# Second run (a pod restart): nothing changes.
run || fail "second run: $(cat "$dir/real.log")"
[ "$(grep -c ': keep identical' "$dir/real.log")" = 4 ] || fail "second run: $(cat "$dir/real.log")"
# The ConfigMap changed: the conflist follows it.
sed -i 's/"handoff"/"handoff2"/' "$dir/10-handoff.conflist"
run || fail "third run: $(cat "$dir/real.log")"
cmp -s "$dir/10-handoff.conflist" "$hostnet/10-handoff.conflist" || fail "conflist not updated"

# Usage errors name what is wrong.
if "$ic" "$dir/a/fresh" 2>"$dir/err"; then fail "no --bin-dir accepted"; fi
grep -q 'usage: install-cni --bin-dir' "$dir/err" || fail "usage: $(cat "$dir/err")"
if "$ic" --bin-dir "$dir/x" "$dir/nope" 2>"$dir/err"; then fail "missing plugin accepted"; fi
grep -q "$dir/nope: not an executable plugin" "$dir/err" || fail "missing plugin: $(cat "$dir/err")"
echo PASS
