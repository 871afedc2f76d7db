#!/usr/bin/env bash
# Watch-event benchmark: a recorded stream of watch events (KubeVirt Pods of
# one node, LiveMigrations) replayed through the watcher's per-event path in
# one thread, then resident memory with many endpoints and migrations
# (test/bench/bench_watch_events.c). Builds it if needed (build-bench/, Release
# unless BENCH_BUILD_TYPE says otherwise). Prints figures only; no root needed.
#
#   hack/bench-watch.sh [EVENTS [ENDPOINTS [MIGRATIONS [ROUNDS]]]]
#       default: 100000 events; 10000 endpoints and 1000 LiveMigrations;
#       3 rounds
# The stream is recorded once into $BENCH_STREAM (default
# /tmp/handoff-watch-<EVENTS>.ndjson) and replayed from there.
#
# One run prints, measured side by side in each round (CPU time, one core):
# the pipeline's events/s, the JSON parse floor with malloc and with the
# arena the pipeline uses, and the ratio pipeline / floor with malloc (target
# >= 0.8); then the allocator's share of the pipeline's profile (perf record,
# or callgrind's instruction counts on the first 10,000 events when perf
# cannot record), with the arena and with malloc (BENCH_NO_ARENA=1); then RSS.
# BENCH_CALLGRIND=1 adds the same comparison in instructions (callgrind, the
# first 20,000 events; a few minutes): a figure the machine's load does not
# change, though it ignores what cache misses cost.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${BENCH_BUILD_DIR:-$top/build-bench}
type=${BENCH_BUILD_TYPE:-Release}
events=${1:-100000}
eps=${2:-10000}
lms=${3:-1000}
rounds=${4:-3}
stream=${BENCH_STREAM:-/tmp/handoff-watch-$events.ndjson}
bench=$dir/test/bench/bench_watch_events

cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DHANDOFF_SANITIZE=OFF >/dev/null || exit 1
cmake --build "$dir" --target bench_watch_events -j2 >&2 || exit 1

echo "# machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$bench" stream "$stream" "$events" 2000 64 "$rounds"

# The allocator's share of the pipeline's own profile (self time).
alloc_syms='^(malloc|free|cfree|calloc|realloc|_int_malloc|_int_free|_int_realloc|_int_free_merge_chunk|_int_free_create_chunk|_int_free_maybe_consolidate|malloc_consolidate|unlink_chunk.*|tcache_.*|__libc_(malloc|free|calloc|realloc)|__GI___libc_(malloc|free)|sysmalloc|alloc_perturb|cfree@.*)$'
arena_syms='^(arena_alloc|arena_json_malloc|arena_json_free|arena_owns|arena_reset|grow|release)$'
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# "<malloc %> <arena %>" from `perf report` lines "  12.34%  symbol".
shares() {
	awk -v a="$alloc_syms" -v r="$arena_syms" '
		$1 ~ /%$/ { p = $1; sub(/%/, "", p); s = $2
		            if (s ~ a) m += p; else if (s ~ r) ar += p }
		END { printf "%.1f %.1f\n", m, ar }'
}

profile_perf() { # $1: label, rest: env
	local label=$1
	shift
	if ! env "$@" perf record -q -F 2000 -o "$tmp/perf.data" "$bench" pipeline "$stream" \
		"$events" >/dev/null 2>"$tmp/perf.err"; then
		return 1
	fi
	read -r m a < <(perf report -i "$tmp/perf.data" --no-children --sort symbol -g none \
		--percent-limit 0 2>/dev/null | grep -v '^#' |
		sed -E 's/^ *([0-9.]+%) +\[[.k]\] +([^ ]+).*/\1 \2/' | shares)
	echo "allocator share ($label, perf record, self time): malloc/free $m%, arena $a%," \
		"together $(awk -v m="$m" -v a="$a" 'BEGIN{printf "%.1f", m + a}')%"
}

profile_callgrind() { # $1: label, rest: env
	local label=$1
	shift
	head -n 10000 "$stream" >"$tmp/head.ndjson"
	env "$@" valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$bench" pipeline \
		"$tmp/head.ndjson" 10000 >/dev/null 2>&1 || return 1
	read -r m a < <(callgrind_annotate --threshold=100 "$tmp/cg.out" 2>/dev/null |
		awk '/^ *[0-9,]+ +\( *[0-9.]+%\)/ {
			match($0, /\( *[0-9.]+%\)/); p = substr($0, RSTART + 1, RLENGTH - 3)
			gsub(/ /, "", p); rest = substr($0, RSTART + RLENGTH)
			sub(/^ +/, "", rest); sub(/ \[.*$/, "", rest)
			n = split(rest, parts, ":"); print p "% " parts[n] }' | shares)
	echo "allocator share ($label, callgrind instructions, first 10,000 events):" \
		"malloc/free $m%, arena $a%"
}

for run in "pipeline with the arena" "pipeline with malloc (BENCH_NO_ARENA=1)"; do
	envs=()
	[[ $run == *malloc* ]] && envs=(BENCH_NO_ARENA=1)
	profile_perf "$run" "${envs[@]}" || profile_callgrind "$run" "${envs[@]}" ||
		echo "allocator share ($run): neither perf record nor valgrind ran:" \
			"$(head -c 200 "$tmp/perf.err" 2>/dev/null)"
done

if [[ ${BENCH_CALLGRIND:-0} == 1 ]] && command -v valgrind >/dev/null; then
	head -n 20000 "$stream" >"$tmp/head20k.ndjson"
	declare -A ir
	for m in floor floor-arena pipeline; do
		ir[$m]=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bench" "$m" \
			"$tmp/head20k.ndjson" 20000 2>&1 >/dev/null |
			sed -nE 's/.*I +refs: +([0-9,]+).*/\1/p' | tr -d ,)
	done
	awk -v f="${ir[floor]}" -v a="${ir[floor-arena]}" -v p="${ir[pipeline]}" 'BEGIN {
		if (f > 0 && a > 0 && p > 0)
			printf "instructions per event (callgrind, first 20,000 events): pipeline %.0f, " \
			       "floor with malloc %.0f, floor with the arena %.0f; " \
			       "pipeline / floor with malloc, counted in instructions, %.2f\n", \
			       p / 20000, f / 20000, a / 20000, f / p }'
fi

"$bench" memory "$eps" "$lms"
exit 0
