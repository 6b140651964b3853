#!/usr/bin/env bash
# Load one request shape against a pinned gateway and, optionally, record a CPU profile.
# Needs ../shared/bench (its nginx mock and wrk: `../shared/bench/bench.sh setup`) and, for
# PERF=1, Debian's linux-perf. Builds a `profiling` binary with frame pointers in its own
# target dir (so call graphs are readable: this VM has no hardware counters, cpu-clock only).
#
#   scripts/profile.sh json               # OpenAI JSON passthrough, wrk c=64, prints RESULT
#   PERF=1 scripts/profile.sh stream      # + perf record → $OUT/perf.data, top symbols printed
#   scripts/profile.sh translated-stream  # Anthropic client → OpenAI upstream stream
#   scripts/profile.sh translated-json    # the same, JSON
#
# Knobs: DURATION (6 s), CONC (64), OUT ($HOME/.cache/switchyard-profile), BIN (a prebuilt
# binary instead of the profiling build: for an A/B of two builds, run them in turn).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${BENCH_DIR:-$(pwd)/../shared/bench}
SHAPE=${1:-json}
DURATION=${DURATION:-6}
CONC=${CONC:-64}
OUT=${OUT:-$HOME/.cache/switchyard-profile}
PORT=8048
MOCK=http://127.0.0.1:18080
mkdir -p "$OUT"
export CARGO_TARGET_DIR=${PROFILE_TARGET_DIR:-$HOME/.cache/switchyard-fp-target} SKIP_TRUNK_BUILD=1
if [ -z "${BIN:-}" ]; then
  RUSTFLAGS="-C force-frame-pointers=yes" cargo build --profile profiling -p switchyard-server
  BIN=$CARGO_TARGET_DIR/profiling/switchyard
fi

curl -s -m 2 -o /dev/null "$MOCK/health" || "$BENCH/bench.sh" mock-start >/dev/null
data=$(mktemp -d)
SWITCHYARD_ADMIN_KEY=profile-admin SWITCHYARD_LOG=error taskset -c 0 "$BIN" serve \
  --host 127.0.0.1 --port $PORT --data-dir "$data" > "$OUT/gateway.log" 2>&1 &
gw=$!
trap 'kill $gw 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:$PORT/healthz && break; sleep 0.1; done
api=http://127.0.0.1:$PORT/api
for spec in "oa-json $MOCK/v1" "oa-stream $MOCK/stream/v1"; do
  set -- $spec
  curl -sf -X POST $api/accounts -H 'Authorization: Bearer profile-admin' -H 'Content-Type: application/json' \
    -d "{\"provider\":\"openai_compatible\",\"label\":\"$1\",\"api_key\":\"sk-fake\",\"base_url\":\"$2\",\"models\":[\"$1\"]}" >/dev/null
done
key=$(curl -sf -X POST $api/keys -H 'Authorization: Bearer profile-admin' -H 'Content-Type: application/json' \
  -d '{"name":"profile"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')

msgs='"messages":[{"role":"user","content":"Say hello in one short sentence."}]'
case $SHAPE in
  json) path=/v1/chat/completions; body="{\"model\":\"oa-json\",$msgs}"; hdrs="Authorization: Bearer $key" ;;
  stream) path=/v1/chat/completions; body="{\"model\":\"oa-stream\",\"stream\":true,$msgs}"; hdrs="Authorization: Bearer $key" ;;
  translated-stream) path=/v1/messages
    body="{\"model\":\"oa-stream\",\"max_tokens\":32,\"stream\":true,$msgs}"
    hdrs="x-api-key: $key|anthropic-version: 2023-06-01" ;;
  translated-json) path=/v1/messages
    body="{\"model\":\"oa-json\",\"max_tokens\":32,$msgs}"
    hdrs="x-api-key: $key|anthropic-version: 2023-06-01" ;;
  *) echo "profile: shape is json | stream | translated-json | translated-stream" >&2; exit 2 ;;
esac
echo "$body" > "$OUT/body.json"
load() { WRK_BODY_FILE=$OUT/body.json WRK_HEADERS=$hdrs taskset -c 1 wrk -t1 -c"$CONC" -d"$1"s \
  -s "$BENCH/load/post.lua" http://127.0.0.1:$PORT$path 2>&1 | grep '^RESULT' || true; }
load 2 >/dev/null
if [ "${PERF:-0}" = 1 ]; then
  perf record -e ${EVENT:-cpu-clock} -F 4999 --call-graph fp -p $gw -o "$OUT/perf.data" -- sleep "$DURATION" >/dev/null 2>&1 &
  rec=$!
fi
load "$DURATION"
if [ "${PERF:-0}" = 1 ]; then
  wait $rec
  perf report -i "$OUT/perf.data" --children --sort symbol --stdio -g none 2>/dev/null \
    | grep '%' | grep -v '\[k\]' | head -40 \
    | awk '{printf "%8s %8s  ", $1, $2; for (i = 4; i <= NF - 2; i++) printf "%s ", $i; print ""}' | cut -c1-160
  echo "profile: $OUT/perf.data (perf report -i $OUT/perf.data --children)"
fi
