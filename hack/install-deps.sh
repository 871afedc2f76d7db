#!/usr/bin/env bash
# Install every Debian package that building, testing and the demo need.
# Idempotent; run as root on Debian bookworm.
set -euo pipefail

packages=(
	build-essential cmake pkg-config git
	libcurl4-openssl-dev libjansson-dev libyaml-dev libnl-3-dev libnl-route-3-dev
	libnftnl-dev libmnl-dev libpcap-dev libwebsockets-dev libcmocka-dev libssl-dev
	bird iproute2 nftables iputils-arping iputils-ping tcpdump
	containernetworking-plugins python3 python3-yaml jq procps psmisc curl openssl
	clang-format
	python3-matplotlib
	qemu-system-x86 busybox-static cpio
	podman runc catatonit
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: need root to install: ${missing[*]}" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's bird package starts its daemons; handoff runs its own in namespaces.
systemctl disable --now bird bird6 >/dev/null 2>&1 || true
