#!/usr/bin/env bash
# Switchyard-only load legs that ../shared/bench/bench.sh has no target for, in one run
# against its nginx mock, gateway pinned to CPU 0 and wrk to CPU 1 (as bench.sh does):
#
#   - same-protocol and translated paths side by side (OpenAI client → Anthropic upstream,
#     Anthropic client → OpenAI upstream, JSON and stream where the mock has the shape),
#   - time to first byte of a stream at c=1, against the floor (scripts/ttfb.py),
#   - 1,000 concurrent open streams against a slow upstream (the testkit fake provider,
#     chunks 250 ms apart), for RSS and errors.
#
# Appends TSV rows to $OUT/results.tsv in bench.sh's format (target, mode, loadgen, conc,
# rps, p50, p99, errors, RSS, CPU, pin, noise) with targets named `sy:<client>-><upstream>`.
# Called by scripts/bench.sh; runs alone too:
#   SWITCHYARD_BIN=target/release/switchyard FAKE_BIN=target/release/switchyard-fake \
#     scripts/bench-translated.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${BENCH_DIR:-$(pwd)/../shared/bench}
home=${BENCH_HOME:-$HOME/.cache/switchyard-bench}
OUT=${OUT:-$home/results}
DURATION=${DURATION:-10}
CONC=${CONC:-"1 64"}
STREAMS=${STREAMS:-1000}
: "${SWITCHYARD_BIN:?set SWITCHYARD_BIN}"
: "${FAKE_BIN:?set FAKE_BIN}"
MOCK=http://127.0.0.1:18080
PORT=8047
FAKE_PORT=18090
run=$(mktemp -d)
mkdir -p "$OUT"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "${mock_started:-0}" = 1 ] && "$BENCH/bench.sh" mock-stop >/dev/null 2>&1
  rm -rf "$run"
}
trap cleanup EXIT
log() { echo "[bench-translated $(date +%T)] $*" >&2; }

curl -s -m 2 -o /dev/null "$MOCK/health" || { "$BENCH/bench.sh" mock-start >/dev/null 2>&1; mock_started=1; }

# ---- gateway, pinned to CPU 0, with one account per upstream shape and one client key
# start_gw [CONFIG_FILE]: sets gw (pid) and key
start_gw() {
  rm -rf "$run/data"
  SWITCHYARD_ADMIN_KEY=bench-admin SWITCHYARD_LOG=error taskset -c 0 "$SWITCHYARD_BIN" serve \
    ${1:+--config "$1"} --host 127.0.0.1 --port $PORT --data-dir "$run/data" > "$run/gw.log" 2>&1 &
  gw=$!; pids+=("$gw")
  for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:$PORT/healthz && break; sleep 0.1; done
  account openai_compatible oa-json "$MOCK/v1" oa-json
  account openai_compatible oa-stream "$MOCK/stream/v1" oa-stream
  account anthropic an-json "$MOCK" an-json
  account openai_compatible slow "http://127.0.0.1:$FAKE_PORT/v1" slow
  key=$(curl -sf -X POST $api/keys -H 'Authorization: Bearer bench-admin' -H 'Content-Type: application/json' \
    -d '{"name":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
}
stop_gw() { kill "$gw" 2>/dev/null || true; wait "$gw" 2>/dev/null || true; }
api=http://127.0.0.1:$PORT/api
account() {
  curl -sf -X POST $api/accounts -H 'Authorization: Bearer bench-admin' -H 'Content-Type: application/json' \
    -d "{\"provider\":\"$1\",\"label\":\"$2\",\"api_key\":\"sk-fake\",\"base_url\":\"$3\",\"models\":[\"$4\"]}" >/dev/null \
    || { log "POST /api/accounts failed: $(cat "$run/gw.log")"; exit 1; }
}
start_gw

rss() { awk '/^VmRSS/{print int($2/1024)}' /proc/$gw/status; }
ticks() { awk '{print $14+$15}' /proc/$gw/stat; }

# one leg: NAME MODE(json|stream) PATH MODEL [PROMPT [EXPECT]]
leg() {
  local name=$1 mode=$2 path=$3 model=$4 prompt=${5:-Say hello in one short sentence.} expect=${6:-canned}
  local hdrs body=$run/body-${1//[^a-z]/_}-$2.json c extra=""
  [ "$mode" = stream ] && extra=',"stream":true'
  if [ "$path" = /v1/messages ]; then
    hdrs="x-api-key: $key|anthropic-version: 2023-06-01"
  else
    hdrs="Authorization: Bearer $key"
  fi
  printf '{"model":"%s","max_tokens":32,"messages":[{"role":"user","content":"%s"}]%s}\n' \
    "$model" "$prompt" "$extra" > "$body"
  local args=() IFS='|' h
  for h in $hdrs; do args+=(-H "$h"); done
  unset IFS
  local smoke
  smoke=$(curl -s -m 10 -w '\n%{http_code}' http://127.0.0.1:$PORT$path -H 'Content-Type: application/json' \
    "${args[@]}" --data-binary @"$body")
  if [ "${smoke##*$'\n'}" != 200 ] || ! grep -qi "$expect" <<<"$smoke"; then
    log "smoke FAILED for $name $mode: $(head -c 300 <<<"$smoke")"; return 0
  fi
  WRK_BODY_FILE=$body WRK_HEADERS=$hdrs taskset -c 1 wrk -t1 -c16 -d2s -s "$BENCH/load/post.lua" \
    http://127.0.0.1:$PORT$path >/dev/null 2>&1
  for c in $CONC; do
    local t0 t1 res rps p50 p99 errs
    t0=$(ticks)
    # the gateway's largest RSS while the load runs, sampled every 0.25 s
    ( m=0; while kill -0 "$gw" 2>/dev/null; do r=$(rss); [ "$r" -gt "$m" ] && { m=$r; echo "$m" > "$run/rss.max"; }; sleep 0.25; done ) &
    local sampler=$!
    res=$(WRK_BODY_FILE=$body WRK_HEADERS=$hdrs taskset -c 1 wrk -t1 -c"$c" -d"${DURATION}s" --timeout 10s \
      -s "$BENCH/load/post.lua" http://127.0.0.1:$PORT$path 2>&1 |
      awk '/^RESULT/{for(i=2;i<=NF;i++){split($i,a,"=");v[a[1]]=a[2]}; print v["rps"], v["p50_ms"], v["p99_ms"], v["errors"]}')
    t1=$(ticks)
    kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
    read -r rps p50 p99 errs <<<"${res:-0 0 0 ERR}"
    printf '%s\t%s\t%s\twrk\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t1\t-\n' "$(date -Is)" "$name" "$mode" "$c" \
      "$rps" "$p50" "$p99" "$errs" "$(cat "$run/rss.max")" $(( (t1 - t0) * 100 / $(getconf CLK_TCK) / DURATION )) >> "$OUT/results.tsv"
    log "$name $mode c=$c: $rps rps, p50 $p50 ms, p99 $p99 ms, errors $errs, RSS max $(cat "$run/rss.max") MiB"
    rm -f "$run/rss.max"
  done
}

leg "sy:openai->openai" json /v1/chat/completions oa-json
leg "sy:openai->anthropic" json /v1/chat/completions an-json
leg "sy:anthropic->anthropic" json /v1/messages an-json
leg "sy:anthropic->openai" json /v1/messages oa-json
leg "sy:openai->openai" stream /v1/chat/completions oa-stream
leg "sy:anthropic->openai" stream /v1/messages oa-stream

# ---- time to first byte of a stream, one request at a time, against the floor (a bare
# hyper proxy, also pinned to CPU 0): the two take turns in blocks (scripts/ttfb.py).
floor_bin=$home/floor-target/release/floor
if [ -x "$floor_bin" ]; then
  taskset -c 0 "$floor_bin" "$MOCK/stream/v1/chat/completions" 127.0.0.1:8046 > "$run/floor.log" 2>&1 &
  floor=$!; pids+=("$floor")
  for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:8046/ && break; sleep 0.1; done
  printf '{"model":"oa-stream","stream":true,"messages":[{"role":"user","content":"Say hello in one short sentence."}]}' \
    > "$run/ttfb.json"
  taskset -c 1 python3 scripts/ttfb.py --body "$run/ttfb.json" --header "Authorization: Bearer $key" \
    -n "${TTFB_N:-3000}" floor=http://127.0.0.1:8046/v1/chat/completions \
    "sy:openai->openai=http://127.0.0.1:$PORT/v1/chat/completions" > "$run/ttfb.out" 2> "$run/ttfb.err" \
    || log "ttfb FAILED: $(tail -3 "$run/ttfb.err")"
  while read -r name p50 p90 p99 n; do
    log "$name time to first byte at c=1: p50 $p50 µs, p90 $p90 µs, p99 $p99 µs ($n requests)"
    printf '%s\t%s\tttfb\tttfb.py\t1\t-\t%s\t%s\t0\t-\t-\t1\t-\n' "$(date -Is)" "$name" \
      "$(awk "BEGIN{print $p50/1000}")" "$(awk "BEGIN{print $p99/1000}")" >> "$OUT/results.tsv"
  done < "$run/ttfb.out"
  kill "$floor" 2>/dev/null || true
else
  log "no floor binary at $floor_bin (bench.sh builds it): time to first byte skipped"
fi

# ---- many open streams: a slow upstream holds each stream open for a few seconds. The
# default adaptive limit (8 → 64 per account) would queue them, so this gateway lets one
# account hold them all.
stop_gw
printf '[aimd]\ninitial_limit = %s\nmax_limit = %s\n' "$STREAMS" "$STREAMS" > "$run/streams.toml"
start_gw "$run/streams.toml"
"$FAKE_BIN" --port $FAKE_PORT > "$run/fake.log" 2>&1 &
pids+=("$!")
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:$FAKE_PORT/ && break; sleep 0.1; done
CONC=$STREAMS leg "sy:open-streams" stream /v1/chat/completions slow "Say hello #fake:chunk_delay=250" fake
