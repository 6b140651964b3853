#!/usr/bin/env bash
# Build and run the gateway with zero configuration (flags pass through:
# scripts/serve.sh --port 9000). Data lives in $XDG_DATA_HOME/switchyard unless
# SWITCHYARD_DATA_DIR or --data-dir says otherwise; where the generated admin key was
# written is logged at start.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-tools.sh --dashboard
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/switchyard-target}
cargo build --release --locked -p switchyard-server
exec "$CARGO_TARGET_DIR/release/switchyard" serve "$@"
