#!/usr/bin/env bash
# Every test suite: format, lints, the wasm32 check of switchyard-types, all cargo tests
# (unit + integration against the real binary and the testkit fakes), and the end-to-end
# suite driven by the official OpenAI, Anthropic and Gemini Python SDKs, and a short
# fuzzing run of the three inbound decoders.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/switchyard-target}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
step() { printf '\n== %s\n' "$*"; }

step "tools"
./scripts/install-tools.sh --test

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "switchyard-types builds for wasm32"
cargo build -p switchyard-types --target wasm32-unknown-unknown --locked --quiet

step "cargo test"
cargo test --workspace --locked

step "SDK end-to-end suite"
cargo build -p switchyard-server -p switchyard-testkit --bins --locked --quiet
SWITCHYARD_BIN=$CARGO_TARGET_DIR/debug/switchyard \
SWITCHYARD_FAKE_BIN=$CARGO_TARGET_DIR/debug/switchyard-fake \
  .venv/bin/python -m pytest -q tests/e2e

step "fuzz smoke: each inbound decoder briefly (scripts/fuzz.sh runs them longer)"
FUZZ_SECONDS=${FUZZ_SECONDS:-10} ./scripts/fuzz.sh

step "all tests passed"
