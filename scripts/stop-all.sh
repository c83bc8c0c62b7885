#!/usr/bin/env bash
# Stop what scripts/start-all.sh started. Default: everything.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
Usage: scripts/stop-all.sh [--db] [--api] [--web] [--all]

  --api   stop the api role and the worker
  --web   stop the web dev server
  --db    stop the database (embedded servers or the Docker containers)
  --all   all of the above (the default when no option is given)
EOF
}

DO_DB=0 DO_API=0 DO_WEB=0
[[ $# -gt 0 ]] || set -- --all
while [[ $# -gt 0 ]]; do
  case "$1" in
    --db) DO_DB=1 ;;
    --api) DO_API=1 ;;
    --web) DO_WEB=1 ;;
    --all) DO_DB=1 DO_API=1 DO_WEB=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift
done

cd "$ROOT"
resolve_python

stop_component() {
  local name=$1 pid
  pid="$(read_state "$name.pid")"
  if pid_alive "$pid"; then
    stop_pid "$name" "$pid"
    info "$name: stopped (pid $pid)"
  else
    info "$name: not running"
  fi
  rm -f "$STATE_DIR/$name.pid" "$STATE_DIR/$name.port"
}

stop_db() {
  local data_dir project
  if [[ -f "$STATE_DIR/db.embedded" ]]; then
    data_dir="$(read_state db.embedded)"
    "${ERPLAKE[@]}" embedded stop --data-dir "$data_dir" 2>>"$LOG_DIR/db.log" | sed 's/^/db: /'
  elif [[ -f "$STATE_DIR/db.docker" ]]; then
    project="$(read_state db.docker)"
    compose -f "$DEV_COMPOSE_FILE" -p "${project:-$DEV_COMPOSE_PROJECT}" stop >>"$LOG_DIR/db.log" 2>&1 ||
      die "docker compose stop failed (log: $LOG_DIR/db.log)"
    info "db: Docker containers stopped (data kept in their volumes)"
  elif [[ -f "$STATE_DIR/db.external" ]]; then
    info "db: external (DATABASE_URL), left alone"
  else
    info "db: not started by these scripts"
  fi
  rm -f "$STATE_DIR/db.embedded" "$STATE_DIR/db.docker" "$STATE_DIR/db.external" "$STATE_DIR/db.env"
}

mkdir -p "$LOG_DIR"
((!DO_WEB)) || stop_component web
if ((DO_API)); then
  stop_component worker
  stop_component api
fi
((!DO_DB)) || stop_db
