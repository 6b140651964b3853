#!/usr/bin/env bash
# Side-by-side benchmark: builds the release binary, runs ../shared/bench/bench.sh for
# JSON and streaming (direct, floor, switchyard, and the peers when installed), then
# the translated paths, and prints one table. Needs `../shared/bench/bench.sh setup` once.
#
#   scripts/bench.sh                  # defaults: DURATION=10 CONC="1 16 64"
#   TARGETS="direct floor switchyard" scripts/bench.sh
#   CRITERION=1 scripts/bench.sh      # also run the criterion micro-benchmarks
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BENCH=${BENCH_DIR:-$ROOT/../shared/bench}
[ -x "$BENCH/bench.sh" ] || { echo "bench: no $BENCH/bench.sh (set BENCH_DIR)" >&2; exit 1; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/switchyard-target}
export SKIP_TRUNK_BUILD=${SKIP_TRUNK_BUILD:-1}
./scripts/install-tools.sh
cargo build --release --locked -p switchyard-server -p switchyard-testkit
export SWITCHYARD_BIN=$CARGO_TARGET_DIR/release/switchyard
export FAKE_BIN=$CARGO_TARGET_DIR/release/switchyard-fake

peers=""
home=${BENCH_HOME:-$HOME/.cache/switchyard-bench}
# the same install paths ../shared/bench/bench.sh setup writes
[ -x "$home/venv-litellm/bin/litellm" ] && peers="$peers litellm"
[ -f "$home/portkey/node_modules/@portkey-ai/gateway/build/start-server.js" ] && peers="$peers portkey"
[ -f "$home/ccr/node_modules/@musistudio/claude-code-router/dist/cli.js" ] && peers="$peers ccr"
TARGETS=${TARGETS:-"direct floor switchyard$peers"}

results=${OUT:-$home/results}
mkdir -p "$results"
start_line=$(wc -l < "$results/results.tsv" 2>/dev/null || echo 0)

for mode in json stream; do
  echo "== mode=$mode targets: $TARGETS" >&2
  MODE=$mode "$BENCH/bench.sh" $TARGETS
done

if [ "${TRANSLATED:-1}" = 1 ]; then
  echo "== translated paths and open streams" >&2
  OUT=$results BENCH_DIR=$BENCH ./scripts/bench-translated.sh
fi

echo
echo "Machine: $(nproc) cores, $(uname -sr); $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| target | mode | conc | rps | p50 ms | p99 ms | errors | RSS MiB | CPU % |"
echo "|---|---|---|---|---|---|---|---|---|"
tail -n +"$((start_line + 1))" "$results/results.tsv" 2>/dev/null \
  | awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $2, $3, $5, $6, $7, $8, $9, $10, $11}'

if [ "${CRITERION:-0}" = 1 ]; then
  cargo bench --locked -p switchyard-core
fi
