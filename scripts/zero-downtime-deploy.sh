#!/usr/bin/env bash
# Replace a running Switchyard on a plain-binary host without dropping a request:
# start the new binary on the same port and data dir (it takes the listening socket over
# from the running one through <data dir>/handover.sock, else binds beside it with
# SO_REUSEPORT), wait until it is ready, SIGTERM the old one, wait for it to drain and
# exit, report.
#
#   scripts/zero-downtime-deploy.sh [OPTIONS] [--] NEW_BINARY [SERVE ARGS...]
#   scripts/zero-downtime-deploy.sh /opt/switchyard/bin/switchyard-1.4.0 --data-dir /srv/switchyard
#
# The new process runs `NEW_BINARY serve SERVE_ARGS...` with this script's environment
# (so SWITCHYARD_* pass through), detached from the terminal, its output appended to the
# log file. Under systemd, use socket activation instead (deploy/README.md).
#
# Options:
#   --pid PID            the running gateway (default: read from the pidfile)
#   --pidfile FILE       where its pid is, and where the new one's is written
#                        (default: <data dir>/switchyard.pid)
#   --log FILE           the new process's stdout and stderr (appended;
#                        default: <data dir>/switchyard.log)
#   --ready-timeout S    how long the new process has to become ready (default 60)
#   --drain-secs S       the old process's drain deadline (default: `[server] drain_secs`
#                        of the config file in --config / SWITCHYARD_CONFIG, else 30)
#   --margin S           waited beyond the drain deadline for the old to exit (default 15)
#
# Ready means: the new process sent READY=1 to $NOTIFY_SOCKET, a unix datagram socket
# this script binds (python3, which Debian and most hosts have). Without python3 (or
# with SWITCHYARD_DEPLOY_NOTIFY=0) it polls GET /readyz on the port until it answers 200
# and the new process has logged that it is listening.
#
# Exit status: 0 done (the old exited 0, or there was none); 1 the new process failed
# or was not ready in time (it is stopped, the old one keeps serving); 2 usage; 3 the old
# process did not exit within the drain deadline + margin (both still run); 4 the old
# process exited with a non-zero status.
set -euo pipefail
umask 077 # the data dir, pidfile and log it may create are the gateway's: private

say() { printf 'zero-downtime-deploy: %s\n' "$*" >&2; }
die() { say "$*"; exit "${2:-1}"; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

old_pid="" pidfile="" logfile="" ready_timeout=60 drain_secs="" margin=15
while [ $# -gt 0 ]; do
  case "$1" in
    --pid) old_pid=${2:?--pid needs a value}; shift 2 ;;
    --pidfile) pidfile=${2:?--pidfile needs a value}; shift 2 ;;
    --log) logfile=${2:?--log needs a value}; shift 2 ;;
    --ready-timeout) ready_timeout=${2:?--ready-timeout needs a value}; shift 2 ;;
    --drain-secs) drain_secs=${2:?--drain-secs needs a value}; shift 2 ;;
    --margin) margin=${2:?--margin needs a value}; shift 2 ;;
    -h | --help) usage ;;
    --) shift; break ;;
    -*) say "unknown option $1"; usage ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage
binary=$1; shift
[ -x "$binary" ] || die "$binary is not an executable file" 2
for n in "$ready_timeout" "$margin" ${drain_secs:+"$drain_secs"}; do
  [[ $n =~ ^[0-9]+$ ]] || die "not a number of seconds: $n" 2
done

# What the serve arguments say (flags win over the environment, as in the gateway).
arg_value() { # arg_value NAME ARGS... → the value of --NAME V / --NAME=V, last one wins
  local name=$1 value="" prev=""; shift
  for a in "$@"; do
    case "$prev" in "--$name") value=$a ;; esac
    case "$a" in "--$name="*) value=${a#--"$name"=} ;; esac
    prev=$a
  done
  printf '%s' "$value"
}
data_dir=$(arg_value data-dir "$@")
data_dir=${data_dir:-${SWITCHYARD_DATA_DIR:-}}
if [ -z "$data_dir" ]; then
  xdg=${XDG_DATA_HOME:-}
  [ -n "$xdg" ] || xdg=${HOME:?no --data-dir, SWITCHYARD_DATA_DIR or HOME}/.local/share
  data_dir=$xdg/switchyard
fi
host=$(arg_value host "$@"); host=${host:-${SWITCHYARD_HOST:-127.0.0.1}}
port=$(arg_value port "$@"); port=${port:-${SWITCHYARD_PORT:-8045}}
config=$(arg_value config "$@"); config=${config:-${SWITCHYARD_CONFIG:-}}
case "$host" in 0.0.0.0 | "") host=127.0.0.1 ;; :: | "[::]") host="[::1]" ;; *:*) host="[$host]" ;; esac
if [ -z "$drain_secs" ]; then
  drain_secs=30
  if [ -n "$config" ] && [ -r "$config" ]; then
    found=$(awk '/^[[:space:]]*\[/ { server = ($0 ~ /^[[:space:]]*\[server\][[:space:]]*(#.*)?$/) }
                 server && /^[[:space:]]*drain_secs[[:space:]]*=/ { sub(/^[^=]*=[[:space:]]*/, ""); sub(/[[:space:]#].*/, ""); print; exit }' "$config")
    [[ $found =~ ^[0-9]+$ ]] && drain_secs=$found
  fi
fi
pidfile=${pidfile:-$data_dir/switchyard.pid}
logfile=${logfile:-$data_dir/switchyard.log}
state=$data_dir/.deploy
mkdir -p "$data_dir" "$state"
chmod 0700 "$state"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
alive() { kill -0 "$1" 2>/dev/null && ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"; }
started=$(now)

# --- The running gateway (read before the new one may rewrite the pidfile) -------------
if [ -z "$old_pid" ] && [ -r "$pidfile" ]; then
  old_pid=$(tr -dc '0-9' < "$pidfile")
fi
if [ -n "$old_pid" ]; then
  if ! alive "$old_pid"; then
    say "pid $old_pid (from ${pidfile}) is not running: starting the new gateway only"
    old_pid=""
  elif [ -r "/proc/$old_pid/cmdline" ] && ! tr '\0' ' ' < "/proc/$old_pid/cmdline" | grep -q switchyard; then
    die "pid $old_pid is not a switchyard process ($(tr '\0' ' ' < "/proc/$old_pid/cmdline")); pass --pid" 2
  fi
else
  say "no running gateway found (no --pid, no $pidfile): starting the new gateway only"
fi

# Exit statuses of gateways that were stopped by something else: not worth keeping.
for f in "$state"/exit-*; do
  [ -e "$f" ] && [ "${f##*/exit-}" != "$old_pid" ] && rm -f "$f"
done

# --- Start the new one -----------------------------------------------------------------
notify=${SWITCHYARD_DEPLOY_NOTIFY:-1}
command -v python3 >/dev/null || notify=0
notify_dir=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-deploy.XXXXXX")
receiver=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  if [ -n "$receiver" ]; then kill "$receiver" 2>/dev/null || true; fi
  rm -rf "$notify_dir"
}
trap cleanup EXIT
if [ "$notify" = 1 ]; then
  # The NOTIFY_SOCKET receiver: binds, says so, exits 0 on READY=1 or 1 after the timeout.
  python3 - "$notify_dir/notify.sock" "$ready_timeout" > "$notify_dir/receiver.out" 2>&1 <<'PY' &
import socket, sys, time
path, timeout = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
print("bound", flush=True)
deadline = time.monotonic() + timeout
while True:
    left = deadline - time.monotonic()
    if left <= 0:
        sys.exit(1)
    s.settimeout(left)
    try:
        data = s.recv(4096)
    except socket.timeout:
        sys.exit(1)
    lines = data.decode("utf-8", "replace").splitlines()
    for line in lines:
        if line.startswith("STATUS="):
            print(line, flush=True)
    if "READY=1" in lines:
        print("READY=1", flush=True)
        sys.exit(0)
PY
  receiver=$!
  for _ in $(seq 100); do
    grep -qs '^bound' "$notify_dir/receiver.out" && break
    alive "$receiver" || break
    sleep 0.05
  done
  grep -qs '^bound' "$notify_dir/receiver.out" \
    || die "cannot bind a notify socket in $notify_dir: $(cat "$notify_dir/receiver.out")"
fi

log_start=$(stat -c %s "$logfile" 2>/dev/null || echo 0)
# A small bash parent per gateway (in its own session, detached from this script) records
# the gateway's exit status, so that the next deploy can report how this one ended.
# shellcheck disable=SC2016 # expanded by that bash, not this one
wrapper='"$@" & child=$!; echo "$child" > "$STATE/launch.pid"
wait "$child"; code=$?; echo "$code" > "$STATE/exit-$child"'
(
  cd /
  if [ "$notify" = 1 ]; then export NOTIFY_SOCKET=$notify_dir/notify.sock; fi
  STATE=$state setsid bash -c "$wrapper" _ "$binary" serve "$@" \
    < /dev/null >> "$logfile" 2>&1 &
)
new_pid=""
for _ in $(seq 100); do
  [ -s "$state/launch.pid" ] && new_pid=$(tr -dc '0-9' < "$state/launch.pid") && [ -n "$new_pid" ] && break
  sleep 0.02
done
rm -f "$state/launch.pid"
[ -n "$new_pid" ] || die "the new process did not start (log: $logfile)"
say "started $binary serve $* as pid $new_pid (log: $logfile)"

# fail_new REASON: stop the new process, show its log, exit 1 (the old keeps serving).
fail_new() {
  say "$1"
  if alive "$new_pid"; then
    kill -TERM "$new_pid" 2>/dev/null || true
    for _ in $(seq 50); do alive "$new_pid" || break; sleep 0.1; done
    alive "$new_pid" && kill -KILL "$new_pid" 2>/dev/null
  fi
  say "last lines of the new process's log:"
  tail -c +"$((log_start + 1))" "$logfile" 2>/dev/null | tail -n 20 >&2 || true
  [ -n "$old_pid" ] && say "the old gateway (pid $old_pid) keeps serving"
  exit 1
}

http_ready() { # 200 from /readyz on the shared port
  if command -v curl >/dev/null; then
    [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$host:$port/readyz")" = 200 ]
  else
    local h=${host#[}; h=${h%]}
    exec 9<>"/dev/tcp/$h/$port" 2>/dev/null || return 1
    printf 'GET /readyz HTTP/1.0\r\nHost: %s\r\n\r\n' "$host" >&9
    local status; IFS=' ' read -r -t 2 _ status _ <&9 || status=""
    exec 9<&- 9>&-
    [ "$status" = 200 ]
  fi
}

ready_how=""
deadline=$(( $(date +%s) + ready_timeout ))
while [ -z "$ready_how" ]; do
  alive "$new_pid" || fail_new "the new process exited before it was ready (status $(cat "$state/exit-$new_pid" 2>/dev/null || echo unknown))"
  if [ "$notify" = 1 ]; then
    if ! alive "$receiver"; then
      if wait "$receiver"; then
        ready_how="READY=1 on NOTIFY_SOCKET"
      else
        receiver=""
        fail_new "no READY=1 from the new process within ${ready_timeout}s"
      fi
      receiver=""
    fi
  elif tail -c +"$((log_start + 1))" "$logfile" 2>/dev/null | grep -q "listening on http" && http_ready; then
    ready_how="GET /readyz answered 200 and the log says listening"
  fi
  [ -n "$ready_how" ] && break
  [ "$(date +%s)" -lt "$deadline" ] || fail_new "the new process was not ready within ${ready_timeout}s"
  sleep 0.05
done
ready_secs=$(since "$started")
printf '%s\n' "$new_pid" > "$pidfile.tmp" && mv -f "$pidfile.tmp" "$pidfile"
say "new pid $new_pid ready after ${ready_secs}s ($ready_how); pidfile $pidfile"

# --- Retire the old one ------------------------------------------------------------------
if [ -z "$old_pid" ]; then
  say "done in $(since "$started")s: pid $new_pid serves"
  exit 0
fi
stop_started=$(now)
kill -TERM "$old_pid" 2>/dev/null || true
say "SIGTERM sent to the old pid $old_pid; waiting up to $((drain_secs + margin))s (drain ${drain_secs}s + ${margin}s)"
stop_deadline=$(( $(date +%s) + drain_secs + margin ))
while alive "$old_pid"; do
  if [ "$(date +%s)" -ge "$stop_deadline" ]; then
    say "the old pid $old_pid is still running after $(since "$stop_started")s; both run now (kill it by hand: kill -KILL $old_pid)"
    exit 3
  fi
  sleep 0.1
done
stop_secs=$(since "$stop_started")
# Its wrapper writes the status just after it exits.
for _ in $(seq 20); do [ -e "$state/exit-$old_pid" ] && break; sleep 0.05; done
if [ -e "$state/exit-$old_pid" ]; then
  old_code=$(cat "$state/exit-$old_pid"); rm -f "$state/exit-$old_pid"
else
  old_code=unknown # not started by this script: nobody recorded its status
fi
say "old pid $old_pid exited after ${stop_secs}s with status $old_code"
say "done in $(since "$started")s: pid $new_pid serves"
case "$old_code" in 0 | unknown) exit 0 ;; *) exit 4 ;; esac
