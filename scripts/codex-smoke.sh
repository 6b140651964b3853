#!/usr/bin/env bash
# Codex CLI through Switchyard: `codex exec` completes a prompt against each upstream
# family of the fake provider (openai = Responses passthrough, anthropic and gemini =
# translated), speaking the Responses API (`wire_api = "responses"`).
#
#   scripts/codex-smoke.sh            # builds the debug binaries unless SWITCHYARD_BIN /
#                                     # SWITCHYARD_FAKE_BIN point at built ones
#   KEEP=1 scripts/codex-smoke.sh     # keep the work dir (transcripts, logs, config)
#   FAMILIES=gemini scripts/codex-smoke.sh
#
# The CLI is installed once into .tools/codex (npm, pinned CODEX_VERSION). The fake
# answers a request that declares tools with a call of the first one (Codex's
# `exec_command`), so every run is a two-turn conversation: a function call (with the
# upstream's thinking), Codex running it, its output sent back with the reasoning item;
# `#fake:signatures` makes the last answer say how many of the upstream's own thinking
# signatures came back (one is right).
# Exit 0 when every family answered; the transcript of a failing one is printed.
set -euo pipefail
cd "$(dirname "$0")/.."

CODEX_VERSION=${CODEX_VERSION:-0.171.0}
FAMILIES=${FAMILIES:-"openai anthropic gemini"}
TOOLS_DIR=$PWD/.tools/codex
CODEX=$TOOLS_DIR/node_modules/.bin/codex

say() { printf 'codex-smoke: %s\n' "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

install_codex() {
  if [ -x "$CODEX" ] && "$CODEX" --version 2>/dev/null | grep -q " $CODEX_VERSION\$"; then
    return
  fi
  command -v npm >/dev/null || die "npm not found (Node.js is needed for the Codex CLI)"
  say "installing @openai/codex@$CODEX_VERSION into $TOOLS_DIR"
  mkdir -p "$TOOLS_DIR"
  npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --loglevel=error \
    "@openai/codex@$CODEX_VERSION" >&2 || die "npm install @openai/codex@$CODEX_VERSION"
  "$CODEX" --version >/dev/null || die "the installed codex does not run"
}

install_codex

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/switchyard-target}
if [ -z "${SWITCHYARD_BIN:-}" ] || [ -z "${SWITCHYARD_FAKE_BIN:-}" ]; then
  say "building the gateway and the fake provider"
  SKIP_TRUNK_BUILD=${SKIP_TRUNK_BUILD:-1} cargo build -q -p switchyard-server -p switchyard-testkit --bins
fi
GATEWAY_BIN=${SWITCHYARD_BIN:-$CARGO_TARGET_DIR/debug/switchyard}
FAKE_BIN=${SWITCHYARD_FAKE_BIN:-$CARGO_TARGET_DIR/debug/switchyard-fake}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/codex-smoke.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# The fake: its one stdout line names its address.
"$FAKE_BIN" --port 0 >"$WORK/fake.out" 2>"$WORK/fake.err" &
PIDS+=($!)
for _ in $(seq 100); do grep -q '^listening on ' "$WORK/fake.out" && break; sleep 0.05; done
FAKE_URL=$(sed -n 's/^listening on //p' "$WORK/fake.out")
[ -n "$FAKE_URL" ] || die "the fake did not start: $(cat "$WORK/fake.err")"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
GATEWAY=http://127.0.0.1:$PORT
ADMIN_KEY=codex-smoke-admin
SWITCHYARD_ADMIN_KEY=$ADMIN_KEY SWITCHYARD_MASTER_KEY=$(openssl rand -hex 32) SWITCHYARD_LOG=warn \
  "$GATEWAY_BIN" serve --host 127.0.0.1 --port "$PORT" --data-dir "$WORK/data" \
  >"$WORK/gateway.out" 2>"$WORK/gateway.err" &
PIDS+=($!)
for _ in $(seq 200); do curl -fs "$GATEWAY/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
curl -fs "$GATEWAY/healthz" >/dev/null || die "the gateway did not start: $(tail -20 "$WORK/gateway.err")"

api() { curl -fsS -H "Authorization: Bearer $ADMIN_KEY" -H 'content-type: application/json' "$@"; }
for family in $FAMILIES; do
  base=$FAKE_URL; [ "$family" = openai ] && base=$FAKE_URL/v1
  api -X POST "$GATEWAY/api/accounts" -o /dev/null -d "{\"provider\":\"$family\",\"label\":\"codex-$family\",\
\"api_key\":\"fake-$family-key\",\"base_url\":\"$base\",\"models\":[\"via-$family-*\"]}" \
    || die "creating the $family account"
done
CLIENT_KEY=$(api -X POST "$GATEWAY/api/keys" -d '{"name":"codex-smoke"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')

# Codex's home: a custom provider speaking the Responses API to the gateway. Web search
# is a built-in (OpenAI-side) tool, which translated upstreams cannot run: off.
export CODEX_HOME=$WORK/codex-home
mkdir -p "$CODEX_HOME" "$WORK/project"
cat >"$CODEX_HOME/config.toml" <<EOF
model_provider = "switchyard"
web_search = "disabled"

[model_providers.switchyard]
name = "Switchyard"
base_url = "$GATEWAY/v1"
env_key = "SWITCHYARD_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
EOF
export SWITCHYARD_API_KEY=$CLIENT_KEY

failed=0
for family in $FAMILIES; do
  model=via-$family-1
  started=$(date +%s.%N)
  # With reasoning on, the upstream thinks; the reasoning item (its signature sealed in
  # `encrypted_content`) goes back to it with the tool's output in the second turn.
  if (cd "$WORK/project" && timeout 120 "$CODEX" exec --skip-git-repo-check -m "$model" \
        -c model_reasoning_effort='"medium"' -c model_reasoning_summary='"auto"' \
        "Say hello. #fake:signatures" </dev/null >"$WORK/$family.out" 2>"$WORK/$family.err"); then
    rc=0
  else
    rc=$?
  fi
  took=$(python3 -c "import time; print(f'{time.time() - $started:.1f}')")
  # The fake's last answer counts the thinking signatures that came back to it.
  if [ "$rc" -eq 0 ] && grep -q "Signatures back: 1 valid, 0 invalid." "$WORK/$family.out"; then
    say "$family: ok in ${took}s ($(tail -n 1 "$WORK/$family.out" | cut -c1-100))"
  else
    failed=1
    say "$family: FAILED (exit $rc after ${took}s)"
    sed 's/^/  out| /' "$WORK/$family.out" >&2
    tail -n 40 "$WORK/$family.err" | sed 's/^/  err| /' >&2
  fi
done
if [ "$failed" -ne 0 ]; then
  tail -n 20 "$WORK/gateway.err" | sed 's/^/  gateway| /' >&2
  die "codex exec did not complete through every family"
fi
say "every family answered"
