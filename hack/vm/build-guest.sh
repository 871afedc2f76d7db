#!/usr/bin/env bash
# Build the demo guest: Debian's cloud kernel (its package downloaded and
# unpacked, never installed: installing it would touch the host's boot
# setup) and an initramfs of busybox-static, the virtio modules, guest_echo
# and ./init. Cached: a second run with the same kernel does nothing.
#   build-guest.sh OUTDIR      -> OUTDIR/vmlinuz, OUTDIR/initrd.gz
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "${1:?usage: build-guest.sh OUTDIR}"
out=$(cd "$1" && pwd)
pkg=$(apt-cache depends linux-image-cloud-amd64 | sed -n 's/.*Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n1)
[ -n "$pkg" ] || { echo "build-guest: no linux-image-cloud-amd64 in the package lists (apt-get update?)" >&2; exit 1; }
stamp="$pkg $(sha256sum "$here/init" "$here/guest_echo.c" | sha256sum | cut -c1-16)"
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] && [ -s "$out/initrd.gz" ]; then
	exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The kernel package is kept beside the result: a change to init or
# guest_echo.c rebuilds the initramfs without downloading again.
deb=$out/$pkg.deb
for try in 1 2 3; do
	[ -s "$deb" ] && break
	rm -f "$out"/linux-image-*.deb
	(cd "$work" && apt-get download -q "$pkg" >"$work/apt.log" 2>&1 && mv "$work"/linux-image-*.deb "$deb") ||
		{ echo "build-guest: apt-get download $pkg failed (try $try)" >&2; sleep 2; }
done
[ -s "$deb" ] || { cat "$work/apt.log" >&2; exit 1; }
dpkg-deb -x "$deb" "$work/k"
kver=${pkg#linux-image-}
cp "$work/k/boot/vmlinuz-$kver" "$out/vmlinuz"
r=$work/initramfs
mkdir -p "$r/bin" "$r/lib/modules" "$r/proc" "$r/sys" "$r/dev"
cp /bin/busybox "$r/bin/busybox"
for a in sh mount insmod ip sleep cat echo; do ln -s busybox "$r/bin/$a"; done
for m in virtio virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net; do
	f=$(find "$work/k/lib/modules/$kver" -name "$m.ko" | head -n1)
	[ -n "$f" ] || { echo "build-guest: module $m.ko not in $pkg" >&2; exit 1; }
	cp "$f" "$r/lib/modules/"
done
cc -static -O2 -Wall -Werror -o "$r/bin/guest_echo" "$here/guest_echo.c"
install -m 0755 "$here/init" "$r/init"
(cd "$r" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initrd.gz"
echo "$stamp" >"$out/stamp"
echo "build-guest: $pkg, initramfs $(du -h "$out/initrd.gz" | cut -f1)" >&2
