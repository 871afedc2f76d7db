# topo.sh - network-namespace topologies running BIRD, for the e2e tests.
# Source it, then call topo_init. Everything created here (namespaces, BIRD
# daemons, files) is recorded and removed by topo_cleanup, installed as the
# EXIT trap, so a failing test still leaves nothing behind. Names carry the
# script's PID: parallel runs never collide. No traffic leaves the namespaces
# created here; BIRD only talks to BIRDs on veths between them.
#
#   topo_init                       trap, work dir, tools
#   topo_fabric F                   a namespace holding bridge br0 (an L2 segment)
#   topo_node N                     a namespace playing a host (forwarding on)
#   topo_attach N F ADDR/LEN        veth eth<k> in N, its peer a port of F's br0
#   topo_link N1 ADDR1 N2 ADDR2     a direct veth between N1 and N2 (/30 uplinks)
#   topo_workload N                 veth wl0 (+ peer wl0p) in N: the workload side
#   bird_start N CFG                run BIRD in N on config file CFG
#   bctl N COMMAND...               ask N's BIRD (handoff's control client)
#   wait_established N PROTO...     until those BGP sessions are Established
#   wait_route N PREFIX WANT [MS]   until N's kernel routes for PREFIX read WANT
#   wait_route_via N PREFIX VIA     until N's preferred route for PREFIX goes via VIA
#
# Requires root, iproute2, bird (1.6), jq.

set -euo pipefail

TOPO_ID=$$
TOPO_DIR=
TOPO_NS=()
BIRD_CTL=${HANDOFF_BUILD_DIR:-.}/test/e2e/bird_ctl
BIRD_RELOAD=${HANDOFF_BUILD_DIR:-.}/test/e2e/bird_reload
WATCHER=${HANDOFF_WATCHER:-${HANDOFF_BUILD_DIR:-.}/watcher/handoff-watcher}

log() { printf '%s %s\n' "$(date -u +%H:%M:%S.%3N)" "$*" >&2; }
die() {
	log "FAIL: $*"
	exit 1
}

topo_init() {
	[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
	command -v bird >/dev/null || die "bird (BIRD 1.6) is not installed"
	command -v jq >/dev/null || die "jq is not installed"
	[ -x "$BIRD_CTL" ] || die "$BIRD_CTL not built"
	[ -x "$BIRD_RELOAD" ] || die "$BIRD_RELOAD not built"
	TOPO_DIR=$(mktemp -d /tmp/handoff-e2e-XXXXXX)
	trap topo_cleanup EXIT
	trap 'exit 130' INT TERM
}

# Stop every BIRD (bounded wait), delete every namespace, remove the files.
# On failure the BIRD logs are printed first: they say why.
topo_cleanup() {
	local status=$? pidf ns i
	set +e
	if [ "$status" -ne 0 ] && [ -n "$TOPO_DIR" ]; then
		for f in "$TOPO_DIR"/*/bird.log; do
			[ -f "$f" ] && { echo "--- $f (last lines)"; tail -n 15 "$f"; } >&2
		done
	fi
	for pidf in "$TOPO_DIR"/*/bird.pid; do
		[ -f "$pidf" ] && kill "$(cat "$pidf")" 2>/dev/null
	done
	for i in $(seq 1 100); do
		ls "$TOPO_DIR"/*/bird.pid >/dev/null 2>&1 || break
		sleep 0.02
	done
	for ns in "${TOPO_NS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "$TOPO_DIR" ] && [ -z "${HANDOFF_E2E_KEEP:-}" ] && rm -rf "$TOPO_DIR"
	exit "$status"
}

ns_of() { echo "hoe2e-$TOPO_ID-$1"; }

topo_ns() {
	local ns
	ns=$(ns_of "$1")
	ip netns add "$ns"
	TOPO_NS+=("$ns")
	ip -n "$ns" link set lo up
	mkdir -p "$TOPO_DIR/$1"
}

topo_fabric() {
	topo_ns "$1"
	ip -n "$(ns_of "$1")" link add br0 type bridge
	ip -n "$(ns_of "$1")" link set br0 up
}

topo_node() {
	topo_ns "$1"
	ip netns exec "$(ns_of "$1")" sysctl -qw net.ipv4.ip_forward=1
}

# The k-th fabric interface of a node is eth<k>.
topo_next_eth() {
	local k=0
	while ip -n "$(ns_of "$1")" link show "eth$k" >/dev/null 2>&1; do k=$((k + 1)); done
	echo "eth$k"
}

topo_attach() {
	local node=$1 fabric=$2 addr=$3 eth nsn nsf
	nsn=$(ns_of "$node")
	nsf=$(ns_of "$fabric")
	eth=$(topo_next_eth "$node")
	ip -n "$nsn" link add "$eth" type veth peer name "p-$node" netns "$nsf"
	ip -n "$nsf" link set "p-$node" master br0 up
	ip -n "$nsn" addr add "$addr" dev "$eth"
	ip -n "$nsn" link set "$eth" up
}

topo_link() {
	local n1=$1 a1=$2 n2=$3 a2=$4 e1 e2
	e1=$(topo_next_eth "$n1")
	e2=$(topo_next_eth "$n2")
	ip -n "$(ns_of "$n1")" link add "$e1" type veth peer name "tmp$TOPO_ID" netns "$(ns_of "$n2")"
	ip -n "$(ns_of "$n2")" link set "tmp$TOPO_ID" name "$e2"
	ip -n "$(ns_of "$n1")" addr add "$a1" dev "$e1"
	ip -n "$(ns_of "$n2")" addr add "$a2" dev "$e2"
	ip -n "$(ns_of "$n1")" link set "$e1" up
	ip -n "$(ns_of "$n2")" link set "$e2" up
}

topo_workload() {
	local nsn
	nsn=$(ns_of "$1")
	ip -n "$nsn" link add wl0 type veth peer name wl0p
	ip -n "$nsn" link set wl0p up
	ip -n "$nsn" link set wl0 up
}

bird_sock() { echo "$TOPO_DIR/$1/bird.ctl"; }

bird_start() {
	local node=$1 cfg=$2 i
	bird -p -c "$cfg" || die "$node: $cfg does not parse"
	ip netns exec "$(ns_of "$node")" bird -c "$cfg" -s "$(bird_sock "$node")" \
		-P "$TOPO_DIR/$node/bird.pid"
	for i in $(seq 1 100); do
		"$BIRD_CTL" "$(bird_sock "$node")" show status >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	die "$node: BIRD did not answer on its control socket"
}

bctl() {
	local node=$1
	shift
	"$BIRD_CTL" "$(bird_sock "$node")" "$@"
}

# wait_established NODE PROTO... : each named protocol reaches Established
# (at most 20 s: BIRD 1.6 waits `connect delay time` before connecting).
wait_established() {
	local node=$1 p
	shift
	for p in "$@"; do
		for _ in $(seq 1 400); do
			bctl "$node" show protocols "$p" | grep -q Established && continue 2
			sleep 0.05
		done
		bctl "$node" show protocols all "$p" >&2 || true
		die "$node: BGP session $p not Established after 20 s"
	done
}

# The kernel's routes for PREFIX in NODE, one per line, "via=V metric=M proto=P"
# ("dev=D" instead of via for a device route), sorted by metric.
routes_of() {
	local fam=-4
	case "$2" in *:*) fam=-6 ;; esac
	ip -n "$(ns_of "$1")" "$fam" -j route show "$2" |
		jq -r 'sort_by(.metric // 0)[] |
		       (if .gateway then "via=\(.gateway)" else "dev=\(.dev)" end)
		       + " metric=\(.metric // 0) proto=\(.protocol)"'
}

# wait_route NODE PREFIX WANT [TIMEOUT_MS]: poll every 50 ms until the kernel's
# routes for PREFIX, as routes_of prints them, equal WANT exactly ("" = none).
wait_route() {
	local node=$1 prefix=$2 want=$3 timeout=${4:-5000} got="" end
	end=$(($(date +%s%3N) + timeout))
	while [ "$(date +%s%3N)" -le "$end" ]; do
		got=$(routes_of "$node" "$prefix")
		[ "$got" = "$want" ] && {
			log "$node: $prefix -> ${got:-<none>}"
			return 0
		}
		sleep 0.05
	done
	log "$node: routes for $prefix after ${timeout} ms:"
	printf '  got:  %s\n' "${got:-<none>}" >&2
	printf '  want: %s\n' "${want:-<none>}" >&2
	bctl "$node" show route "$prefix" all >&2 || true
	die "$node: kernel route for $prefix is not '$want'"
}

# wait_route_via NODE PREFIX VIA [TIMEOUT_MS]: until the kernel's preferred
# (lowest-metric) route for PREFIX goes via VIA (a router whose metrics are
# BIRD's defaults).
wait_route_via() {
	local node=$1 prefix=$2 via=$3 timeout=${4:-5000} got="" end
	end=$(($(date +%s%3N) + timeout))
	while [ "$(date +%s%3N)" -le "$end" ]; do
		got=$(routes_of "$node" "$prefix" | head -n 1)
		case "$got" in "via=$via "*)
			log "$node: $prefix -> $got"
			return 0
			;;
		esac
		sleep 0.05
	done
	bctl "$node" show route "$prefix" all >&2 || true
	die "$node: preferred route for $prefix is '${got:-<none>}', not via $via"
}

# A workload route on NODE as handoff's route syncer programs it (protocol 88,
# explicit metric: bird-notes, "always program an explicit metric").
wl_route_add() { ip -n "$(ns_of "$1")" route add "$2" dev wl0 proto 88 metric "$3"; }
wl_route_del() { ip -n "$(ns_of "$1")" route del "$2" dev wl0 proto 88 metric "$3"; }
