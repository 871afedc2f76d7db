#!/usr/bin/env bash
# The metrics listen address is a setting: --metrics ADDR:PORT serves /metrics
# (and only that) on an address Prometheus can reach, while /healthz and
# /readyz stay on --http (loopback) for the kubelet's probes. A listen address
# that cannot be bound stops the daemon with an error naming the flag.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
build=${HANDOFF_BUILD_DIR:?}
watcher=$build/watcher/handoff-watcher
dir=$(mktemp -d /tmp/handoff-metrics-XXXXXX)
cleanup_dir "$dir"
hport=$(test_port 0) mport=$(test_port 7)
pid=
cleanup_pid pid
fail_log "watcher log" "$dir/log"
mkdir -p "$dir/ds"
# 127.0.0.2 stands for the node's own address (any loopback address binds).
"$watcher" run --node n1 --datastore "dir:$dir/ds" --no-dataplane \
	--http "127.0.0.1:$hport" --metrics "127.0.0.2:$mport" >"$dir/log" 2>&1 &
pid=$!
ok=
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$hport/readyz" >/dev/null && ok=1 && break
	sleep 0.05
done
[ -n "$ok" ] || fail "not ready on --http"
curl -sf "http://127.0.0.2:$mport/metrics" | grep '^handoff_ready 1$' >/dev/null ||
	fail "/metrics on --metrics lacks handoff_ready 1"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.2:$mport/healthz")
[ "$code" = 404 ] || fail "--metrics serves /healthz ($code): only /metrics belongs there"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.2:$mport/migrations")
[ "$code" = 404 ] || fail "--metrics serves /migrations ($code)"
curl -sf "http://127.0.0.1:$hport/healthz" | grep ok >/dev/null || fail "/healthz on --http"
curl -sf "http://127.0.0.1:$hport/metrics" | grep '^handoff_ready 1$' >/dev/null || fail "/metrics on --http"
grep -q "msg=\"Metrics endpoint\" listen=127.0.0.2:$mport" "$dir/log" || fail "no log of the metrics listener"
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=

# An address that is not this host's: refused at start, naming the flag.
if "$watcher" run --node n1 --datastore "dir:$dir/ds" --no-dataplane --http "" \
	--metrics "192.0.2.1:$mport" >"$dir/log" 2>&1; then fail "bad --metrics accepted"; fi
grep -q -- "--metrics 192.0.2.1:$mport: " "$dir/log" || fail "error does not name --metrics"
echo PASS
