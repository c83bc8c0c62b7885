#!/usr/bin/env bash
# Start the dev stack in the background: database (Docker when an engine answers, the
# embedded PostgreSQL + Redis otherwise), migrations, the api role + a worker, and the
# web dev server. See docs/scripts.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
Usage: scripts/start-all.sh [options]

  --rebuild          recreate the database containers (Docker) and reinstall web deps
  --no-db            do not start a database (use DATABASE_URL/REDIS_URL or the one running)
  --no-api           do not start the api role and the worker
  --no-worker        start the api role without a worker
  --no-web           do not start the web dev server
  --env-file FILE    variables to load (default .env.local); the process env wins
  --api-port N       first port to try for the api (default 8000; bumps if busy)
  --web-port N       first port to try for the web dev server (default 5173; bumps if busy)
  --no-migrate       skip `erplake migrate`
  --attach           follow the logs afterwards (Ctrl+C detaches; the stack keeps running)
  --open             open the web app (or the API docs) in a browser
  -h, --help         this help

Environment: ERPLAKE_STATE_DIR (state and logs, default scripts/.state),
ERPLAKE_DB_MODE=auto|docker|embedded, DATA_DIR (embedded data, default var/),
ERPLAKE_PYTHON (interpreter with erplake installed, default .venv/bin/python).
EOF
}

REBUILD=0 NO_DB=0 NO_API=0 NO_WORKER=0 NO_WEB=0 NO_MIGRATE=0 ATTACH=0 OPEN=0
ENV_FILE=".env.local" API_PORT=8000 WEB_PORT=5173

need_value() { [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value (see --help)"; }
need_port() {
  if ! [[ "$2" =~ ^[0-9]+$ ]] || (($2 < 1 || $2 > 65535)); then
    die "$1 needs a port number, got '$2'"
  fi
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --rebuild) REBUILD=1 ;;
    --no-db) NO_DB=1 ;;
    --no-api) NO_API=1 ;;
    --no-worker) NO_WORKER=1 ;;
    --no-web) NO_WEB=1 ;;
    --no-migrate) NO_MIGRATE=1 ;;
    --attach) ATTACH=1 ;;
    --open) OPEN=1 ;;
    --env-file)
      need_value "$@"
      ENV_FILE=$2
      shift
      ;;
    --api-port)
      need_value "$@"
      need_port "$1" "$2"
      API_PORT=$2
      shift
      ;;
    --web-port)
      need_value "$@"
      need_port "$1" "$2"
      WEB_PORT=$2
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift
done

cd "$ROOT"
ensure_state_dir
resolve_python
if [[ -f "$ENV_FILE" ]]; then
  load_env_file "$ENV_FILE"
elif [[ "$ENV_FILE" != ".env.local" ]]; then
  die "env file '$ENV_FILE' not found"
fi
resolve_data_dir

start_db_embedded() {
  local out
  info "db: starting embedded PostgreSQL + Redis under $DATA_DIR"
  printf '=== %s embedded start ===\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$LOG_DIR/db.log"
  if ! out="$("${ERPLAKE[@]}" embedded start --data-dir "$DATA_DIR" 2>>"$LOG_DIR/db.log")"; then
    tail -n 20 "$LOG_DIR/db.log" >&2 || true
    die "the embedded servers did not start (log: $LOG_DIR/db.log)"
  fi
  grep -E '^(DATABASE_URL|REDIS_URL)=' <<<"$out" >"$STATE_DIR/db.env"
  printf '%s\n' "$DATA_DIR" >"$STATE_DIR/db.embedded"
}

start_db_docker() {
  local db_port=${DEV_DB_PORT:-5544} redis_port=${DEV_REDIS_PORT:-6380} args=(up -d)
  ((REBUILD)) && args+=(--force-recreate --pull always)
  info "db: starting PostgreSQL + Redis in Docker ($DEV_COMPOSE_FILE)"
  compose -f "$DEV_COMPOSE_FILE" -p "$DEV_COMPOSE_PROJECT" "${args[@]}" >>"$LOG_DIR/db.log" 2>&1 ||
    die "docker compose failed (log: $LOG_DIR/db.log)"
  printf 'DATABASE_URL=postgresql://erplake:erplake@127.0.0.1:%s/erplake\nREDIS_URL=redis://127.0.0.1:%s/0\n' \
    "$db_port" "$redis_port" >"$STATE_DIR/db.env"
  printf '%s\n' "$DEV_COMPOSE_PROJECT" >"$STATE_DIR/db.docker"
  local deadline=$((SECONDS + 60))
  until compose -f "$DEV_COMPOSE_FILE" -p "$DEV_COMPOSE_PROJECT" exec -T postgres \
    pg_isready -U erplake -d erplake >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "PostgreSQL in Docker did not become ready in 60 s"
    sleep 1
  done
}

start_db() {
  if [[ -n "${DATABASE_URL:-}" && -n "${REDIS_URL:-}" ]]; then
    info "db: using DATABASE_URL and REDIS_URL from the environment"
    printf 'external\n' >"$STATE_DIR/db.external"
    return
  fi
  local mode=${ERPLAKE_DB_MODE:-auto}
  if [[ "$mode" == auto ]]; then
    if docker_engine_up; then mode=docker; else mode=embedded; fi
  fi
  case "$mode" in
    docker) start_db_docker ;;
    embedded) start_db_embedded ;;
    *) die "ERPLAKE_DB_MODE must be auto, docker or embedded (got '$mode')" ;;
  esac
}

run_migrations() {
  info "db: applying migrations"
  if ! "${ERPLAKE[@]}" migrate >>"$LOG_DIR/migrate.log" 2>&1; then
    tail -n 20 "$LOG_DIR/migrate.log" >&2 || true
    die "migrations failed (log: $LOG_DIR/migrate.log)"
  fi
}

start_api() {
  if component_running api; then
    info "api: already running (pid $(read_state api.pid), port $(read_state api.port))"
  else
    [[ -n "${DATABASE_URL:-}" && -n "${REDIS_URL:-}" ]] ||
      die "the api needs a database: drop --no-db, or set DATABASE_URL and REDIS_URL"
    local port
    port="$(find_free_port "$API_PORT")"
    [[ "$port" == "$API_PORT" ]] || warn "api: port $API_PORT is busy; using $port"
    start_bg api "$ROOT" "${ERPLAKE[@]}" serve api --host 127.0.0.1 --port "$port"
    printf '%s\n' "$port" >"$STATE_DIR/api.port"
    if ! wait_http "http://127.0.0.1:$port/healthz" 60 api; then
      tail -n 30 "$LOG_DIR/api.log" >&2 || true
      die "the api did not answer on port $port (log: $LOG_DIR/api.log)"
    fi
    info "api: http://127.0.0.1:$port (docs: /docs) pid $(read_state api.pid)"
  fi
  if ((NO_WORKER)); then
    return
  fi
  if component_running worker; then
    info "worker: already running (pid $(read_state worker.pid))"
  else
    start_bg worker "$ROOT" "${ERPLAKE[@]}" worker
    info "worker: started (pid $(read_state worker.pid))"
  fi
}

start_web() {
  local web="$ROOT/apps/web" port api_url
  if [[ ! -f "$web/package.json" ]]; then
    info "web: skipped (no apps/web/package.json yet)"
    return
  fi
  if ! have npm; then
    warn "web: skipped (npm is not installed)"
    return
  fi
  if component_running web; then
    info "web: already running (pid $(read_state web.pid), port $(read_state web.port))"
    return
  fi
  # Installed when vite is missing (or on --rebuild), under the same lock as the
  # browser tests' build: the check and the install happen together, so a second
  # installer never sees a half-written node_modules as ready.
  local lock="${TMPDIR:-/tmp}/erplake-web-build.lock" install
  # shellcheck disable=SC2016 # expanded by the inner sh, not here
  install='if [ "$1" = 1 ] || [ ! -x node_modules/.bin/vite ]; then echo "web: npm ci"; npm ci --no-audit --no-fund; fi'
  if command -v flock >/dev/null 2>&1; then
    (cd "$web" && flock "$lock" sh -c "$install" sh "$REBUILD") >>"$LOG_DIR/web.log" 2>&1 ||
      die "npm ci failed (log: $LOG_DIR/web.log)"
  else
    (cd "$web" && sh -c "$install" sh "$REBUILD") >>"$LOG_DIR/web.log" 2>&1 ||
      die "npm ci failed (log: $LOG_DIR/web.log)"
  fi
  port="$(find_free_port "$WEB_PORT")"
  [[ "$port" == "$WEB_PORT" ]] || warn "web: port $WEB_PORT is busy; using $port"
  api_url="http://127.0.0.1:$(read_state api.port || true)"
  [[ "$api_url" != "http://127.0.0.1:" ]] || api_url="http://127.0.0.1:$API_PORT"
  ERPLAKE_API_URL="$api_url" start_bg web "$web" npm run dev -- --host 127.0.0.1 --port "$port" --strictPort
  printf '%s\n' "$port" >"$STATE_DIR/web.port"
  if ! wait_http "http://127.0.0.1:$port/" 90 web; then
    tail -n 30 "$LOG_DIR/web.log" >&2 || true
    die "the web dev server did not answer on port $port (log: $LOG_DIR/web.log)"
  fi
  info "web: http://127.0.0.1:$port pid $(read_state web.pid)"
}

if ((NO_DB)); then
  info "db: skipped (--no-db)"
else
  start_db
fi
# The database that start-all (now or earlier) started, unless the env names another.
load_env_file "$STATE_DIR/db.env"

if ((!NO_MIGRATE)) && [[ -n "${DATABASE_URL:-}" ]]; then
  run_migrations
fi
((NO_API)) || start_api
((NO_WEB)) || start_web

info ""
info "${C_BOLD}ERPLake dev stack is up.${C_OFF} Status: scripts/status.sh  Logs: scripts/logs.sh --follow  Stop: scripts/stop-all.sh"

if ((OPEN)); then
  url=""
  if component_running web; then
    url="http://127.0.0.1:$(read_state web.port)"
  elif component_running api; then
    url="http://127.0.0.1:$(read_state api.port)/docs"
  fi
  if [[ -n "$url" ]]; then
    if have xdg-open; then
      xdg-open "$url" >/dev/null 2>&1 || warn "could not open $url"
    elif have open; then
      open "$url" || warn "could not open $url"
    else
      info "open $url in your browser"
    fi
  fi
fi

if ((ATTACH)); then
  exec "$ROOT/scripts/logs.sh" --follow --target all
fi
