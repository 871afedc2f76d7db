#!/usr/bin/env bash
# BIRD killed (kill -9) on a migration's target node and started again, the
# way the DaemonSet starts it (manifests/30-daemonset.yaml): a remote node
# keeps the elevated route the whole time (BGP graceful restart: no route
# change at all on the remote node), and the target's watcher pushes its
# current configuration once BIRD's control socket is back (issue 9, section 1).
#
# Three nodes, iBGP mesh (test/e2e/lib/bgp.sh). A and C run BIRD on the
# rendered bird.cfg; B runs the real handoff-watcher (folder datastore) and
# BIRD on the file the watcher writes. The VM migrates to B: Live, metric 512;
# C routes to it via B at 512. Then B's BIRD is killed; while it is down a
# configuration change is cut off mid-reload (a socket that greets and hangs
# up, as a BIRD dying under the reload would), so the file BIRD restarts from
# is the old one; BIRD is started again and must end up running the new one.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/topo.sh
. "$here/lib/topo.sh"
# shellcheck source=lib/bgp.sh
. "$here/lib/bgp.sh"

topo_init
[ -x "$WATCHER" ] || die "$WATCHER not built"
manifest=$here/../../manifests/30-daemonset.yaml
# BIRD's flags in the DaemonSet, without -f (here BIRD runs in the background).
bird_flags=$(sed -n 's|.*exec \(/usr/sbin/\)\{0,1\}bird \(.*\) -c .*|\2|p' "$manifest" | sed 's/\(^\| \)-f\( \|$\)/\1/')
log "BIRD flags from the DaemonSet: '$bird_flags'"
wpid= fake=
stop_all() {
	local st=$?
	set +e
	[ -n "$wpid" ] && kill "$wpid" 2>/dev/null && wait "$wpid" 2>/dev/null
	[ -n "$fake" ] && kill "$fake" 2>/dev/null && wait "$fake" 2>/dev/null
	[ -n "${mon:-}" ] && kill "$mon" 2>/dev/null && wait "$mon" 2>/dev/null
	(exit "$st") # topo_cleanup reports and exits with the test's status
	topo_cleanup
}
trap stop_all EXIT

topo_ibgp
topo_ns wl # the VM's side of B's workload interface
# The host interface the watcher derives from vms/vm1-target.
ifname=$(python3 -c "
h=0xcbf29ce484222325
for c in b'vms.vm1-target':
    h^=c; h=(h*0x100000001b3)&0xffffffffffffffff
print('ho%012x'%(h&0xffffffffffff))")
nb=$(ns_of b) nwl=$(ns_of wl)
ip -n "$nb" link add "$ifname" type veth peer name eth0 netns "$nwl"
ip -n "$nb" link set "$ifname" up
ip -n "$nwl" link set eth0 up
ip -n "$nwl" addr add 10.65.0.10/32 dev eth0

for n in a c; do
	render_node "node-$n" "$TOPO_DIR/$n" "$here/bgp/ibgp.yaml"
	bird_start "$n" "$TOPO_DIR/$n/bird.cfg"
done

ds=$TOPO_DIR/ds
mkdir -p "$ds"
cp "$here/bgp/ibgp.yaml" "$ds/"
cat >"$ds/migration.yaml" <<YAML
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {liveMigrationRouteConvergenceTime: 300s}
---
apiVersion: v1
kind: Pod
metadata: {namespace: vms, name: vm1-target, labels: {vm: vm1}}
spec: {nodeName: node-b}
status: {podIPs: [{ip: 10.65.0.10}]}
---
apiVersion: projectcalico.org/v3
kind: LiveMigration
metadata: {namespace: vms, name: mig-1, uid: uid-1}
spec:
  source:
    workload: {orchestratorID: k8s, workloadID: vms/vm1-source}
  target: {selector: "vm == 'vm1'"}
YAML
wlog=$TOPO_DIR/watcher-b.log
ip netns exec "$nb" "$WATCHER" run --node node-b --datastore "dir:$ds" \
	--bird-dir "$TOPO_DIR/b" --bird-socket "$(bird_sock b)" --http 127.0.0.1:9099 \
	--state-file "$TOPO_DIR/b/state.json" >"$wlog" 2>&1 &
wpid=$!
for _ in $(seq 100); do [ -s "$TOPO_DIR/b/bird.cfg" ] && break; sleep 0.05; done
[ -s "$TOPO_DIR/b/bird.cfg" ] || die "the watcher wrote no bird.cfg"

start_bird_b() {
	# shellcheck disable=SC2086
	ip netns exec "$nb" bird $bird_flags -c "$TOPO_DIR/b/bird.cfg" -s "$(bird_sock b)" \
		-P "$TOPO_DIR/b/bird.pid" || die "BIRD on B did not start"
}
start_bird_b
for n in a b c; do
	# shellcheck disable=SC2046
	wait_established "$n" $(bgp_protocols "$n")
done

log "the VM resumes on B: Live, elevated"
for _ in $(seq 100); do grep -q 'GARP/RARP capture started' "$wlog" && break; sleep 0.05; done
ip netns exec "$nwl" arping -U -c1 -I eth0 10.65.0.10 >/dev/null
wait_route b "$VM_NET" "dev=$ifname metric=512 proto=88"
wait_route c "$VM_NET" "via=10.99.0.2 metric=512 proto=bird"

# Every route change on C from here on.
ip -n "$(ns_of c)" monitor route >"$TOPO_DIR/c-routes" 2>&1 &
mon=$!
sleep 0.2

log "kill -9 BIRD on B"
kill -9 "$(cat "$TOPO_DIR/b/bird.pid")"
rm -f "$TOPO_DIR/b/bird.pid"
sleep 1
wait_route c "$VM_NET" "via=10.99.0.2 metric=512 proto=bird" 100

log "a configuration change is cut off by a BIRD that hangs up"
rm -f "$(bird_sock b)"
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(4)
while True:
    c, _ = s.accept()
    c.sendall(b"0001 BIRD 1.6.8 ready.\n")
    c.recv(4096)
    c.close()' "$(bird_sock b)" &
fake=$!
for _ in $(seq 100); do [ -S "$(bird_sock b)" ] && break; sleep 0.05; done
cp "$here/bgp/extra-filter.yaml" "$ds/"
for _ in $(seq 200); do grep -q 'msg="BIRD reload failed' "$wlog" && break; sleep 0.05; done
grep -q 'msg="BIRD reload failed' "$wlog" || die "the cut-off reload was not reported"
grep -q "bgp_not-attached_exportFilterV4" "$TOPO_DIR/b/bird.cfg" &&
	die "bird.cfg changed although BIRD never accepted it"
kill "$fake"
wait "$fake" 2>/dev/null || true
fake=
rm -f "$(bird_sock b)"

log "BIRD on B starts again (from the old file)"
start_bird_b
found=
for _ in $(seq 200); do
	if bctl b show symbols function 2>/dev/null | grep -q "bgp_not-attached_exportFilterV4"; then
		found=1
		break
	fi
	sleep 0.05
done
[ -n "$found" ] || die "BIRD on B does not run the current configuration after its restart"
grep -q "bgp_not-attached_exportFilterV4" "$TOPO_DIR/b/bird.cfg" || die "bird.cfg is not the current text"
# shellcheck disable=SC2046
wait_established b $(bgp_protocols b)
# shellcheck disable=SC2046
wait_established c $(bgp_protocols c)
sleep 1 # anything C would do after the session is back (end of graceful restart)
wait_route c "$VM_NET" "via=10.99.0.2 metric=512 proto=bird" 100
kill "$mon"
wait "$mon" 2>/dev/null || true
mon=
if grep -q "10.65.0.10" "$TOPO_DIR/c-routes"; then
	die "C's route to the VM changed while B's BIRD restarted: $(grep 10.65.0.10 "$TOPO_DIR/c-routes" | tr '\n' ';')"
fi
kill "$wpid"
st=0
wait "$wpid" || st=$?
wpid=
[ "$st" = 0 ] || die "the watcher exited with status $st: $(tail -n 5 "$wlog")"
grep -q "Sanitizer\|runtime error" "$wlog" && die "sanitizer: $(grep -m3 "Sanitizer\|runtime error" "$wlog")"
log "PASS"
