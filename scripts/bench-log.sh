#!/usr/bin/env bash
# Sustained load with accounting on (the default): does the request log keep up?
#
# One gateway (release build, request log on, unpinned: the log writer gets the other
# core, as on a real host), ../shared/bench's nginx mock as the upstream, wrk for
# WINDOWS back-to-back windows of WINDOW seconds each (JSON passthrough, c=CONC). After
# each window it reads /metrics: the log's queue depth and drops. At the end it compares
# the requests wrk counted with the rows the log holds and the requests the hourly usage
# rollups add up to. Prints one table; exits 1 if a row was dropped or lost.
#
#   scripts/bench-log.sh                      # WINDOWS=6 WINDOW=10 CONC=128
#   SWITCHYARD_BIN=… scripts/bench-log.sh     # an already built binary
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BENCH=${BENCH_DIR:-$ROOT/../shared/bench}
WINDOWS=${WINDOWS:-6}
WINDOW=${WINDOW:-10}
CONC=${CONC:-128}
THREADS=${THREADS:-2}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/switchyard-target}
export SKIP_TRUNK_BUILD=${SKIP_TRUNK_BUILD:-1}
if [ -z "${SWITCHYARD_BIN:-}" ]; then
  cargo build --release --locked -p switchyard-server
  SWITCHYARD_BIN=$CARGO_TARGET_DIR/release/switchyard
fi
command -v wrk >/dev/null && command -v nginx >/dev/null \
  || { echo "bench-log: needs wrk and nginx (../shared/bench/bench.sh setup)" >&2; exit 1; }
MOCK=http://127.0.0.1:18080
PORT=${PORT:-8047}
GW=http://127.0.0.1:$PORT
ADMIN=bench-log-admin
log() { printf '[bench-log %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

work=$(mktemp -d)
gw_pid=""
cleanup() {
  [ -n "$gw_pid" ] && kill -TERM "$gw_pid" 2>/dev/null && wait "$gw_pid" 2>/dev/null
  "$BENCH/bench.sh" mock-stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
"$BENCH/bench.sh" mock-start >/dev/null 2>&1
mkdir -m 700 "$work/data"
# Room for every row of the run (the default keeps 1,000,000).
printf '[logs]\nmax_rows = 100000000\n' > "$work/config.toml"
SWITCHYARD_ADMIN_KEY=$ADMIN SWITCHYARD_LOG=warn "$SWITCHYARD_BIN" serve --host 127.0.0.1 \
  --port "$PORT" --data-dir "$work/data" --config "$work/config.toml" > "$work/gateway.log" 2>&1 &
gw_pid=$!
for _ in $(seq 100); do curl -sf -o /dev/null "$GW/readyz" && break; sleep 0.1; done
auth="Authorization: Bearer $ADMIN"
curl -sf -X POST "$GW/api/accounts" -H "$auth" -H 'Content-Type: application/json' \
  -d "{\"provider\":\"openai_compatible\",\"label\":\"mock\",\"api_key\":\"sk-fake\",\"base_url\":\"$MOCK/v1\",\"models\":[\"gpt-4o-mini\"]}" >/dev/null
key=$(curl -sf -X POST "$GW/api/keys" -H "$auth" -H 'Content-Type: application/json' -d '{"name":"bench"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
metric() { curl -sf "$GW/metrics" -H "$auth" | awk -v n="$1" '$1 == n {print $2}'; }

rows=()
total=0
for w in $(seq "$WINDOWS"); do
  out=$(WRK_BODY='{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello in one short sentence."}],"max_tokens":32}' \
    WRK_HEADERS="Authorization: Bearer $key" \
    wrk -t"$THREADS" -c"$CONC" -d"${WINDOW}s" --timeout 10s -s "$BENCH/load/post.lua" "$GW/v1/chat/completions" 2>&1 \
    | grep '^RESULT')
  get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$out"; }
  n=$(get requests); total=$((total + n))
  depth=$(metric switchyard_log_queue_depth); dropped=$(metric switchyard_log_dropped_total)
  rows+=("| $w | $(get rps) | $(get p50_ms) | $(get p99_ms) | $(get max_ms) | $(get errors) | $depth | $dropped |")
  log "window $w: $(get rps) rps, p99 $(get p99_ms) ms, queue $depth, dropped $dropped"
done
sleep 1
dropped=$(metric switchyard_log_dropped_total)
usage=$(curl -sf "$GW/api/usage?group_by=key&bucket=hour" -H "$auth" \
  | python3 -c 'import json,sys; print(sum(r["requests"] for r in json.load(sys.stdin)["rows"]))')
kill -TERM "$gw_pid"; wait "$gw_pid" 2>/dev/null || true; gw_pid=""
stored=$(python3 - "$work/data/switchyard.db" <<'EOF'
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM request_log").fetchone()[0])
EOF
)
echo
echo "Machine: $(nproc) cores, $(uname -sr); $(date -u +%Y-%m-%dT%H:%MZ); c=$CONC, ${WINDOW}s windows, gateway unpinned, request log on"
echo
echo "| window | rps | p50 ms | p99 ms | max ms | errors | log queue | log dropped |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "requests sent $total; log rows after SIGTERM $stored; usage rollups $usage; dropped $dropped"
[ "$dropped" = 0 ] && [ "$stored" -ge "$total" ] && [ "$usage" -ge "$total" ]
