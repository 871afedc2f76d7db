#!/usr/bin/env bash
# The blackout of a live migration as a distribution, against a baseline.
#
#   hack/bench-blackout.sh [--runs N] [--fabric ibgp|ebgp|both] [--out DIR]
#                          [--vm-round-trips N]
#
# On each fabric (the iBGP mesh, and eBGP through two ToRs with seed 001's
# BGPFilter; test/e2e/lib/cluster.sh builds both, with BIRD and a real
# handoff-watcher per node) one VM migrates back and forth between node a and
# node b N times (default 50) while node c sends it a numbered UDP probe
# every millisecond: first with handoff (LiveMigration objects: target
# suppressed, elevated on the VM's RARP), then the same N times as a plain
# routed CNI does it (the baseline: the target pod's route at the normal
# priority from its creation; the source's goes when its pod is deleted, 1 s
# after the switchover, SOURCE_GONE_AFTER). Printed per series: median, p90,
# p99 and max of the blackout the client sees and of its network share (the
# RARP on the wire -> the deciding router's route via the target), and the
# baseline/handoff ratio, and draws both distributions per fabric
# (DIR/blackout-MODE.png). Then a real guest (hack/demo-vm.sh) migrates
# a -> b -> a N times (default 5; 0 skips it): QEMU's downtime and the
# client's silence per migration. Figures only: it never fails on them. Root; the
# namespaces it makes are removed at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
runs=50 fabrics="ibgp ebgp" out= vm_trips=5
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=${2:?}; shift ;;
	--fabric) fabrics=${2:?}; [ "$fabrics" = both ] && fabrics="ibgp ebgp"; shift ;;
	--out) out=${2:?}; shift ;;
	--vm-round-trips) vm_trips=${2:?}; shift ;;
	-h | --help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench-blackout: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" -eq 0 ] || { echo "bench-blackout: needs root (network namespaces)" >&2; exit 1; }
if [ -z "${HANDOFF_BUILD_DIR:-}" ]; then
	"$top/hack/install-deps.sh"
	HANDOFF_BUILD_DIR=$("$top/hack/build.sh")
fi
export HANDOFF_BUILD_DIR
out=${out:-$(mktemp -d /tmp/handoff-blackout-XXXXXX)}
mkdir -p "$out"
for f in $fabrics; do
	echo "== $f: $runs migrations with handoff, then $runs without (baseline)" >&2
	# Probes and route switching at real-time priority: a loaded 2-core
	# machine otherwise adds scheduler silences to the figures.
	chrt -f 10 bash "$top/hack/bench/blackout-series.sh" "$f" "$runs" "$out" 2>"$out/$f.log" ||
		{ tail -n 30 "$out/$f.log" >&2; exit 1; }
done
if [ "$vm_trips" -gt 0 ]; then
	echo "== a real VM (QEMU/TCG): $vm_trips round trips a -> b -> a, QEMU's own migration" >&2
	chrt -f 10 bash "$top/hack/demo-vm.sh" --round-trips "$vm_trips" --results "$out/vm.results" \
		>"$out/vm.log" 2>&1 || { tail -n 30 "$out/vm.log" >&2; exit 1; }
fi
echo "== blackout and its network share, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
# Debian's python3 (matplotlib) for the pictures, whatever python3 is first on PATH.
/usr/bin/python3 "$top/hack/bench/blackout_stats.py" "$out" --json "$out/figures.json" --png-dir "$out"
echo "(raw data in $out)"
