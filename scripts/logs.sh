#!/usr/bin/env bash
# Show (or follow) the dev stack's logs from the state folder.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
Usage: scripts/logs.sh [--target api|worker|web|db|all] [--follow] [--lines N]

  --target T   api (the api role and the worker), worker, web, db, or all (default)
  --follow     keep printing new lines (Ctrl+C to stop; the stack keeps running)
  --lines N    how many lines of each log to show first (default 40)
USAGE
}

TARGET=all FOLLOW=0 LINES=40
while [[ $# -gt 0 ]]; do
  case "$1" in
    --target)
      [[ $# -ge 2 ]] || die "--target needs a value (see --help)"
      TARGET=$2
      shift
      ;;
    --follow) FOLLOW=1 ;;
    --lines)
      [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || die "--lines needs a number (see --help)"
      LINES=$2
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

case "$TARGET" in
  api) names=(api worker) ;;
  worker) names=(worker) ;;
  web) names=(web) ;;
  db) names=(db migrate) ;;
  all) names=(db migrate api worker web) ;;
  *) die "--target must be api, worker, web, db or all (got '$TARGET')" ;;
esac

files=()
for name in "${names[@]}"; do
  [[ -f "$LOG_DIR/$name.log" ]] && files+=("$LOG_DIR/$name.log")
done
if [[ ${#files[@]} -eq 0 ]]; then
  info "no logs yet for '$TARGET' in $LOG_DIR (start the stack with scripts/start-all.sh)"
  exit 0
fi

if ((FOLLOW)); then
  exec tail -n "$LINES" -F "${files[@]}"
fi
tail -n "$LINES" "${files[@]}"
