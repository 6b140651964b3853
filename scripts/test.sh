#!/usr/bin/env bash
# Every test suite: the deploy files (scripts/check-deploy.sh), format, lints, the wasm32
# check of switchyard-types, all cargo tests
# (unit + integration against the real binary and the testkit fakes), and the end-to-end
# suite driven by the official OpenAI, Anthropic and Gemini Python SDKs (and Codex CLI),
# the dashboard (built once with trunk) in headless Chromium, and a short fuzzing run of
# the four inbound decoders.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/switchyard-target}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
step() { printf '\n== %s\n' "$*"; }

step "tools"
./scripts/install-tools.sh --test

step "deploy files: systemd units, quadlet, Containerfile, Prometheus, Grafana, Caddy, zero-downtime-deploy.sh"
./scripts/check-deploy.sh

# The dashboard (src-leptos, its own workspace and target dir) is linted and built once
# here; every cargo step below embeds this dist (SKIP_TRUNK_BUILD=1) instead of having
# the server's build.rs rerun trunk for check, clippy, test and build.
step "dashboard: fmt, clippy (wasm32), unit tests (host), trunk release build"
LEPTOS_TARGET_DIR=${SWITCHYARD_LEPTOS_TARGET_DIR:-$HOME/.cache/switchyard-leptos-target}
cargo fmt --manifest-path src-leptos/Cargo.toml --check
(cd src-leptos && CARGO_TARGET_DIR=$LEPTOS_TARGET_DIR \
  cargo clippy --target wasm32-unknown-unknown --locked --quiet -- -D warnings)
(cd src-leptos && CARGO_TARGET_DIR=$LEPTOS_TARGET_DIR cargo test --locked --quiet)
(cd src-leptos && PATH="$PWD/node_modules/.bin:$PATH" CARGO_TARGET_DIR=$LEPTOS_TARGET_DIR \
  TRUNK_SKIP_VERSION_CHECK=true trunk build index.html --release --locked)
export SKIP_TRUNK_BUILD=1

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

step "dashboard in headless Chromium (Playwright; screenshots in artifacts/screenshots)"
SWITCHYARD_BIN=$CARGO_TARGET_DIR/debug/switchyard .venv/bin/python -m pytest -q tests/browser

step "fuzz smoke: each inbound decoder briefly (scripts/fuzz.sh runs them longer)"
FUZZ_SECONDS=${FUZZ_SECONDS:-10} ./scripts/fuzz.sh

step "all tests passed"
