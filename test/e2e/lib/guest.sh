# shellcheck shell=bash
# guest.sh - the real VM of hack/demo-vm.sh and e2e_test_hypervisor_vm:
# Debian's cloud kernel with hack/vm's busybox initramfs under QEMU/TCG, its
# monitor (hack/vm/qmp.py), and the checks that it still runs and answers
# after a move. Sourced after topo.sh and cluster.sh (ns_of, until_ok, die,
# CL_PIDS); the caller sets guest (the kernel and initramfs folder, from
# hack/vm/build-guest.sh), QMP, V4 and MAC.

# guest_qemu NS DIR TAP [INCOMING]: the guest's QEMU in namespace NS, its NIC
# the tap TAP (QEMU makes it, or opens the one there: script=no), its console,
# monitor and log in DIR, waiting for a migration when INCOMING is given.
# Its pid is in GUEST_PID.
guest_qemu() {
	local ns=$1 d=$2 tap=$3 incoming=${4:-}
	mkdir -p "$d"
	ip netns exec "$ns" qemu-system-x86_64 -accel tcg -m 128 -smp 1 \
		-nodefaults -display none -serial "file:$d/serial.log" \
		-kernel "$guest/vmlinuz" -initrd "$guest/initrd.gz" \
		-append "console=ttyS0 panic=-1 handoff.ip=$V4" \
		-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" \
		-device "virtio-net-pci,netdev=n0,mac=$MAC,romfile=" \
		-qmp "unix:$d/qmp.sock,server=on,wait=off" \
		${incoming:+-incoming "$incoming"} >"$d/qemu.log" 2>&1 &
	GUEST_PID=$!
	CL_PIDS+=($!)
	until_ok 10 "QEMU's monitor in $d" test -S "$d/qmp.sock"
}

# guest_qmp DIR COMMAND [ARG]: a command to the QEMU whose monitor is in DIR.
guest_qmp() { python3 "$QMP" "$1/qmp.sock" "${@:2}"; }

# guest_answers: the guest answers a UDP probe from node (host) c.
guest_answers() {
	local out=$TOPO_DIR/ping.txt
	ip netns exec "$(ns_of c)" python3 "$top/hack/demo/udp_probe.py" send "$V4" 7 0.01 0.3 "$out" >/dev/null 2>&1
	[ "$(sed -n '2,$p' "$out" | wc -l)" -gt 0 ]
}

# guest_wait SECONDS WHAT: until the guest answers, at most SECONDS (by the
# clock: one try takes a few hundred ms).
guest_wait() {
	local end=$((SECONDS + $1))
	while [ "$SECONDS" -lt "$end" ]; do
		guest_answers && return 0
	done
	die "timed out after $1 s waiting for $2"
}

# guest_alive DIR: QEMU says the guest runs, its heartbeat on the console
# advances (within 5 s), the console shows no kernel error, and it answers.
# GUEST_BEATS says "n1 -> n2", the heartbeats before and after.
guest_alive() {
	local d=$1 log=$1/serial.log n1 n2 st
	st=$(guest_qmp "$d" status) || die "QEMU in $d does not answer on its monitor"
	[ "$st" = running ] || die "QEMU in $d: the guest is $st, not running"
	n1=$(grep -c '^guest: alive' "$log" || true)
	until_ok 5 "the guest's heartbeat in $d" \
		sh -c "[ \$(grep -c '^guest: alive' '$log') -gt $n1 ]"
	n2=$(grep -c '^guest: alive' "$log" || true)
	if grep -qE 'BUG|Oops|Kernel panic|not a head|general protection' "$log"; then
		grep -nE 'BUG|Oops|Kernel panic|not a head|general protection' "$log" >&2
		die "the guest's console in $d reports a kernel error"
	fi
	guest_wait 5 "the guest to answer after the move"
	GUEST_BEATS="$n1 -> $n2"
}
