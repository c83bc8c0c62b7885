#!/usr/bin/env bash
# Build the demo school in the dev database (migrations first). Idempotent.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
Usage: scripts/seed.sh [--env-file FILE] [--no-migrate] [--students N] [--seed N]

Uses DATABASE_URL from the environment, the env file (default .env.local) or the
database scripts/start-all.sh started.
USAGE
}

ENV_FILE=".env.local" NO_MIGRATE=0 SEED_ARGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --env-file)
      [[ $# -ge 2 ]] || die "--env-file needs a value"
      ENV_FILE=$2
      shift
      ;;
    --no-migrate) NO_MIGRATE=1 ;;
    --students | --seed)
      [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || die "$1 needs a number"
      SEED_ARGS+=("$1" "$2")
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
resolve_python
if [[ -f "$ENV_FILE" ]]; then
  load_env_file "$ENV_FILE"
elif [[ "$ENV_FILE" != ".env.local" ]]; then
  die "env file '$ENV_FILE' not found"
fi
load_env_file "$STATE_DIR/db.env"
[[ -n "${DATABASE_URL:-}" ]] ||
  die "no database: start one with scripts/start-all.sh, or set DATABASE_URL"

((NO_MIGRATE)) || "${ERPLAKE[@]}" migrate
"${ERPLAKE[@]}" seed "${SEED_ARGS[@]}"
