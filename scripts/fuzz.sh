#!/usr/bin/env bash
# Run the cargo-fuzz targets for the four inbound decoders (fuzz/fuzz_targets/).
#   scripts/fuzz.sh            # each target 60 s
#   FUZZ_SECONDS=10 scripts/fuzz.sh decode_gemini
# cargo-fuzz needs nightly flags; the machine has one stable toolchain, so
# RUSTC_BOOTSTRAP=1 unlocks them (a documented escape hatch for exactly this).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_FUZZ_VERSION=0.13.1
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION" >&2
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked || { echo "fuzz: FAILED to install cargo-fuzz" >&2; exit 1; }
fi
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$HOME/.cache/switchyard-fuzz-target}
seconds=${FUZZ_SECONDS:-60}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decode_openai decode_anthropic decode_gemini decode_responses)
cd fuzz
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  echo "fuzz: $t for ${seconds}s" >&2
  cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048
done
