#!/usr/bin/env bash
# Issue 9 section 2: a BIRD control socket that greets and never answers must
# not hold the watcher's loop, and a failed reload is tried again until it
# succeeds.
#
# The real handoff-watcher (--no-dataplane: no root) runs against a fake BIRD
# (python, a Unix socket) that greets every connection and, while
# $dir/mode says "silent", never answers. While a reload hangs on it:
# /healthz answers at once and a datastore change is taken in (other fds are
# served). When the attempt times out the reload is tried again; once the fake
# answers "0003 Reconfigured" bird.cfg is in place and the attempts stop.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
w=${HANDOFF_BUILD_DIR:?}/watcher/handoff-watcher
dir=$(mktemp -d /tmp/handoff-ctl-silent.XXXXXX)
cleanup_dir "$dir"
port=$(test_port 7919)
pid= fpid=
cleanup_pid fpid
cleanup_pid pid
fail_log "watcher log" "$dir/log"
fail_log "fake BIRD log" "$dir/fake.log"
WAIT_FOR_SECS=10
attempts() { grep -c '^command configure' "$dir/fake.log" 2>/dev/null || true; }
attempts_ge() { [ "$(attempts)" -ge "$1" ]; }

mkdir -p "$dir/ds" "$dir/bird"
echo silent >"$dir/mode"
cat >"$dir/fake.py" <<'PY'
import os, socket, sys, threading, time
path, mode_file, log_file = sys.argv[1:4]
held = []
def log(line):
    with open(log_file, "a") as f:
        f.write(line + "\n")
def serve(c):
    c.sendall(b"0001 BIRD 1.6.8 ready.\n")
    buf = b""
    while not buf.endswith(b"\n"):
        d = c.recv(1024)
        if not d:
            return
        buf += d
    log("command " + buf.decode().strip() + " at %d" % int(time.monotonic() * 1000))
    if open(mode_file).read().strip() == "silent":
        held.append(c)  # greeted, never answered, never closed
        return
    c.sendall(b"0002-Reading configuration\n0003 Reconfigured\n")
    c.close()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(16)
log("listening")
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
python3 "$dir/fake.py" "$dir/bird.ctl" "$dir/mode" "$dir/fake.log" &
fpid=$!
wait_for "the fake BIRD" test -S "$dir/bird.ctl"

cat >"$dir/ds/node.yaml" <<'YAML'
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1}
spec: {bgp: {ipv4Address: 10.0.0.1/24}}
YAML
"$w" run --node n1 --datastore "dir:$dir/ds" --no-dataplane --log-level debug \
	--bird-dir "$dir/bird" --bird-socket "$dir/bird.ctl" --bird6-socket "$dir/no-bird6.ctl" \
	--http "127.0.0.1:$port" >"$dir/log" 2>&1 &
pid=$!
http() { curl -sf --max-time 1 "http://127.0.0.1:$port$1"; }

# The first reload reaches the fake and hangs there.
wait_for "the first configure" attempts_ge 1
t0=$(now_ms)
[ ! -e "$dir/bird/bird.cfg" ] || fail "bird.cfg in place before BIRD answered"

# While it hangs: every /healthz is answered at once ...
for i in 1 2 3 4 5; do
	s=$(now_ms)
	[ "$(http /healthz)" = ok ] || fail "/healthz not answered while BIRD is silent"
	[ $(($(now_ms) - s)) -lt 500 ] || fail "/healthz took $(($(now_ms) - s)) ms while BIRD is silent"
	sleep 0.1
done
# ... and a datastore change (inotify) is taken in.
cat >"$dir/ds/pod.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: elsewhere, namespace: default}
spec: {nodeName: another-node}
YAML
# bird6 has no BIRD listening: its file is written for BIRD to start with.
wait_for "bird6.cfg" test -e "$dir/bird/bird6.cfg"
wait_for "the datastore event" grep -q 'msg="Object event" event=ADDED kind=Pod namespace=default name=elsewhere' "$dir/log"
[ "$(attempts)" = 1 ] || fail "$(attempts) attempts before the first timed out"
[ $(($(now_ms) - t0)) -lt 4000 ] || fail "the checks above took too long to prove anything"

# The attempt times out (5 s), is logged, and is tried again after the backoff.
wait_for "the timeout" grep -q 'BIRD reload failed; the previous configuration keeps running.*retry_in_ms=1000.*timed out waiting for BIRD' "$dir/log"
grep -q 'msg="BIRD reload failed' "$dir/log"
http /readyz | grep -q "bird.cfg: reload failing" || fail "/readyz does not say degraded: $(http /readyz)"
http /metrics | grep -qx 'handoff_bird_reload_failures_total 1' || fail "failure not counted"
echo ok >"$dir/mode"
wait_for "the retry" attempts_ge 2
first=$(grep '^command configure' "$dir/fake.log" | sed -n 1p | sed 's/.* at //')
second=$(grep '^command configure' "$dir/fake.log" | sed -n 2p | sed 's/.* at //')
gap=$((second - first))
[ "$gap" -ge 5900 ] && [ "$gap" -lt 9000 ] || fail "retry came $gap ms after the first attempt (expected 5 s timeout + 1 s backoff)"

# It succeeds: the file is in place, the log says so, and retries stop.
wait_for "bird.cfg" test -e "$dir/bird/bird.cfg"
wait_for "the success log" grep -q 'msg="BIRD configuration updated" file='"$dir"'/bird/bird.cfg reconfigured=yes' "$dir/log"
grep -q "^router id 10.0.0.1;" "$dir/bird/bird.cfg" || fail "bird.cfg is not the rendered configuration"
[ "$(http /readyz)" = ready ] || fail "/readyz after success: $(http /readyz)"
n=$(attempts)
sleep 2.5
[ "$(attempts)" = "$n" ] || fail "attempts went on after success ($n -> $(attempts))"

# SIGTERM while a reload hangs on a silent BIRD: the watcher stops at once
# and leaves no temporary file behind.
echo silent >"$dir/mode"
cat >"$dir/ds/peer.yaml" <<'YAML'
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: p1}
spec: {peerIP: 10.0.0.9, asNumber: 65009}
YAML
wait_for "the attempt for the new peer" attempts_ge $((n + 1))
ls -A "$dir/bird" | grep -q '^\.bird\.cfg\.' || fail "no temporary file while the reload hangs"
s=$(now_ms)
kill "$pid"
wait "$pid" || fail "watcher exited $? on SIGTERM"
pid=
[ $(($(now_ms) - s)) -lt 1000 ] || fail "SIGTERM took $(($(now_ms) - s)) ms with a reload in flight"
ls -A "$dir/bird" | grep -q '^\.bird' && fail "temporary files left: $(ls -A "$dir/bird")"
grep -q "neighbor 10.0.0.9" "$dir/bird/bird.cfg" && fail "an unanswered configuration was put in place"
echo "bird_ctl_silent: ok (retry after $gap ms)"
