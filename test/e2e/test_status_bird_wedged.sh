#!/usr/bin/env bash
# GET /status while BIRD does not answer: the daemon asks BIRD on its loop
# and never waits for it, so a wedged BIRD neither delays the node's other
# work nor /status itself. Two fake BIRDs on the control sockets: "bird"
# greets, reads commands and never answers; "bird6" accepts and never even
# greets. Then:
# - 20 /status requests at once (old code: each asked both daemons itself,
#   blocking the loop) are answered, and the fake BIRD saw far fewer
#   `show protocols` than requests: a request does not ask BIRD;
# - each reply says BIRD did not answer, with when that was found;
# - /healthz (served by the loop) answers, and the loop keeps turning.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
build=${HANDOFF_BUILD_DIR:?}
watcher=$build/watcher/handoff-watcher
tag=$$
node=hsw-node-$tag
dir=$(mktemp -d /tmp/handoff-wedged-XXXXXX)
cleanup_dir "$dir"
cleanup_netns "$node"
port=$(test_port 4099)
pid=
fakepid=
cleanup_pid fakepid
cleanup_pid pid
fail_log "watcher log" "$dir/log"
fail_log "fake BIRD" "$dir/fake.log"

ip netns add "$node"
ip -n "$node" link set lo up

# The fake BIRDs: each connection and each command line is logged; nothing
# is ever answered (connections are held until the watcher gives up).
python3 - "$dir" >"$dir/fake.log" 2>&1 <<'PY' &
import os, selectors, socket, sys
d = sys.argv[1]
sel = selectors.DefaultSelector()
log = open(os.path.join(d, "events"), "a", buffering=1)
for name, greet in (("bird", True), ("bird6", False)):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(os.path.join(d, name + ".ctl"))
    s.listen(64)
    sel.register(s, selectors.EVENT_READ, ("listen", name, greet))
while True:
    for key, _ in sel.select():
        kind, name, extra = key.data
        if kind == "listen":
            greet = extra
            c, _ = key.fileobj.accept()
            log.write(f"{name} accept\n")
            if greet:
                c.sendall(b"0001 BIRD 1.6.8 ready.\n")
            sel.register(c, selectors.EVENT_READ, ("conn", name, b""))
            continue
        data = key.fileobj.recv(4096)
        if not data:
            sel.unregister(key.fileobj)
            key.fileobj.close()
            log.write(f"{name} closed\n")
            continue
        buf = extra + data
        *lines, rest = buf.split(b"\n")
        for l in lines:
            log.write(f"{name} command {l.decode(errors='replace')}\n")
        sel.modify(key.fileobj, selectors.EVENT_READ, ("conn", name, rest))
PY
fakepid=$!
for _ in $(seq 100); do [ -S "$dir/bird6.ctl" ] && break; sleep 0.05; done
[ -S "$dir/bird6.ctl" ] || fail "the fake BIRD did not start"

mkdir -p "$dir/ds" "$dir/ep" "$dir/bird"
cat >"$dir/ds/cluster.yaml" <<YAML
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 64512, nodeToNodeMeshEnabled: true}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: node-1}
spec: {bgp: {ipv4Address: 10.99.0.1/24}}
YAML
ip netns exec "$node" "$watcher" run --node node-1 --datastore "dir:$dir/ds" \
	--endpoint-dir "$dir/ep" --http "127.0.0.1:$port" --bird-dir "$dir/bird" \
	--bird-socket "$dir/bird.ctl" --bird6-socket "$dir/bird6.ctl" \
	--state-file "$dir/state.json" >"$dir/log" 2>&1 &
pid=$!

get() { ip netns exec "$node" curl -sf -m 20 "http://127.0.0.1:$port$1"; }
for _ in $(seq 200); do get /readyz >/dev/null 2>&1 && break; sleep 0.05; done
get /readyz >/dev/null || fail "the watcher did not get ready"
# The watcher has reached the fake BIRD (which holds what it asks unanswered).
for _ in $(seq 200); do grep -q "^bird command" "$dir/events" && break; sleep 0.05; done
grep -q "^bird command" "$dir/events" || fail "the watcher never asked BIRD anything"

iters() { get /metrics | awk '$1 == "handoff_loop_iterations_total" {print $2}'; }
before=$(iters)
asked_before=$(grep -c "^bird command show protocols$" "$dir/events" || true)
for i in $(seq 20); do
	get /status >"$dir/status.$i" &
done
get /healthz | grep -qx ok || fail "/healthz did not answer while BIRD is wedged"
wait_all() { for j in $(jobs -p); do [ "$j" = "$pid" ] || [ "$j" = "$fakepid" ] || wait "$j" || return 1; done; }
wait_all || fail "a /status request was not answered"
asked_after=$(grep -c "^bird command show protocols$" "$dir/events" || true)
after=$(iters)
# A request does not ask BIRD: only the loop's own refreshes reached it.
[ $((asked_after - asked_before)) -lt 5 ] ||
	fail "$((asked_after - asked_before)) show protocols for 20 /status requests"
[ "$after" -gt "$before" ] || fail "the loop did not turn ($before -> $after)"
for i in $(seq 20); do
	python3 - "$dir/status.$i" <<'PY' || fail "reply $i: $(cat "$dir/status.$i")"
import json, sys
d = json.load(open(sys.argv[1]))
b = {x["daemon"]: x for x in d["bird"]}
for name in ("bird", "bird6"):
    assert "sessions" not in b[name], b[name]
    e = b[name]["error"]
    assert "timed out" in e or "no answer to `show protocols` yet" in e, e
    if "as_of_ms" in b[name]:
        assert b[name]["as_of_ms"] <= d["now_ms"], b[name]
PY
done

# Once a question timed out, the reply says which step BIRD did not answer
# and when that was found.
check_timed_out() {
	get /status | python3 -c "
import json, sys
d = json.load(sys.stdin)
b = {x['daemon']: x for x in d['bird']}
assert \"timed out waiting for BIRD's reply\" in b['bird']['error'], b
assert 'timed out waiting for the greeting' in b['bird6']['error'], b
assert 0 < d['now_ms'] - b['bird']['as_of_ms'] < 60000, b
"
}
for _ in $(seq 200); do check_timed_out 2>/dev/null && break; sleep 0.05; done
check_timed_out || fail "/status does not say BIRD timed out"
ip netns exec "$node" "$watcher" status --http "127.0.0.1:$port" >"$dir/table" ||
	fail "handoff-watcher status: $(cat "$dir/table")"
echo "$(cat "$dir/table")"
grep -Eq "^  bird +bird control socket .* timed out waiting for BIRD's reply \([0-9]+s ago\)$" \
	"$dir/table" || fail "no timed-out row in the table: $(cat "$dir/table")"

kill -TERM "$pid"
wait "$pid" || fail "watcher exited with status $?"
pid=
echo PASS
