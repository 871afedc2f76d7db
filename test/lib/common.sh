# shellcheck shell=bash
# What the shell tests share: teardown, failure reports, ports, waiting.
# Source it right after `set -euo pipefail`:
#   . "$(dirname "$0")/../lib/common.sh"
# ctest runs each test as `bash /abs/path/test_x.sh`, so $0 locates this file.
#
# Teardown is a registry rather than one cleanup() per test so that a test
# registers each thing where it makes it, and an early `fail` (or a set -e
# exit) half-way through set-up removes exactly what exists by then.

_common_cleanups=()
_common_logs=()

# at_exit CMD [ARG...]: run CMD when the test exits, however it exits. The
# registry runs in reverse: processes die before the namespaces they run in,
# and both before the directory holding their sockets and logs. Errors are
# ignored: what a test already stopped or removed is simply gone.
at_exit() {
	_common_cleanups+=("$(printf '%q ' "$@")")
}
_common_run_cleanups() {
	local st=$? i
	set +e
	for ((i = ${#_common_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_common_cleanups[i]}" >/dev/null 2>&1
	done
	return "$st"
}
trap _common_run_cleanups EXIT

# _common_kill_var VAR|PID [SIGNAL]: given a variable's name, the pid is read
# at exit, not at registration, because tests restart daemons and clear the
# variable when they have reaped one themselves.
_common_kill_var() {
	local p
	case $1 in
	*[!0-9]*) p=${!1:-} ;;
	*) p=$1 ;;
	esac
	[ -n "$p" ] || return 0
	kill -s "${2:-TERM}" "$p" 2>/dev/null && wait "$p" 2>/dev/null
	return 0
}
cleanup_pid() { at_exit _common_kill_var "$@"; } # VAR|PID [SIGNAL]

# cleanup_pidfile FILE: for a daemon that forks away (BIRD), so `wait`
# cannot reap it; BIRD removes its pid file on exit, which is the sign
# (bounded: 2 s) that its socket and namespace are no longer in use.
_common_kill_pidfile() {
	[ -f "$1" ] || return 0
	kill "$(cat "$1")" 2>/dev/null
	for _ in $(seq 1 100); do [ -f "$1" ] || break; sleep 0.02; done
	return 0
}
cleanup_pidfile() { at_exit _common_kill_pidfile "$1"; }

# cleanup_netns NAME...: register before `ip netns add`, so that no failure
# between making a namespace and registering it can leak it.
cleanup_netns() {
	local n
	for n in "$@"; do at_exit ip netns del "$n"; done
}
cleanup_dir() { at_exit rm -rf "$1"; } # a directory or a file

# fail_log LABEL FILE: FILE is printed under LABEL when the test fails; a
# failure's cause is usually in the daemon's log, not in the assertion.
fail_log() { _common_logs+=("$1" "$2"); }
fail() {
	local i
	echo "FAIL: $*" >&2
	for ((i = 0; i < ${#_common_logs[@]}; i += 2)); do
		echo "--- ${_common_logs[i]}" >&2
		cat "${_common_logs[i + 1]}" >&2 || true
	done
	exit 1
}

# has GREP-ARGS...: `grep -q` would stop reading early and, under pipefail,
# fail the pipeline through the writer's SIGPIPE: read everything instead.
has() { grep "$@" >/dev/null; }

# test_port SALT: a TCP port for this run. The PID keeps parallel runs of
# different tests apart; SALT (a per-test constant, a prime in most tests)
# keeps tests that happen to get close PIDs from landing on the same port.
test_port() { echo $((20000 + ($$ + $1) % 20000)); }

# wait_for WHAT COMMAND...: poll COMMAND (every 50 ms, at most
# $WAIT_FOR_SECS seconds by the clock, default 5) until it succeeds; fail
# naming WHAT otherwise. Bounded by time, not by tries, so a slow COMMAND
# cannot stretch the bound.
now_ms() { date +%s%3N; }
wait_for() {
	local what=$1 end=$(($(now_ms) + ${WAIT_FOR_SECS:-5} * 1000))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(now_ms)" -lt "$end" ] || fail "timed out waiting for: $what"
		sleep 0.05
	done
}

# ifname_of NAMESPACE NAME: the host interface name the CNI and the watcher
# derive from a pod (FNV-1a 64 of "namespace.name"), computed here
# independently of the C code so the tests check it rather than reuse it.
ifname_of() {
	python3 -c '
import sys
h = 0xcbf29ce484222325
for c in sys.argv[1].encode():
    h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
print("ho%012x" % (h & 0xffffffffffff))' "$1.$2"
}
