#!/bin/sh
# install-cni: the DaemonSet's init container. Copies CNI plugins onto the
# host's plugin directory and then the network configuration into the host's
# configuration directory (last: a runtime treats the node's network as ready
# once a conflist exists, so the plugins it names must already be there).
#
#   install-cni --bin-dir DIR [--net-dir DIR --conflist FILE] PLUGIN...
#
# A plugin already on the host is replaced only when ours is not older.
# Which copy is newer, in this order of evidence:
#   1. identical bytes: nothing to do;
#   2. both name a release in their about line (the line a CNI plugin prints
#      when run without CNI_COMMAND, "CNI host-local plugin v1.1.1"): the
#      higher release wins, and at an equal release ours is installed (same
#      release, other bytes: the build this DaemonSet ships);
#   3. otherwise the CNI spec versions each supports (CNI_COMMAND=VERSION):
#      the copy speaking a later spec is newer. Debian builds its plugins
#      without a release ("version unknown"), so this is what separates a
#      host's newer upstream plugin from ours;
#   4. otherwise modification times: a host copy changed after ours was built
#      is kept. Copies keep their mtime (cp -p), so a later run compares
#      like with like.
# Every file lands through a temporary name and rename(2): a runtime executing
# the plugin at that moment sees the old or the new binary, never half of one.
set -eu
# kube play (and some runtimes) start containers without a PATH.
: "${PATH:=/usr/sbin:/usr/bin:/sbin:/bin}"
export PATH

log() { echo "install-cni: $*" >&2; }
die() {
	log "$*"
	exit 1
}

# The first vX.Y.Z in a plugin's about line, or nothing.
about_version() {
	env -u CNI_COMMAND "$1" </dev/null 2>&1 | grep -o 'v[0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*' |
		head -n 1 | cut -c2- || true
}

# The highest CNI spec version a plugin says it supports, or nothing.
spec_version() {
	CNI_COMMAND=VERSION "$1" </dev/null 2>/dev/null | tr -d ' \n' |
		sed -n 's/.*"supportedVersions":\[\([^]]*\)\].*/\1/p' | tr -d '"' | tr ',' '\n' |
		sort -V | tail -n 1 || true
}

# 0 when $1 is a strictly higher version than $2 (sort -V order).
version_gt() {
	[ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n 1)" = "$1" ]
}

# Decide for one plugin: prints "install REASON" or "keep REASON".
decide() {
	ours=$1 host=$2
	[ -e "$host" ] || {
		echo "install absent on the host"
		return
	}
	if cmp -s "$ours" "$host"; then
		echo "keep identical"
		return
	fi
	vo=$(about_version "$ours") vh=$(about_version "$host")
	if [ -n "$vo" ] && [ -n "$vh" ]; then
		if version_gt "$vh" "$vo"; then
			echo "keep host release v$vh is newer than v$vo"
		else
			echo "install release v$vo, host has v$vh"
		fi
		return
	fi
	so=$(spec_version "$ours") sh=$(spec_version "$host")
	if [ -n "$so" ] && [ -n "$sh" ] && [ "$so" != "$sh" ]; then
		if version_gt "$sh" "$so"; then
			echo "keep host speaks CNI $sh, ours $so"
		else
			echo "install ours speaks CNI $so, host $sh"
		fi
		return
	fi
	if [ "$host" -nt "$ours" ]; then
		echo "keep host copy modified after ours was built"
	else
		echo "install host copy is older than ours"
	fi
}

# Copy $1 to $2 through a temporary file in the same directory, then rename.
place() {
	tmp="$(dirname "$2")/.$(basename "$2").install-cni.$$"
	cp -p "$1" "$tmp" && chmod "$3" "$tmp" && mv -f "$tmp" "$2" || {
		rm -f "$tmp"
		die "cannot write $2"
	}
}

bin_dir= net_dir= conflist=
while [ $# -gt 0 ]; do
	case $1 in
	--bin-dir) bin_dir=$2; shift 2 ;;
	--net-dir) net_dir=$2; shift 2 ;;
	--conflist) conflist=$2; shift 2 ;;
	--*) die "unknown option $1" ;;
	*) break ;;
	esac
done
[ -n "$bin_dir" ] || die "usage: install-cni --bin-dir DIR [--net-dir DIR --conflist FILE] PLUGIN..."
[ -z "$net_dir" ] || [ -n "$conflist" ] || die "--net-dir needs --conflist"
[ -z "$conflist" ] || [ -r "$conflist" ] || die "--conflist $conflist: not readable"
mkdir -p "$bin_dir"

for p in "$@"; do
	[ -x "$p" ] || die "$p: not an executable plugin"
	dest="$bin_dir/$(basename "$p")"
	d=$(decide "$p" "$dest")
	case $d in
	install*) place "$p" "$dest" 0755 ;;
	esac
	log "$(basename "$p"): $d"
done

if [ -n "$net_dir" ]; then
	mkdir -p "$net_dir"
	dest="$net_dir/$(basename "$conflist")"
	# The configuration is handoff's own: it follows the ConfigMap.
	if cmp -s "$conflist" "$dest"; then
		log "$(basename "$conflist"): keep identical"
	else
		place "$conflist" "$dest" 0644
		log "$(basename "$conflist"): install"
	fi
fi
