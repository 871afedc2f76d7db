#!/usr/bin/env bash
# Build handoff's node image offline and tag it handoff:<project version>
# (podman stores it as localhost/handoff:<version>). Prints that reference.
#
#   hack/build-image.sh [--podman-dir DIR] [--out FILE.tar]
#
#   --podman-dir DIR  use a private podman configuration and storage in DIR
#                     (hack/podman-env.sh; what the tests do) instead of the
#                     machine's own
#   --out FILE.tar    also write the image as a docker-archive (for
#                     `ctr -n k8s.io images import` on a node, or `podman load`)
#
# No network: the root filesystem is assembled from Debian bookworm packages
# installed on this machine (hack/install-deps.sh installs them): each
# package's files as dpkg recorded them, limited to what the programs load:
#   - libc6 and the shared-library packages that ldd finds for
#     handoff-watcher, bird and bird6 (handoff-cni needs only libc);
#   - bird: bird, bird6; containernetworking-plugins: loopback, host-local;
#   - busybox-static: /bin/sh and the tools install-cni and the BIRD
#     wrappers use.
# Then `cmake --install` of the plain build into /usr, and `podman build` of
# Containerfile with FROM scratch. The image carries the package list with
# versions in /usr/share/handoff/packages.
#
# The build is cached by content: a hash of the Containerfile, this script,
# the installed tree and the package versions is the image's label
# dev.handoff.content; when the tagged image already has it, nothing is done.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
podman_dir= out=
while [ $# -gt 0 ]; do
	case $1 in
	--podman-dir) podman_dir=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*)
		echo "usage: hack/build-image.sh [--podman-dir DIR] [--out FILE.tar]" >&2
		exit 2
		;;
	esac
done
podman_global=()
if [ -n "$podman_dir" ]; then
	# shellcheck source=hack/podman-env.sh
	. "$top/hack/podman-env.sh" "$podman_dir"
fi
pm() { podman "${podman_global[@]}" "$@"; }

version=$(sed -n 's/^project(handoff VERSION \([0-9.]*\).*/\1/p' "$top/CMakeLists.txt")
[ -n "$version" ] || {
	echo "build-image: no version in CMakeLists.txt project()" >&2
	exit 1
}
ref=localhost/handoff:$version
log() { echo "build-image: $*" >&2; }
t0=$(date +%s.%N)

# 1. The programs, as `cmake --install` lays them out.
build=$(bash "$top/hack/build.sh")
work=$build/image
rm -rf "$work/install"
mkdir -p "$work"
cmake --install "$build" --prefix "$work/install/usr" >/dev/null
inst=$work/install/usr

# 2. The packages: libc6, what ldd finds for the dynamic programs, and the
#    packages whose programs the image runs.
pkg_of() { # the installed package that owns a file (usrmerge: try both spellings)
	local p=$1 q r
	for q in "$p" "$(readlink -f "$p")" "/usr$p" "${p#/usr}"; do
		r=$(dpkg -S "$q" 2>/dev/null | head -n 1 | cut -d: -f1) || true
		if [ -n "$r" ]; then
			echo "$r"
			return
		fi
	done
	log "no package owns $p"
	exit 1
}
libs=$(for b in "$inst/bin/handoff-watcher" /usr/sbin/bird /usr/sbin/bird6 "$inst/lib/cni/handoff-cni"; do
	ldd "$b" | awk '/=>/ {print $3} /^\t\/lib/ {print $1}'
done | sort -u)
libpkgs=$(for l in $libs; do pkg_of "$l"; done | sort -u)
tools="bird containernetworking-plugins busybox-static"
pkgs=$(printf '%s\n' libc6 $libpkgs $tools | sort -u)
pkglist=$(for p in $pkgs; do dpkg-query -W -f='${Package} ${Version} ${Architecture}\n' "$p"; done)

# 3. The content hash, and the cache check.
hash=$( {
	sha256sum "$top/Containerfile" "$top/hack/build-image.sh"
	(cd "$work/install" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
	echo "$pkglist"
} | sha256sum | cut -c1-32)
have=$(pm image inspect --format '{{index .Labels "dev.handoff.content"}}' "$ref" 2>/dev/null || true)
if [ "$have" = "$hash" ] && [ -z "$out" ]; then
	log "$ref is up to date (content $hash)"
	echo "$ref"
	exit 0
fi

# 4. The root filesystem.
ctx=$work/context
rootfs=$work/rootfs
rm -rf "$ctx" "$rootfs"
mkdir -p "$ctx" "$rootfs/usr/bin" "$rootfs/usr/sbin" "$rootfs/usr/lib" "$rootfs/usr/lib64"
# bookworm's merged /usr.
for d in bin sbin lib lib64; do ln -s "usr/$d" "$rootfs/$d"; done
filelist=$work/files
: >"$filelist"
for p in libc6 $libpkgs; do
	# Shared objects (and the loader) only: no docs, locales, gconv modules or /etc.
	dpkg -L "$p" | grep -E '\.so(\.[0-9][0-9.]*)?$' | grep -v '/gconv/' >>"$filelist" || true
done
echo /usr/sbin/bird >>"$filelist"
echo /usr/sbin/bird6 >>"$filelist"
echo /usr/lib/cni/loopback >>"$filelist"
echo /usr/lib/cni/host-local >>"$filelist"
echo /bin/busybox >>"$filelist"
# Existing files only (dpkg -L lists directories too), spelled as on disk.
sort -u "$filelist" | while read -r f; do
	[ -f "$f" ] || [ -L "$f" ] && [ ! -d "$f" ] && echo "${f#/}"
done >"$filelist.ok"
tar -C / --no-recursion -cf - -T "$filelist.ok" | tar -C "$rootfs" --keep-directory-symlink -xf -
# busybox's applets as symlinks (sh, sleep, cp, sort, ...).
for a in $(/bin/busybox --list); do
	[ -e "$rootfs/usr/bin/$a" ] || ln -s busybox "$rootfs/usr/bin/$a"
done
# handoff itself.
cp -a "$inst/." "$rootfs/usr/"
# What a process expects of /etc, and where BIRD and the watcher write.
mkdir -p "$rootfs/etc" "$rootfs/tmp" "$rootfs/run/bird" "$rootfs/etc/handoff/bird" "$rootfs/var/lib"
chmod 1777 "$rootfs/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' \
	>"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$rootfs/etc/hosts"
echo "$pkglist" >"$rootfs/usr/share/handoff/packages"
ldconfig -r "$rootfs"
# Every program finds every library it needs inside the image (the image's
# own loader resolves them, as it will at run time).
for b in usr/bin/handoff-watcher usr/sbin/bird usr/sbin/bird6 usr/lib/cni/handoff-cni; do
	if ! res=$(chroot "$rootfs" /lib64/ld-linux-x86-64.so.2 --list "/$b" 2>&1) ||
		echo "$res" | grep -q 'not found'; then
		log "/$b cannot run in the image: $res"
		exit 1
	fi
done
tar -C "$rootfs" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$ctx/rootfs.tar" .
cp "$top/Containerfile" "$ctx/Containerfile"

# 5. The image (the one it replaces is removed, unless something still uses it).
old_id=$(pm image inspect --format '{{.Id}}' "$ref" 2>/dev/null || true)
pm build --network none --pull=never --build-arg "VERSION=$version" \
	--label "dev.handoff.content=$hash" -t "$ref" -f "$ctx/Containerfile" "$ctx" >&2
new_id=$(pm image inspect --format '{{.Id}}' "$ref")
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
	pm rmi "$old_id" >/dev/null 2>&1 || true
fi
if [ -n "$out" ]; then
	rm -f "$out"
	pm save --format docker-archive -o "$out" "$ref" >&2
fi
size=$(pm image inspect --format '{{.Size}}' "$ref")
log "built $ref (content $hash): $((size / 1024 / 1024)) MiB in $(awk "BEGIN {printf \"%.1f\", $(date +%s.%N) - $t0}") s"
echo "$ref"
