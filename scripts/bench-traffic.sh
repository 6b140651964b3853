#!/usr/bin/env bash
# Real-traffic legs, in one run against ../shared/bench's nginx mock, JSON passthrough
# (OpenAI client → OpenAI-compatible upstream), gateway pinned to CPU 0, wrk + nginx to
# CPU 1:
#
#   floor          the bare hyper proxy of ../shared/bench (the practical limit)
#   one-conv       every request the same conversation, one account
#   one-conv-lua   the control for new-conv: bodies built per request by the same wrk
#                  Lua script (which costs the load generator, on the other core, time
#                  of its own), all of one conversation
#   new-conv       every request a new conversation (no x-session-id: the default
#                  session hash), after a warm-up that leaves 100k+ live conversations;
#                  compared with one-conv-lua
#   1k-accounts    one conversation, 1,000 accounts serving the model
#
# Prints each leg's rps and its ratio to one-conv (and one-conv's to the floor), and
# appends bench.sh-format rows to $OUT/results.tsv. Needs nginx and wrk
# (`../shared/bench/bench.sh setup`, or apt-get install nginx-light wrk).
#
#   scripts/bench-traffic.sh                  # DURATION=10 CONC=64 ACCOUNTS=1000
#   SWITCHYARD_BIN=… scripts/bench-traffic.sh # an already built binary
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BENCH=${BENCH_DIR:-$ROOT/../shared/bench}
home=${BENCH_HOME:-$HOME/.cache/switchyard-bench}
OUT=${OUT:-$home/results}
DURATION=${DURATION:-10}
CONC=${CONC:-64}
ACCOUNTS=${ACCOUNTS:-1000}
WARMUP=${WARMUP:-10}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/switchyard-target}
export SKIP_TRUNK_BUILD=${SKIP_TRUNK_BUILD:-1}
if [ -z "${SWITCHYARD_BIN:-}" ]; then
  cargo build --release --locked -p switchyard-server
  SWITCHYARD_BIN=$CARGO_TARGET_DIR/release/switchyard
fi
command -v wrk >/dev/null && command -v nginx >/dev/null \
  || { echo "bench-traffic: needs wrk and nginx (../shared/bench/bench.sh setup)" >&2; exit 1; }
MOCK=http://127.0.0.1:18080
PORT=8048
api=http://127.0.0.1:$PORT/api
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
log() { echo "[bench-traffic $(date +%T)] $*" >&2; }

curl -s -m 2 -o /dev/null "$MOCK/health" || { "$BENCH/bench.sh" mock-start >/dev/null 2>&1; mock_started=1; }

body=$run/body.json
printf '{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello in one short sentence."}],"max_tokens":32}\n' > "$body"

# wrk LEG URL HEADERS SCRIPT(static|same|new) -> "rps p50 p99 errors"
load() {
  local url=$1 hdrs=$2 script=$3 secs=$4 lua=$BENCH/load/post.lua same=0
  [ "$script" != static ] && lua=$ROOT/scripts/bench/new-conversation.lua
  [ "$script" = same ] && same=1
  WRK_SAME=$same WRK_BODY_FILE=$body WRK_HEADERS=$hdrs taskset -c 1 wrk -t1 -c"$CONC" -d"${secs}s" --timeout 10s \
    -s "$lua" "$url" 2>&1 |
    awk '/^RESULT/{for(i=2;i<=NF;i++){split($i,a,"=");v[a[1]]=a[2]}; print v["rps"], v["p50_ms"], v["p99_ms"], v["errors"]}'
}
declare -A RPS
leg() {  # NAME URL HEADERS SCRIPT PID
  local name=$1 res rps p50 p99 errs rss=0
  res=$(load "$2" "$3" "$4" "$DURATION")
  read -r rps p50 p99 errs <<<"${res:-0 0 0 ERR}"
  [ -n "${5:-}" ] && rss=$(awk '/^VmHWM/{print int($2/1024)}' /proc/"$5"/status)
  RPS[$name]=$rps
  printf '%s\t%s\tjson\twrk\t%s\t%s\t%s\t%s\t%s\t%s\t-\t1\t-\n' "$(date -Is)" "traffic:$name" "$CONC" \
    "$rps" "$p50" "$p99" "$errs" "$rss" >> "$OUT/results.tsv"
  log "$name c=$CONC: $rps rps, p50 $p50 ms, p99 $p99 ms, errors $errs, peak RSS $rss MiB"
}

# ---- the floor
cargo build -q --release --manifest-path "$BENCH/floor/Cargo.toml" --target-dir "$home/floor-target"
taskset -c 0 "$home/floor-target/release/floor" "$MOCK/v1/chat/completions" 127.0.0.1:8049 > "$run/floor.log" 2>&1 &
floor=$!; pids+=("$floor")
for _ in $(seq 100); do curl -s -o /dev/null -X POST -d @"$body" http://127.0.0.1:8049/ && break; sleep 0.1; done
load http://127.0.0.1:8049/ "" static 2 >/dev/null
leg floor http://127.0.0.1:8049/ "" static "$floor"
kill "$floor"; wait "$floor" 2>/dev/null || true

# ---- the gateway, one account
SWITCHYARD_ADMIN_KEY=bench-admin SWITCHYARD_LOG=error taskset -c 0 "$SWITCHYARD_BIN" serve \
  --host 127.0.0.1 --port $PORT --data-dir "$run/data" > "$run/gw.log" 2>&1 &
gw=$!; pids+=("$gw")
for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:$PORT/healthz && break; sleep 0.1; done
account() {
  curl -sf -X POST $api/accounts -H 'Authorization: Bearer bench-admin' -H 'Content-Type: application/json' \
    -d "{\"provider\":\"openai_compatible\",\"label\":\"$1\",\"api_key\":\"sk-fake\",\"base_url\":\"$MOCK/v1\",\"models\":[\"gpt-4o-mini\"]}" >/dev/null
}
account a0
key=$(curl -sf -X POST $api/keys -H 'Authorization: Bearer bench-admin' -H 'Content-Type: application/json' \
  -d '{"name":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
hdrs="Authorization: Bearer $key"
url=http://127.0.0.1:$PORT/v1/chat/completions
code=$(curl -s -o "$run/smoke" -w '%{http_code}' -X POST "$url" -H "$hdrs" -H 'Content-Type: application/json' -d @"$body")
[ "$code" = 200 ] || { log "smoke request failed: $code $(cat "$run/smoke")"; exit 1; }

load "$url" "$hdrs" static 2 >/dev/null
leg one-conv "$url" "$hdrs" static "$gw"
leg one-conv-lua "$url" "$hdrs" same "$gw"

log "warm-up: ${WARMUP}s of new conversations"
load "$url" "$hdrs" new "$WARMUP" >/dev/null
live=$(curl -sf $api/resilience/sessions -H 'Authorization: Bearer bench-admin' \
  | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["sessions"]))')
log "live conversations after warm-up: $live"
leg new-conv "$url" "$hdrs" new "$gw"

log "adding accounts up to $ACCOUNTS"
for i in $(seq 1 $((ACCOUNTS - 1))); do account "a$i"; done
n=$(curl -sf $api/accounts -H 'Authorization: Bearer bench-admin' | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d if isinstance(d,list) else d.get("items", d.get("accounts", []))))')
log "accounts: $n"
load "$url" "$hdrs" static 2 >/dev/null
leg 1k-accounts "$url" "$hdrs" static "$gw"
leg one-conv-again "$url" "$hdrs" static "$gw"

ratio() { awk "BEGIN{printf \"%.2f\", $1/$2}"; }
echo
echo "Machine: $(nproc) cores, $(uname -sr); $(date -u +%Y-%m-%dT%H:%MZ); c=$CONC, ${DURATION}s legs, gateway pinned to CPU 0"
echo
echo "| leg | rps | ratio |"
echo "|---|---|---|"
echo "| floor | ${RPS[floor]} | 1.00 of the floor |"
echo "| one conversation, one account | ${RPS[one-conv]} | $(ratio "${RPS[one-conv]}" "${RPS[floor]}") of the floor |"
echo "| one conversation, bodies built by the wrk script (control) | ${RPS[one-conv-lua]} | $(ratio "${RPS[one-conv-lua]}" "${RPS[one-conv]}") of one conversation |"
echo "| every request a new conversation ($live live before the leg) | ${RPS[new-conv]} | $(ratio "${RPS[new-conv]}" "${RPS[one-conv-lua]}") of the control ($(ratio "${RPS[new-conv]}" "${RPS[one-conv]}") of one conversation) |"
echo "| $n accounts serving the model | ${RPS[1k-accounts]} | $(ratio "${RPS[1k-accounts]}" "${RPS[one-conv]}") of one conversation |"
echo "| one conversation again (drift check) | ${RPS[one-conv-again]} | $(ratio "${RPS[one-conv-again]}" "${RPS[one-conv]}") of the first |"
