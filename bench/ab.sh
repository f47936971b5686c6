#!/usr/bin/env bash
# Two Stratus binaries (say, before and after a change) under the same stratus-loadgen workload,
# alternating, each on a fresh data directory: requests/s and the server's CPU per request,
# split by thread (the storage writer, the request workers).
#   bench/ab.sh OLD_BINARY NEW_BINARY [WORKLOAD] [ROUNDS] [CONNECTIONS] [SECONDS]
#   e.g. bench/ab.sh /tmp/stratus-before target/release/stratus ddb-put 3 16 8
# The load generator is target/release/stratus-loadgen (cargo build --release -p stratus-loadgen).
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1 new=$2 workload=${3:-send} rounds=${4:-3} conns=${5:-16} secs=${6:-8}
loadgen=target/release/stratus-loadgen
window=$((secs - 2))
(( window >= 2 )) || { echo "SECONDS must be at least 4" >&2; exit 2; }

# CPU ticks of each thread name of process $1: "name ticks" lines.
ticks() {
  for t in /proc/"$1"/task/*; do
    echo "$(tr ' ' _ <"$t/comm") $(awk '{print $14 + $15}' "$t/stat")"
  done | awk '{a[$1] += $2} END {for (k in a) print k, a[k]}' | sort
}

one() {
  local bin=$1 dir port pid
  dir=$(mktemp -d)
  port=$((20000 + RANDOM % 20000))
  "$bin" serve --port "$port" --data-dir "$dir/data" >"$dir/log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf "localhost:$port/_stratus/health" >/dev/null && break; sleep 0.1; done
  # CPU is sampled over the middle of the run (from its second 1 to 1 s before its end).
  ( sleep 1; ticks "$pid" >"$dir/a"; sleep "$window"; ticks "$pid" >"$dir/b" ) &
  "$loadgen" --endpoint "http://127.0.0.1:$port" --workload "$workload" --connections "$conns" \
    --duration "$secs" >"$dir/out" 2>&1
  wait $!
  local ops
  ops=$(awk '/ops\/s/ {print $2}' "$dir/out")
  printf '%-40s %10s req/s' "$bin" "$ops"
  join "$dir/a" "$dir/b" | awk -v ops="$ops" -v hz="$(getconf CLK_TCK)" -v w="$window" '
    { us = ($3 - $2) / hz / w * 1e6 / ops; if (us > 0.05) printf "  %s %.1f", $1, us; total += us }
    END { printf "  | server %.1f µs of CPU per request\n", total }'
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}

echo "workload $workload, $conns connections, $secs s, $rounds rounds"
for _ in $(seq "$rounds"); do
  one "$old"
  one "$new"
done
