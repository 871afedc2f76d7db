#!/usr/bin/env bash
# BGP passwords (issue 12) with real BIRD: TCP MD5 between namespaces.
# node-a runs `handoff-watcher run --datastore dir:` (passwords.yaml and a
# Secret YAML in its folder) which renders bird.cfg and reconfigures its
# BIRD; node-b and node-c run what `render-bird` makes from the same files.
#  1. Matching passwords: all sessions Established; bird.cfg is 0600.
#  2. node-a's Secret changes the a-b password only: BIRD on A restarts
#     that one session, which cannot come up (B still has the old password:
#     MD5 mismatch); the a-c session is not restarted (still Established on
#     the same TCP connection).
#  3. B gets the new password too: a-b is Established again.
#  4. The passwords never appear in the watcher's log.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/topo.sh
. "$here/lib/topo.sh"
# shellcheck source=lib/bgp.sh
. "$here/lib/bgp.sh"

topo_init
[ -x "$WATCHER" ] || die "$WATCHER not built"
WATCHER_PID=
stop_watcher() {
	local status=$? # topo_cleanup exits with it: keep a failure a failure
	if [ -n "$WATCHER_PID" ]; then
		kill "$WATCHER_PID" 2>/dev/null
		wait "$WATCHER_PID" 2>/dev/null
	fi
	WATCHER_PID=
	(exit "$status")
	topo_cleanup
}
trap stop_watcher EXIT

secret() { # FILE A-B A-C: the Secret as an operator writes it (stringData)
	cat >"$1" <<YAML
apiVersion: v1
kind: Secret
metadata: {name: bgp-passwords, namespace: handoff-system}
stringData:
  a-b: "$2"
  a-c: "$3"
YAML
}

topo_fabric fabric
i=1
for n in a b c; do
	topo_node "$n"
	topo_attach "$n" fabric "10.97.0.$i/24"
	i=$((i + 1))
done
ds=$TOPO_DIR/ds
mkdir -p "$ds" "$TOPO_DIR/ep"
cp "$here/bgp/passwords.yaml" "$ds/"
secret "$ds/secret.yaml" "pw-AB-1" "pw-AC-1"
for n in b c; do render_node "node-$n" "$TOPO_DIR/$n" "$ds/passwords.yaml" "$ds/secret.yaml"; done
grep -q 'password "pw-AB-1";' "$TOPO_DIR/b/bird.cfg" || die "B's reverse peering lacks the password"
for n in b c; do bird_start "$n" "$TOPO_DIR/$n/bird.cfg"; done

# A: the watcher writes bird.cfg (no BIRD yet: written), BIRD starts on it,
# and from then on the watcher reconfigures it over the socket.
ip netns exec "$(ns_of a)" "$WATCHER" run --node node-a --datastore "dir:$ds" \
	--endpoint-dir "$TOPO_DIR/ep" --no-dataplane --http "" --log-level debug \
	--bird-dir "$TOPO_DIR/a" --bird-socket "$(bird_sock a)" >"$TOPO_DIR/watcher.log" 2>&1 &
WATCHER_PID=$!
for _ in $(seq 1 100); do
	grep -q 'password "pw-AC-1";' "$TOPO_DIR/a/bird.cfg" 2>/dev/null && break
	sleep 0.05
done
grep -q 'password "pw-AB-1";' "$TOPO_DIR/a/bird.cfg" || die "the watcher did not render A's passwords"
mode=$(stat -c %a "$TOPO_DIR/a/bird.cfg")
[ "$mode" = 600 ] || die "bird.cfg is mode $mode, not 600"
bird_start a "$TOPO_DIR/a/bird.cfg"

log "1: matching passwords"
wait_established a Node_10_97_0_2 Node_10_97_0_3
wait_established b Node_10_97_0_1
wait_established c Node_10_97_0_1

# The a-c session as BIRD and the kernel see it: its state, and its TCP
# connection (a restarted session is a new connection: another port). BIRD's
# "since" column is not compared: BIRD 1.6 prints it from two clocks and it
# can read one second apart between two calls without any change.
session_ac() {
	bctl a show protocols Node_10_97_0_3 | awk '/^Node_/ { print $1, $4, $6 }'
	ip netns exec "$(ns_of a)" ss -Htn state established dst 10.97.0.3 | awk '{ print $3, $4 }'
}
before=$(session_ac)
echo "$before" | grep -q ' 10.97.0.3:' || die "no TCP connection from A to C: $before"

log "2: A's a-b password changes; B still has the old one"
secret "$ds/secret.yaml.tmp" "pw-AB-2" "pw-AC-1"
mv "$ds/secret.yaml.tmp" "$ds/secret.yaml"
for _ in $(seq 1 100); do
	grep -q 'password "pw-AB-2";' "$TOPO_DIR/a/bird.cfg" && break
	sleep 0.05
done
grep -q 'password "pw-AB-2";' "$TOPO_DIR/a/bird.cfg" || die "A's bird.cfg lacks the new password"
# The file is renamed into place when BIRD has accepted it; the log line
# follows from the same loop turn.
for _ in $(seq 1 100); do
	grep -q 'BIRD configuration updated.*reconfigured=yes' "$TOPO_DIR/watcher.log" && break
	sleep 0.05
done
grep -q 'BIRD configuration updated.*reconfigured=yes' "$TOPO_DIR/watcher.log" ||
	die "the watcher did not reconfigure BIRD"
# Mismatch: the kernel drops B's segments (bad MD5 signature); the session
# stays down. 8 s: more than BIRD's connect retry (5 s).
for _ in $(seq 1 80); do
	bctl a show protocols Node_10_97_0_2 | grep -q Established &&
		die "a-b Established with mismatching passwords"
	sleep 0.1
done
after=$(session_ac)
[ "$before" = "$after" ] || die "the a-c session was restarted by a change of a-b's password:
$before
---
$after"
echo "$after" | grep -q Established || die "a-c is not Established"

log "3: B gets the new password"
render_node node-b "$TOPO_DIR/b-new" "$ds/passwords.yaml" "$ds/secret.yaml"
got=$("$BIRD_RELOAD" "$TOPO_DIR/b" bird.cfg "$TOPO_DIR/b-new/bird.cfg" "$(bird_sock b)")
[ "$got" = applied ] || die "B: new configuration not applied ($got)"
wait_established a Node_10_97_0_2
wait_established b Node_10_97_0_1
[ "$(session_ac)" = "$before" ] || die "the a-c session changed while a-b came back"

log "4: no password in the watcher's log"
grep -n 'pw-A[BC]-' "$TOPO_DIR/watcher.log" && die "a password is in the watcher's log"
log "PASS"
