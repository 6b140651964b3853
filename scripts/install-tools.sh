#!/usr/bin/env bash
# Install every tool the build and the tests need. Idempotent: each step checks what is
# already there (and its version) and does nothing when it is right.
#
#   scripts/install-tools.sh           # what `serve` needs: the Rust toolchain
#   scripts/install-tools.sh --test    # plus rustfmt, clippy, the wasm32 target and the
#                                      # Python venv with the official SDKs (tests/e2e)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

say() { printf 'install-tools: %s\n' "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

# --- Rust ----------------------------------------------------------------------------
MIN_RUST=1.90
command -v cargo >/dev/null || die "cargo not found: install Rust with rustup (https://rustup.rs), minimum $MIN_RUST"
rust_version=$(rustc --version | awk '{print $2}')
if [ "$(printf '%s\n%s\n' "$MIN_RUST" "$rust_version" | sort -V | head -n1)" != "$MIN_RUST" ]; then
  die "rustc $rust_version is older than the required $MIN_RUST (rustup update)"
fi

[ "$want_test" = 1 ] || exit 0

if command -v rustup >/dev/null; then
  for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
      say "adding rustup component $component"
      rustup component add "$component" || die "rustup component add $component"
    fi
  done
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target (switchyard-types must compile for the dashboard)"
    rustup target add wasm32-unknown-unknown || die "rustup target add wasm32-unknown-unknown"
  fi
else
  command -v cargo-clippy >/dev/null || die "clippy missing and no rustup to install it"
fi

# --- Python venv with the official SDKs ------------------------------------------------
PY=${PYTHON:-python3}
command -v "$PY" >/dev/null || die "$PY not found (Python 3.9+ is needed for the SDK end-to-end suite)"
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' || die "Python 3.9+ required"
req=tests/e2e/requirements.txt
stamp=.venv/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "creating .venv with $(tr '\n' ' ' < "$req")"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv || die "python -m venv (on Debian: apt-get install python3-venv)"
  .venv/bin/pip install --quiet --disable-pip-version-check -r "$req" || die "pip install -r $req"
  echo "$want" > "$stamp"
fi
