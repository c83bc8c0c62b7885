# shellcheck shell=bash disable=SC2034  # variables here are used by the scripts sourcing it
# Shared by the dev scripts (sourced, not run). State and logs live in
# $ERPLAKE_STATE_DIR (default scripts/.state): <name>.pid, <name>.port, db.env,
# db.embedded | db.docker | db.external, logs/<name>.log.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${ERPLAKE_STATE_DIR:-$ROOT/scripts/.state}"
LOG_DIR="$STATE_DIR/logs"
DEV_COMPOSE_FILE="$ROOT/deploy/docker-compose.dev.yml"
DEV_COMPOSE_PROJECT="erplake-dev"

if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then
  C_GREEN=$'\033[32m' C_YELLOW=$'\033[33m' C_RED=$'\033[31m' C_DIM=$'\033[2m' C_BOLD=$'\033[1m' C_OFF=$'\033[0m'
else
  C_GREEN="" C_YELLOW="" C_RED="" C_DIM="" C_BOLD="" C_OFF=""
fi

info() { printf '%s\n' "$*"; }
warn() { printf '%swarning:%s %s\n' "$C_YELLOW" "$C_OFF" "$*" >&2; }
die() {
  printf '%serror:%s %s\n' "$C_RED" "$C_OFF" "$*" >&2
  exit 1
}

ensure_state_dir() { mkdir -p "$STATE_DIR" "$LOG_DIR"; }

# The Python that runs `erplake`: $ERPLAKE_PYTHON, else the repo's .venv, else python3.
resolve_python() {
  if [[ -n "${ERPLAKE_PYTHON:-}" ]]; then
    PY="$ERPLAKE_PYTHON"
  elif [[ -x "$ROOT/.venv/bin/python" ]]; then
    PY="$ROOT/.venv/bin/python"
  elif command -v python3 >/dev/null 2>&1; then
    PY="$(command -v python3)"
  else
    die "no Python found: create .venv (python3 -m venv .venv && .venv/bin/pip install -e .) or set ERPLAKE_PYTHON"
  fi
  ERPLAKE=("$PY" -m erplake)
}

# KEY=VALUE lines into the environment; a variable already set wins (process env >
# env file > defaults, as in the app's settings). Quotes around a value are removed.
load_env_file() {
  local file=$1 line key value
  [[ -f "$file" ]] || return 0
  while IFS= read -r line || [[ -n "$line" ]]; do
    line="${line%$'\r'}"
    [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
    line="${line#export }"
    [[ "$line" == *=* ]] || continue
    key="${line%%=*}"
    key="${key//[[:space:]]/}"
    [[ "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    value="${line#*=}"
    value="${value#"${value%%[![:space:]]*}"}"
    if [[ "$value" =~ ^\"(.*)\"$ || "$value" =~ ^\'(.*)\'$ ]]; then
      value="${BASH_REMATCH[1]}"
    else
      value="${value%%[[:space:]]#*}"
    fi
    if [[ -z "${!key+x}" ]]; then
      export "$key=$value"
    fi
  done <"$file"
}

resolve_data_dir() {
  DATA_DIR="${DATA_DIR:-var}"
  [[ "$DATA_DIR" == /* ]] || DATA_DIR="$ROOT/$DATA_DIR"
  export DATA_DIR
}

read_state() { # name -> content of $STATE_DIR/name, or nothing
  local file="$STATE_DIR/$1"
  if [[ -f "$file" ]]; then cat "$file"; fi
}

pid_alive() {
  local pid=${1:-} stat
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  stat="$(ps -o stat= -p "$pid" 2>/dev/null || true)"
  [[ -n "$stat" && "$stat" != Z* ]] # an exited, unreaped process is not running
}

component_running() { pid_alive "$(read_state "$1.pid")"; }

port_free() {
  "$PY" - "$1" <<'PYEOF'
import socket
import sys

sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn and vite do
try:
    sock.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    sock.close()
PYEOF
}

# First free port from $1 upwards (the seed's "auto-bump").
find_free_port() {
  local port=$1 tries=0
  while ! port_free "$port"; do
    port=$((port + 1))
    tries=$((tries + 1))
    ((tries < 100)) || die "no free port in $1..$port"
  done
  printf '%s\n' "$port"
}

# start_bg NAME DIR CMD...: run CMD in DIR in its own session (so it outlives this
# script and stop-all can signal its whole process group), output to logs/NAME.log.
start_bg() {
  local name=$1 dir=$2
  shift 2
  local log="$LOG_DIR/$name.log"
  printf '=== %s start: %s ===\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$log"
  if have setsid; then
    (cd "$dir" && exec setsid "$@" >>"$log" 2>&1 </dev/null) &
  else # macOS has no setsid: the process survives the script, stop-all ends it by pid
    (cd "$dir" && exec nohup "$@" >>"$log" 2>&1 </dev/null) &
  fi
  printf '%s\n' "$!" >"$STATE_DIR/$name.pid"
}

# stop_pid NAME PID: SIGTERM the process group, wait up to 15 s, then SIGKILL.
stop_pid() {
  local name=$1 pid=$2 waited=0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  while pid_alive "$pid" && ((waited < 150)); do
    sleep 0.1
    waited=$((waited + 1))
  done
  if pid_alive "$pid"; then
    warn "$name did not stop within 15 s; killing it"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  # Children that left the group's leader behind (e.g. an npm child) go too.
  kill -KILL -- "-$pid" 2>/dev/null || true
}

have() { command -v "$1" >/dev/null 2>&1; }

docker_engine_up() { have docker && docker info >/dev/null 2>&1; }

compose() {
  if docker compose version >/dev/null 2>&1; then
    docker compose "$@"
  elif have docker-compose; then
    docker-compose "$@"
  else
    die "docker compose is not installed"
  fi
}

# http_probe URL -> "CODE MILLISECONDS" ("000 3000" on timeout/refusal); 3 s limit.
http_probe() {
  local url=$1 out
  if have curl; then
    out="$(curl -s -o /dev/null --max-time 3 -w '%{http_code} %{time_total}' "$url" 2>/dev/null || true)"
    [[ -n "$out" ]] || out="000 3"
    awk '{ printf "%s %d\n", $1, $2 * 1000 }' <<<"$out"
  else
    "$PY" - "$url" <<'PYEOF'
import sys
import time
import urllib.error
import urllib.request

started = time.perf_counter()
try:
    with urllib.request.urlopen(sys.argv[1], timeout=3) as answer:
        code = answer.status
except urllib.error.HTTPError as exc:
    code = exc.code
except Exception:
    code = 0
print(f"{code:03d} {int((time.perf_counter() - started) * 1000)}")
PYEOF
  fi
}

# wait_http URL SECONDS PIDNAME: until URL answers 2xx; fails early if the process died.
wait_http() {
  local url=$1 seconds=$2 name=$3 deadline code
  deadline=$((SECONDS + seconds))
  while ((SECONDS < deadline)); do
    code="$(http_probe "$url" | cut -d' ' -f1)"
    [[ "$code" == 2* ]] && return 0
    component_running "$name" || return 1
    sleep 0.2
  done
  return 1
}

latency_word() { # milliseconds -> coloured fast/moderate/slow
  local ms=$1
  if ((ms < 100)); then
    printf '%sfast%s' "$C_GREEN" "$C_OFF"
  elif ((ms < 300)); then
    printf '%smoderate%s' "$C_YELLOW" "$C_OFF"
  else
    printf '%sslow%s' "$C_RED" "$C_OFF"
  fi
}
