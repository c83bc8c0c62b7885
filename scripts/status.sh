#!/usr/bin/env bash
# What runs, and how fast it answers: fast < 100 ms, moderate 100-299 ms,
# slow >= 300 ms, timeout after 3 s.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in
  "") ;;
  -h | --help)
    echo "Usage: scripts/status.sh   (no options; see docs/scripts.md)"
    exit 0
    ;;
  *) die "status.sh takes no options (see --help)" ;;
esac

cd "$ROOT"
resolve_python

state_word() {
  if [[ "$1" == 1 ]]; then
    printf '%sRUNNING%s' "$C_GREEN" "$C_OFF"
  else
    printf '%sstopped%s' "$C_DIM" "$C_OFF"
  fi
}

probe() { # label url
  local code ms verdict
  read -r code ms < <(http_probe "$2")
  if [[ "$code" == 000 ]]; then
    if ((ms >= 3000)); then
      verdict="${C_RED}timeout${C_OFF} (no answer in 3 s)"
    else
      verdict="${C_RED}down${C_OFF} (connection refused)"
    fi
    printf '             %-9s %s\n' "$1" "$verdict"
    return
  fi
  printf '             %-9s %s %4d ms %s\n' "$1" "$code" "$ms" "$(latency_word "$ms")"
}

show_component() { # name [health paths...]
  local name=$1 pid port running=0
  shift
  pid="$(read_state "$name.pid")"
  port="$(read_state "$name.port")"
  pid_alive "$pid" && running=1
  if ((running)); then
    printf '  %-8s %s  pid %s%s\n' "$name" "$(state_word 1)" "$pid" "${port:+  http://127.0.0.1:$port}"
    if [[ -n "$port" ]]; then
      local path
      for path in "$@"; do
        probe "$path" "http://127.0.0.1:$port$path"
      done
    fi
  else
    printf '  %-8s %s\n' "$name" "$(state_word 0)"
  fi
}

show_db() {
  if [[ -f "$STATE_DIR/db.embedded" ]]; then
    local data_dir out running=0
    data_dir="$(read_state db.embedded)"
    if out="$("${ERPLAKE[@]}" embedded status --data-dir "$data_dir" 2>/dev/null)"; then running=1; fi
    printf '  %-8s %s  embedded (%s)\n' db "$(state_word "$running")" "$data_dir"
    local line
    while IFS= read -r line; do
      [[ -z "$line" ]] || printf '             %s\n' "$line"
    done <<<"$out"
  elif [[ -f "$STATE_DIR/db.docker" ]]; then
    local running=0
    if docker_engine_up && [[ -n "$(compose -f "$DEV_COMPOSE_FILE" -p "$(read_state db.docker)" ps -q 2>/dev/null)" ]]; then
      running=1
    fi
    printf '  %-8s %s  docker (project %s)\n' db "$(state_word "$running")" "$(read_state db.docker)"
  elif [[ -f "$STATE_DIR/db.external" ]]; then
    printf '  %-8s external (DATABASE_URL)\n' db
  else
    printf '  %-8s %s\n' db "$(state_word 0)"
  fi
}

printf '%sERPLake dev stack%s  (state: %s)\n' "$C_BOLD" "$C_OFF" "$STATE_DIR"
show_db
show_component api /healthz /readyz
show_component worker
show_component web /

if docker_engine_up; then
  printf '\nDocker compose services:\n'
  compose -f "$DEV_COMPOSE_FILE" -p "$DEV_COMPOSE_PROJECT" ps 2>/dev/null | sed 's/^/  /' || true
fi

printf '\nLocal PostgreSQL ports:'
for port in 5544 5432; do
  if port_free "$port"; then
    printf '  %s closed' "$port"
  else
    printf '  %s %sopen%s' "$port" "$C_GREEN" "$C_OFF"
  fi
done
printf '\n'
