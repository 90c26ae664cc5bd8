#!/usr/bin/env bash
# Soak with faults (issue 19, part 4): "faults that lose nothing".
#
# Starts a PRIVATE PostgreSQL server (initdb into $SOAK_DIR/pg, its own port,
# run as the postgres user; the machine's own server on 5432 is never touched),
# starts scripts/cluster.sh against it (three `api` processes behind HAProxy,
# s3s-fs for photos, the web app when web/dist is built) on ports of its own
# and with its own state directory, runs soak.py (simulated verifiers, township
# approvers, one live board over graphql-ws, and the faults: an `api` process
# SIGKILLed every minute, one PostgreSQL restart, a 30 s S3 outage), then stops
# everything it started. soak.py's checks decide the exit status.
#
#   API_BIN=/path/to/release/api scripts/soak/run.sh            # 10 minutes
#   DURATION=60 KILL_EVERY=20 API_BIN=… scripts/soak/run.sh      # a short try
#
# Settings (environment):
#   API_BIN      the api binary (default: $CARGO_TARGET_DIR/release/api, then target/release/api); never built here
#   DURATION     seconds of load (600)          USERS      simulated verifiers (20)
#   APPROVERS    township approval loops (3)    KILL_EVERY seconds between api kills (60)
#   KILL_DOWN    seconds a killed api stays down before it is restarted (5)
#   KILL_WAIT    at most this long (5 s) a kill waits for a moment with two or more mutations in flight
#   PG_RESTART_AT, S3_OUTAGE_AT   seconds into the run (0.35 and 0.64 of DURATION)
#   S3_OUTAGE    seconds S3 stays unreachable (30)
#   SOAK_DIR     state: database cluster, cluster.sh state, logs, report  (/var/tmp/hsv-soak)
#   SOAK_PORT_BASE  the balancer listens on BASE, the api processes on BASE+1..3,
#                s3s-fs on BASE+10, HAProxy statistics on BASE+4, web on BASE+9 (28080)
#   KEEP=1       leave the cluster and the database running afterwards (stop: see the end of the output)
set -euo pipefail
shopt -s inherit_errexit 2>/dev/null || true
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

SOAK_DIR=${SOAK_DIR:-/var/tmp/hsv-soak}
VENV=${SOAK_VENV:-/var/tmp/hsv-tools/soak}
BASE=${SOAK_PORT_BASE:-28080}
say() { printf '[run.sh] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root: the private PostgreSQL runs as the postgres user (runuser)"

# --- the api binary: given, or the release build; this script never builds.
if [ -z "${API_BIN:-}" ]; then
  for c in "${CARGO_TARGET_DIR:-/var/tmp/hsv-target}/release/api" target/release/api; do
    if [ -x "$c" ]; then API_BIN=$(realpath "$c"); break; fi
  done
fi
[ -n "${API_BIN:-}" ] && [ -x "$API_BIN" ] || die "no api binary: set API_BIN=/path/to/api (a release build)"
export API_BIN

# --- Python tools, installed once into their own venv (pinned).
if ! "$VENV/bin/python" -c 'import aiohttp, websockets, PIL, psycopg' 2>/dev/null; then
  say "installing the soak's Python packages into $VENV"
  PY=$(command -v python3.11 || command -v python3)
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q aiohttp==3.14.5 websockets==17.4 Pillow==13.0.0 'psycopg[binary]==3.3.9'
fi

# --- PostgreSQL binaries (Debian layout), newest version installed.
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}
[ -x "$PGBIN/initdb" ] || die "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)"
command -v haproxy >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends haproxy >/dev/null; }

free_port() { ! (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PGDATA="$SOAK_DIR/pg/data"
pgctl() { runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" "$@"; }

export HSV_CLUSTER_DIR="$SOAK_DIR/cluster"
export PUBLIC_BIND="127.0.0.1:$BASE"
export API_PORTS="$((BASE + 1)) $((BASE + 2)) $((BASE + 3))"
export STATS_BIND="127.0.0.1:$((BASE + 4))"
export WEB_BIND="127.0.0.1:$((BASE + 9))"
export S3_BIND="127.0.0.1:$((BASE + 10))"
unset APP_S3_ENDPOINT APP_S3_BUCKET APP_S3_ACCESS_KEY APP_S3_SECRET_KEY
export APP_DEMO_PASSWORD="${APP_DEMO_PASSWORD:-Gucheng-2020}"

# --- what a previous run may have left: stop it (by the pids it recorded).
if [ -f "$SOAK_DIR/pg.port" ]; then
  old_port=$(cat "$SOAK_DIR/pg.port")
  if [ -d "$HSV_CLUSTER_DIR/run" ]; then
    DATABASE_URL="postgres://postgres@127.0.0.1:$old_port/hsv_soak" scripts/cluster.sh stop >&2 || true
  fi
fi
if [ -f "$PGDATA/postmaster.pid" ]; then pgctl stop -m fast -w >/dev/null 2>&1 || true; fi
rm -rf "$SOAK_DIR/pg" "$HSV_CLUSTER_DIR"
mkdir -p "$SOAK_DIR/pg"

for p in $BASE $((BASE + 1)) $((BASE + 2)) $((BASE + 3)) $((BASE + 4)) $((BASE + 9)) $((BASE + 10)); do
  free_port "$p" || die "port $p is in use: set SOAK_PORT_BASE to another base"
done
PGPORT=${SOAK_PG_PORT:-}
if [ -z "$PGPORT" ]; then
  for p in $(seq 25432 25532); do if free_port "$p"; then PGPORT=$p; break; fi; done
fi
[ -n "$PGPORT" ] || die "no free port for the private PostgreSQL"
echo "$PGPORT" > "$SOAK_DIR/pg.port"

# --- the private PostgreSQL server.
chown postgres: "$SOAK_DIR/pg"
runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$SOAK_DIR/pg/initdb.log" 2>&1 ||
  { cat "$SOAK_DIR/pg/initdb.log" >&2; die "initdb failed"; }
cat >> "$PGDATA/postgresql.conf" <<EOF
# scripts/soak/run.sh: a private server for the soak, on loopback only.
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$SOAK_DIR/pg'
max_connections = 200
shared_buffers = 256MB
logging_collector = off
EOF
pgctl start -w -t 60 -l "$SOAK_DIR/pg/server.log" >/dev/null
say "private PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PGPORT (data $PGDATA)"
export DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/hsv_soak"

cleanup() {
  local rc=$?
  if [ "${KEEP:-}" = 1 ]; then
    say "kept running. Stop with: HSV_CLUSTER_DIR=$HSV_CLUSTER_DIR DATABASE_URL=$DATABASE_URL PUBLIC_BIND=$PUBLIC_BIND API_PORTS='$API_PORTS' STATS_BIND=$STATS_BIND WEB_BIND=$WEB_BIND S3_BIND=$S3_BIND scripts/cluster.sh stop; runuser -u postgres -- $PGBIN/pg_ctl -D $PGDATA stop -m fast"
    exit "$rc"
  fi
  say "stopping the cluster and the private PostgreSQL"
  scripts/cluster.sh stop >&2 || true
  pgctl stop -m fast -w >/dev/null 2>&1 || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the cluster, on that database (the demo county loaded once).
HSV_DEMO=1 scripts/cluster.sh start >&2

# --- the soak itself.
export SOAK_DIR PGBIN PGDATA PGPORT
export SOAK_BASE_URL="http://$PUBLIC_BIND"
set +e
"$VENV/bin/python" scripts/soak/soak.py 2>&1 | tee "$SOAK_DIR/soak.log"
rc=${PIPESTATUS[0]}
set -e
say "report: $SOAK_DIR/report.json, output: $SOAK_DIR/soak.log, logs: $HSV_CLUSTER_DIR/logs, $SOAK_DIR/pg/server.log"
exit "$rc"
