#!/usr/bin/env bash
# The national-scale data set of issue 19 on PostgreSQL: a fresh database whose
# schema the api binary creates (its migrations, at start-up), then
# scripts/national/generate.sql fills it set-based: 1 nation, 31 provinces,
# 340 cities, 2,800 counties, 39,000 townships, 490,000 villages, 23.4 million
# households with their reference records, ~60 % verified, one national
# campaign every county has joined, and the per-region counters.
#
# usage: scripts/national/run.sh [--drop] [--db NAME] [--scale F] [--recount]
#   --drop      drop the database first if it exists (otherwise an existing one is an error)
#   --db NAME   database name (default hsv_national)
#   --scale F   multiply every count below the provinces by F (e.g. 0.01 for a quick try)
#   --recount   afterwards run `api recount` and require "0 counters drifted"
#               (the app's own recount; about an hour at full scale)
# env: API_BIN        the release api binary (default: the path in /tmp/hsv-release-ready,
#                     else target/release/api)
#      PG_BASE        server URL (default postgres://postgres@127.0.0.1:5432)
#      BENCH_PASSWORD the accounts' password (default National-bench-2020)
#      HOUSEHOLDS VILLAGES TOWNSHIPS COUNTIES CITIES VERIFIED_PCT override the counts
# Prints the generation time; the psql log goes to $LOG_DIR/generate.log
# (default /var/tmp/hsv-national/<db>).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/scripts/national
DB=hsv_national DROP=0 SCALE=1 RECOUNT=0
while [ $# -gt 0 ]; do
  case "$1" in
    --drop) DROP=1 ;;
    --db) DB=$2; shift ;;
    --scale) SCALE=$2; shift ;;
    --recount) RECOUNT=1 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
[[ $DB =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "database name: lower-case letters, digits, _" >&2; exit 2; }

if [ -z "${API_BIN:-}" ]; then
  if [ -s /tmp/hsv-release-ready ]; then API_BIN=$(head -n1 /tmp/hsv-release-ready); else API_BIN=$ROOT/target/release/api; fi
fi
[ -x "$API_BIN" ] || { echo "no api binary at $API_BIN (set API_BIN)" >&2; exit 2; }
PG_BASE=${PG_BASE:-postgres://postgres@127.0.0.1:5432}
PASSWORD=${BENCH_PASSWORD:-National-bench-2020}
LOG_DIR=${LOG_DIR:-/var/tmp/hsv-national/$DB}
mkdir -p "$LOG_DIR"

scaled() { python3 -c "import sys; print(max(int(sys.argv[2]), round(int(sys.argv[1]) * float(sys.argv[3]))))" "$1" "$2" "$SCALE"; }
CITIES=${CITIES:-$(scaled 340 31)}
COUNTIES=${COUNTIES:-$(scaled 2800 "$CITIES")}
TOWNSHIPS=${TOWNSHIPS:-$(scaled 39000 "$COUNTIES")}
VILLAGES=${VILLAGES:-$(scaled 490000 "$TOWNSHIPS")}
HOUSEHOLDS=${HOUSEHOLDS:-$(scaled 23400000 "$VILLAGES")}
VERIFIED_PCT=${VERIFIED_PCT:-60}

step() { echo "== $(date +%T) $*" >&2; }

WORK=$(mktemp -d /tmp/hsv-national.XXXX)
API_PID="" RENICE_PID=""
cleanup() {
  [ -n "$API_PID" ] && kill "$API_PID" 2>/dev/null || true
  [ -n "$RENICE_PID" ] && kill "$RENICE_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

exists=$(psql "$PG_BASE/postgres" -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'")
[ -z "$exists" ] || [ "$DROP" = 1 ] || { echo "database $DB exists: pass --drop to replace it" >&2; exit 1; }

# Disk: about 2 GB per million households (tables, indexes, and the WAL and
# sort files while loading); refuse to go below 15 GB free. A database being
# replaced gives its space back first.
need_gb=$(( (HOUSEHOLDS * 2 + 999999) / 1000000 + 2 ))
free_gb=$(df -BG --output=avail / | tail -1 | tr -dc 0-9)
[ -z "$exists" ] || free_gb=$(( free_gb + $(psql "$PG_BASE/postgres" -Atc "SELECT pg_database_size('$DB') / 1073741824") ))
if [ $((free_gb - need_gb)) -lt 15 ]; then
  echo "not enough disk: $free_gb GB free, about $need_gb GB needed, 15 GB must stay free (use --scale)" >&2
  exit 1
fi

if [ -n "$exists" ]; then
  step "dropping database $DB"
  psql "$PG_BASE/postgres" -qc "DROP DATABASE $DB WITH (FORCE)"
fi
psql "$PG_BASE/postgres" -qc "CREATE DATABASE $DB"

step "password hash: the api's demo in a scratch SQLite database"
(cd "$WORK" && env -u DATABASE_URL APP_DATA_DIR="$WORK/hash" APP_DEMO_PASSWORD="$PASSWORD" APP_LOG=warn \
  APP_JWT_SECRET=national-bench-secret-at-least-32-chars "$API_BIN" demo >/dev/null)
HASH=$(sqlite3 "$WORK/hash/app.db" "SELECT password_hash FROM accounts WHERE username = 'admin'")
case "$HASH" in \$argon2id\$*) ;; *) echo "unexpected password hash: $HASH" >&2; exit 1 ;; esac

step "schema: api serve migrates $DB, stopped once /readyz answers"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATABASE_URL=$PG_BASE/$DB APP_BIND=127.0.0.1:$PORT APP_DATA_DIR=$WORK/serve APP_LOG=warn \
  APP_JWT_SECRET=national-bench-secret-at-least-32-chars "$API_BIN" serve >"$LOG_DIR/migrate.log" 2>&1 &
API_PID=$!
for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null || { tail "$LOG_DIR/migrate.log" >&2; exit 1; }
kill "$API_PID"; wait "$API_PID" 2>/dev/null || true; API_PID=""
psql "$PG_BASE/$DB" -Atc "SELECT 'migrations applied: ' || count(*) || ', newest ' || max(version) FROM seaql_migrations" >&2

step "generating: $CITIES cities, $COUNTIES counties, $TOWNSHIPS townships, $VILLAGES villages, $HOUSEHOLDS households ($VERIFIED_PCT % verified)"
# The work happens in the server's backend process: renice it (and psql) so
# builds and tests on the same machine keep their share.
APP_NAME=hsv-national-generate-$$
( while sleep 1; do
    pid=$(psql "$PG_BASE/postgres" -Atc "SELECT pid FROM pg_stat_activity WHERE application_name = '$APP_NAME'" 2>/dev/null || true)
    if [ -n "$pid" ]; then renice -n 10 -p "$pid" >/dev/null 2>&1 || true; break; fi
  done ) &
RENICE_PID=$!
start=$(date +%s)
set +e
PGAPPNAME=$APP_NAME nice -n 10 psql "$PG_BASE/$DB" -X -v ON_ERROR_STOP=1 \
  -v cities="$CITIES" -v counties="$COUNTIES" -v townships="$TOWNSHIPS" -v villages="$VILLAGES" \
  -v households="$HOUSEHOLDS" -v verified_pct="$VERIFIED_PCT" -v password_hash="$HASH" \
  -f "$HERE/generate.sql" 2>&1 | tee "$LOG_DIR/generate.log" | grep --line-buffered -E '^(==|Time: [0-9.]{6,}|psql:|ERROR)' >&2
status=${PIPESTATUS[0]}
set -e
end=$(date +%s)
[ "$status" = 0 ] || { echo "generate.sql failed (exit $status): see $LOG_DIR/generate.log" >&2; exit "$status"; }
echo "generated $HOUSEHOLDS households in $DB in $((end - start)) s ($(( (end - start) / 60 )) min $(( (end - start) % 60 )) s)"
psql "$PG_BASE/$DB" -Atc "SELECT 'database size: ' || pg_size_pretty(pg_database_size(current_database()))"
df -h / | tail -1

if [ "$RECOUNT" = 1 ]; then
  step "the app's recount over every county (api recount)"
  start=$(date +%s)
  DATABASE_URL=$PG_BASE/$DB APP_DATA_DIR=$WORK/serve APP_LOG=warn APP_JWT_SECRET=national-bench-secret-at-least-32-chars \
    nice -n 10 "$API_BIN" recount | tee "$LOG_DIR/recount.log"
  echo "recount took $(( $(date +%s) - start )) s"
  grep -q ": 0 counters drifted" "$LOG_DIR/recount.log" || { echo "the recount found drift" >&2; exit 1; }
fi
