#!/usr/bin/env bash
# Check the deploy files without building an image or starting systemd (cheap: seconds).
# Tools come from `scripts/install-tools.sh --test` (see its "Deploy checks" part).
#
#   1. deploy/switchyard.service + switchyard.socket: `systemd-analyze verify`, where
#      any warning (unknown key, bad value) fails; the service's sandbox must keep
#      `systemd-analyze security` exposure at or below 2.0 ("OK").
#   2. deploy/switchyard.container: Podman's own quadlet generator (`quadlet -dryrun`,
#      Podman 5.x) converts it, rejecting unknown keys; the generated unit is then
#      verified with the socket like 1.
#   3. Containerfile: hadolint.
#   4. deploy/prometheus.yml: `promtool check config`; every PromQL expression of
#      deploy/grafana-dashboard.json: `promtool check rules` (syntax), and each
#      switchyard_* metric it reads exists in the server's source or is on the list of
#      planned ones below (reported, not failed).
#   5. deploy/Caddyfile: `caddy validate`.
#   6. scripts/zero-downtime-deploy.sh and this script: shellcheck; then the deploy
#      script is run against a stub gateway (READY=1 over NOTIFY_SOCKET, the /readyz
#      fallback, a new process that never gets ready, one that crashes, an old one that
#      will not stop).
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS=${SWITCHYARD_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard-tools}
SHELLCHECK=$TOOLS/shellcheck/usr/bin/shellcheck
CADDY=$TOOLS/caddy/usr/bin/caddy
PROMTOOL=$TOOLS/prometheus/usr/bin/promtool
QUADLET=$TOOLS/podman/usr/libexec/podman/quadlet
HADOLINT=.venv/bin/hadolint
# Metrics the dashboard may read before the gateway exports them.
PLANNED_METRICS=""

failures=0
say() { printf 'check-deploy: %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; failures=$((failures + 1)); }
for tool in systemd-analyze "$SHELLCHECK" "$CADDY" "$PROMTOOL" "$QUADLET" "$HADOLINT" python3; do
  command -v "$tool" >/dev/null \
    || { say "missing $tool: run scripts/install-tools.sh --test"; exit 1; }
done
work=$(mktemp -d)
stubs=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  for pid in "${stubs[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# verify UNIT_FILES...: systemd-analyze verify, failing on any message. Binaries the
# units start must exist: they are pointed at a stub first.
verify() {
  local out
  if ! out=$(cd "$work/units" && systemd-analyze verify "$@" 2>&1) || [ -n "$out" ]; then
    fail "systemd-analyze verify $*:"$'\n'"$out"
    return 1
  fi
}
mkdir -p "$work/units" "$work/bin"
printf '#!/bin/sh\nexit 0\n' > "$work/bin/stub" && chmod +x "$work/bin/stub"
stub_paths() { sed -e "s#/usr/local/bin/switchyard#$work/bin/stub#g" -e "s#/usr/bin/podman#$work/bin/stub#g" -e "s#/bin/kill#$work/bin/stub#g"; }

# --- 1. systemd units ----------------------------------------------------------------
stub_paths < deploy/switchyard.service > "$work/units/switchyard.service"
cp deploy/switchyard.socket "$work/units/"
verify ./switchyard.socket ./switchyard.service \
  && say "ok: switchyard.service + switchyard.socket ($(systemd-analyze --version | head -n1))"
if exposure=$(cd "$work/units" && systemd-analyze security --offline=true --threshold=20 ./switchyard.service 2>&1); then
  say "ok: switchyard.service sandbox ($(printf '%s\n' "$exposure" | grep -o 'exposure level.*' | tail -n1))"
else
  fail "systemd-analyze security switchyard.service: exposure above 2.0:"$'\n'"$(printf '%s\n' "$exposure" | grep -E '✗|exposure')"
fi

# --- 2. quadlet --------------------------------------------------------------------------
mkdir -p "$work/quadlet" "$work/generated"
cp deploy/switchyard.container "$work/quadlet/"
if ! QUADLET_UNIT_DIRS="$work/quadlet" "$QUADLET" -no-kmsg-log -dryrun > "$work/generated/out" 2> "$work/generated/err" \
   || grep -v 'Loading source unit file' "$work/generated/err" | grep -q .; then
  fail "quadlet -dryrun deploy/switchyard.container:"$'\n'"$(cat "$work/generated/err")"
else
  # The dry run prints each generated unit after a ---NAME--- line.
  awk '/^---.*---$/ { next } { print }' "$work/generated/out" | stub_paths > "$work/units/switchyard.service"
  grep -q '^ExecStart=.*run .*--sdnotify=container' "$work/units/switchyard.service" \
    || fail "the generated unit does not run the container with --sdnotify=container (Notify=true)"
  grep -q 'io.containers.autoupdate=registry' "$work/units/switchyard.service" \
    || fail "the generated unit has no auto-update label"
  verify ./switchyard.socket ./switchyard.service \
    && say "ok: switchyard.container (quadlet $("$QUADLET" -version)) and its generated switchyard.service"
fi

# --- 3. Containerfile --------------------------------------------------------------------
if out=$("$HADOLINT" Containerfile 2>&1); then
  say "ok: Containerfile ($("$HADOLINT" --version))"
else
  fail "hadolint Containerfile:"$'\n'"$out"
fi

# --- 4. Prometheus and Grafana -------------------------------------------------------------
# The credentials file must exist for promtool: point it at an empty one.
sed "s#credentials_file: .*#credentials_file: $work/metrics.key#" deploy/prometheus.yml > "$work/prometheus.yml"
: > "$work/metrics.key"
if out=$("$PROMTOOL" check config "$work/prometheus.yml" 2>&1); then
  say "ok: prometheus.yml ($("$PROMTOOL" --version 2>&1 | head -n1))"
else
  fail "promtool check config deploy/prometheus.yml:"$'\n'"$out"
fi
known=$(grep -rhoE '"switchyard_[a-z0-9_]+' crates/switchyard-server/src crates/switchyard-core/src | tr -d '"' | sort -u)
if ! out=$(python3 - deploy/grafana-dashboard.json "$work/rules.yml" "$known" "$PLANNED_METRICS" <<'PY' 2>&1
import json, re, sys
path, rules_path, known, planned = sys.argv[1], sys.argv[2], set(sys.argv[3].split()), set(sys.argv[4].split())
dash = json.load(open(path))
problems, exprs, ids, used = [], [], set(), set()
for key in ("uid", "title", "panels", "templating"):
    if key not in dash:
        problems.append(f"no {key!r}")
def panels(ps):
    for p in ps:
        yield p
        yield from panels(p.get("panels", []))
for p in panels(dash.get("panels", [])):
    if p.get("id") in ids:
        problems.append(f"panel id {p.get('id')} twice")
    ids.add(p.get("id"))
    if "gridPos" not in p:
        problems.append(f"panel {p.get('title')!r} has no gridPos")
    for t in p.get("targets", []):
        exprs.append((p.get("title"), t["expr"]))
for title, expr in exprs:
    for name in re.findall(r"\bswitchyard_[a-z0-9_]+", expr):
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in known and base not in known:
            if base in planned:
                used.add(base)
            else:
                problems.append(f"panel {title!r} reads {name}, which the gateway does not export")
# Grafana's variables → values PromQL parses.
def concrete(e):
    return (e.replace("$__rate_interval", "5m").replace("$__range", "1h")
             .replace("$job", ".*").replace("$instance", ".*"))
with open(rules_path, "w") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, (_, expr) in enumerate(exprs):
        f.write(f"      - record: dashboard:expr{i}\n        expr: {json.dumps(concrete(expr))}\n")
if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"{len(exprs)} expressions" + (f"; planned metrics not exported yet: {', '.join(sorted(used))}" if used else ""))
PY
); then
  fail "deploy/grafana-dashboard.json:"$'\n'"$out"
elif ! rules=$("$PROMTOOL" check rules "$work/rules.yml" 2>&1); then
  fail "PromQL of deploy/grafana-dashboard.json (promtool check rules):"$'\n'"$rules"
else
  say "ok: grafana-dashboard.json ($out)"
fi

# --- 5. Caddyfile --------------------------------------------------------------------------
if out=$(HOME=$work XDG_DATA_HOME=$work XDG_CONFIG_HOME=$work \
         "$CADDY" validate --adapter caddyfile --config deploy/Caddyfile 2>&1); then
  say "ok: Caddyfile (caddy $("$CADDY" version | awk '{print $1}'))"
else
  fail "caddy validate deploy/Caddyfile:"$'\n'"$out"
fi

# --- 6. zero-downtime-deploy.sh ---------------------------------------------------------------
if out=$("$SHELLCHECK" scripts/zero-downtime-deploy.sh scripts/check-deploy.sh 2>&1); then
  say "ok: shellcheck ($("$SHELLCHECK" --version | sed -n 's/^version: //p'))"
else
  fail "shellcheck:"$'\n'"$out"
fi

# A stub gateway: binds the port with SO_REUSEPORT and answers /readyz, sends READY=1 to
# $NOTIFY_SOCKET (path or @abstract), logs "listening on", drains 0.3 s on SIGTERM.
# STUB_MODE: ok | noready | crash | stuck (ignores SIGTERM).
cat > "$work/bin/switchyard-stub" <<'PY'
#!/usr/bin/env python3
import http.server, os, signal, socket, sys, threading, time
mode = os.environ.get("STUB_MODE", "ok")
if mode == "crash":
    sys.exit(3)
port = int(sys.argv[sys.argv.index("--port") + 1])
class Server(http.server.HTTPServer):
    def server_bind(self):
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/readyz" else 404)
        self.end_headers()
    def log_message(self, *args):
        pass
server = Server(("127.0.0.1", port), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
stop = threading.Event()
if mode == "stuck":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
else:
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
time.sleep(0.1)
print(f"switchyard listening on http://127.0.0.1:{port}", file=sys.stderr, flush=True)
target = os.environ.get("NOTIFY_SOCKET")
if target and mode != "noready":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(b"STATUS=serving\nREADY=1\n", "\0" + target[1:] if target.startswith("@") else target)
while not stop.wait(0.05):
    pass
time.sleep(0.3)
print("stopped", file=sys.stderr, flush=True)
PY
chmod +x "$work/bin/switchyard-stub"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
data=$work/data
deploy() { # deploy EXPECTED_STATUS [ENV=V...] -- [OPTIONS]: run the script, check its status
  local want=$1; shift
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  local status=0
  env "${envs[@]}" scripts/zero-downtime-deploy.sh --ready-timeout 5 --drain-secs 2 --margin 2 "$@" \
    "$work/bin/switchyard-stub" --port "$port" --data-dir "$data" > "$work/deploy.out" 2>&1 || status=$?
  if [ -f "$data/switchyard.pid" ]; then stubs+=("$(cat "$data/switchyard.pid")"); fi
  [ "$status" = "$want" ] || { fail "zero-downtime-deploy.sh ${envs[*]}: status $status, expected $want:"$'\n'"$(cat "$work/deploy.out")"; return 1; }
}
pid_now() { cat "$data/switchyard.pid" 2>/dev/null || true; }
running() { kill -0 "$1" 2>/dev/null && ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"; }
zdd_ok=1
if deploy 0 -- && first=$(pid_now) && running "$first"; then
  if deploy 0 -- && second=$(pid_now) && [ "$second" != "$first" ] && running "$second" && ! running "$first" \
     && grep -q "old pid $first exited after .* with status 0" "$work/deploy.out"; then :; else
    zdd_ok=0; fail "a second deploy did not replace pid $first:"$'\n'"$(cat "$work/deploy.out")"
  fi
  if deploy 0 SWITCHYARD_DEPLOY_NOTIFY=0 -- && third=$(pid_now) && running "$third" && ! running "$second" \
     && grep -q "GET /readyz answered 200" "$work/deploy.out"; then :; else
    zdd_ok=0; fail "the /readyz fallback did not replace pid $second:"$'\n'"$(cat "$work/deploy.out")"
  fi
  if deploy 1 STUB_MODE=noready -- --ready-timeout 1 && [ "$(pid_now)" = "$third" ] && running "$third"; then :; else
    zdd_ok=0; fail "a new process that never got ready was not rolled back (old pid $third)"
  fi
  if deploy 1 STUB_MODE=crash -- && [ "$(pid_now)" = "$third" ] && running "$third"; then :; else
    zdd_ok=0; fail "a new process that crashed was not rolled back (old pid $third)"
  fi
  if deploy 0 STUB_MODE=stuck -- && stuck=$(pid_now) && deploy 3 -- --drain-secs 0 --margin 1 && running "$stuck"; then :; else
    zdd_ok=0; fail "an old process that ignores SIGTERM was not reported (status 3)"
  fi
else
  zdd_ok=0; fail "a first deploy (no running gateway) failed"
fi
[ "$zdd_ok" = 1 ] && say "ok: zero-downtime-deploy.sh against a stub gateway (notify, /readyz fallback, not ready, crash, stuck old)"

if [ "$failures" -gt 0 ]; then
  say "$failures check(s) failed"
  exit 1
fi
say "all deploy checks passed"
