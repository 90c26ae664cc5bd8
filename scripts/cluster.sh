#!/usr/bin/env bash
# Scale-out that a county IT office can run on one machine: three `api serve`
# processes sharing one PostgreSQL database, one S3-compatible photo store
# (s3s-fs) and one JWT secret, behind HAProxy on one public port (health
# checks on /readyz, WebSocket subscriptions passed through), plus the web app
# (`api serve-web`) pointed at the balancer. It shows the set-up docs/deploy.md
# describes for real servers, and lets anyone kill a process and watch the
# county keep working.
#
#   scripts/cluster.sh start    start what is not running (safe to repeat; restarts a dead process)
#   scripts/cluster.sh status   each process, and HAProxy's view of the API servers
#   scripts/cluster.sh stop     stop everything this script started (by the pids it recorded)
#
# It never builds anything: it uses API_BIN, or the newest of
# $CARGO_TARGET_DIR/{release,debug}/api (default /var/tmp/hsv-target), then
# target/{release,debug}/api. Settings (environment):
#   HSV_CLUSTER_DIR  state: pid files, logs, secrets, photo store  (/var/tmp/hsv-cluster)
#   DATABASE_URL     postgres://postgres@127.0.0.1:5432/hsv_cluster (created if absent)
#   PUBLIC_BIND      the balancer                                    (127.0.0.1:8080)
#   API_PORTS        one api process per port                        ("8081 8082 8083")
#   WEB_BIND         the web app                                     (127.0.0.1:8090)
#   WEB_DIST         the built web app (scripts/build-web.sh)        (web/dist)
#   S3_BIND          s3s-fs, unless APP_S3_ENDPOINT names another S3 server (127.0.0.1:9000)
#   STATS_BIND       HAProxy's statistics page                       (127.0.0.1:8404)
#   HSV_DEMO         1: load the Gucheng demo county once; 0: leave the database as it is (1)
#   HSV_REPLICA      1: run a PostgreSQL primary of the cluster's own (PG_PORT, 5442) and a
#                    streaming standby made from it with pg_basebackup (PG_STANDBY_PORT, 5443),
#                    and give the API processes DATABASE_READ_URL (0)
#   APP_DEMO_PASSWORD, APP_MAX_BODY_BYTES, APP_LOG and any other APP_* setting pass through.
set -euo pipefail
shopt -s inherit_errexit 2>/dev/null || true
cd "$(dirname "$0")/.."

STATE="${HSV_CLUSTER_DIR:-/var/tmp/hsv-cluster}"
RUN="$STATE/run"
LOGS="$STATE/logs"
PUBLIC_BIND="${PUBLIC_BIND:-127.0.0.1:8080}"
API_PORTS="${API_PORTS:-8081 8082 8083}"
WEB_BIND="${WEB_BIND:-127.0.0.1:8090}"
WEB_DIST="${WEB_DIST:-web/dist}"
S3_BIND="${S3_BIND:-127.0.0.1:9000}"
STATS_BIND="${STATS_BIND:-127.0.0.1:8404}"
HSV_DEMO="${HSV_DEMO:-1}"
HSV_REPLICA="${HSV_REPLICA:-0}"
PG_PORT="${PG_PORT:-5442}"
PG_STANDBY_PORT="${PG_STANDBY_PORT:-5443}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/hsv_cluster}"
export APP_DEMO_PASSWORD="${APP_DEMO_PASSWORD:-Gucheng-2020}"
# The API's own default; HAProxy refuses larger bodies before they reach it.
MAX_BODY="${APP_MAX_BODY_BYTES:-33554432}"

say() { printf '%s\n' "$*"; }
die() { printf 'cluster.sh: %s\n' "$*" >&2; exit 1; }

api_bin() {
  if [ -n "${API_BIN:-}" ]; then
    [ -x "$API_BIN" ] || die "API_BIN=$API_BIN is not an executable"
    printf '%s\n' "$API_BIN"
    return
  fi
  local t="${CARGO_TARGET_DIR:-/var/tmp/hsv-target}" c
  for c in "$t/release/api" "$t/debug/api" target/release/api target/debug/api; do
    if [ -x "$c" ]; then printf '%s\n' "$(realpath "$c")"; return; fi
  done
  die "no api binary: build one (cargo build --release -p api) or set API_BIN=/path/to/api"
}

# A pid file holds the pid and a string its command line must contain, so a
# recycled pid is never mistaken for ours (and never killed).
alive() {
  local f="$RUN/$1.pid" pid marker
  [ -f "$f" ] || return 1
  { read -r pid; read -r marker; } < "$f" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker"
}

pid_of() { head -n1 "$RUN/$1.pid"; }

# launch NAME MARKER CMD...: in its own session (a Ctrl-C in this terminal
# does not reach it), output to logs/NAME.log, pid recorded by the process itself.
launch() {
  local name=$1 marker=$2
  shift 2
  rm -f "$RUN/$name.pid"
  setsid bash -c 'printf "%s\n%s\n" "$$" "$1" > "$0"; shift 2; exec "$@"' \
    "$RUN/$name.pid" "$marker" -- "$@" >> "$LOGS/$name.log" 2>&1 < /dev/null &
  for _ in $(seq 1 50); do [ -s "$RUN/$name.pid" ] && return; sleep 0.1; done
  die "$name did not start (see $LOGS/$name.log)"
}

# wait_http NAME URL SECONDS: until URL answers 2xx; fails early if NAME died.
wait_http() {
  local name=$1 url=$2 secs=$3
  for _ in $(seq 1 $((secs * 5))); do
    curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && return 0
    alive "$name" || { tail -n 20 "$LOGS/$name.log" >&2; die "$name exited (log: $LOGS/$name.log)"; }
    sleep 0.2
  done
  tail -n 20 "$LOGS/$name.log" >&2
  die "$name did not answer $url within ${secs}s"
}

secrets() {
  local f="$STATE/secrets.env"
  if [ ! -f "$f" ]; then
    ( umask 077
      printf 'APP_JWT_SECRET=%s\nS3_KEY=hsv%s\nS3_SECRET=%s\n' \
        "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" \
        "$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')" \
        "$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" > "$f" )
  fi
  # shellcheck disable=SC1090
  . "$f"
  export APP_JWT_SECRET
}

ensure_haproxy() {
  command -v haproxy >/dev/null 2>&1 && return
  say "Installing HAProxy (Debian package haproxy)…"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends haproxy >/dev/null
  # The package enables its own service on /etc/haproxy; this script runs its own instance.
}

ensure_database() {
  local name="${DATABASE_URL##*/}"
  name="${name%%\?*}"
  local admin="${DATABASE_URL%/*}/postgres"
  case "$DATABASE_URL" in postgres://* | postgresql://*) ;; *) die "DATABASE_URL must be PostgreSQL (the processes share it)";; esac
  [[ "$name" =~ ^[A-Za-z0-9_]+$ ]] || die "unexpected database name '$name' in DATABASE_URL"
  if [ -z "$(psql "$admin" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$name'")" ]; then
    psql "$admin" -qc "CREATE DATABASE \"$name\"" >/dev/null
    say "database $name created"
  fi
}

# A PostgreSQL tool of the newest installed server version, as the postgres
# user (the server refuses to run as root).
pg_tool() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  [ -n "$bin" ] || die "HSV_REPLICA=1 needs the PostgreSQL server packages (/usr/lib/postgresql/*/bin)"
  runuser -u postgres -- "$bin/$1" "${@:2}"
}

# pg_up NAME PORT: starts the server in $STATE/pg/NAME unless it runs.
pg_up() {
  local dir="$STATE/pg/$1"
  pg_tool pg_ctl -D "$dir" status > /dev/null 2>&1 && { say "postgres $1 already running on 127.0.0.1:$2"; return; }
  pg_tool pg_ctl -D "$dir" -o "-p $2 -k /tmp -c listen_addresses=127.0.0.1" -l "$STATE/pg/$1.log" -w start > /dev/null
  say "postgres $1 started on 127.0.0.1:$2"
}

# A primary of the cluster's own and a streaming standby made from it: the
# API writes to the primary and answers dashboards and boards from the standby.
start_replica_pair() {
  mkdir -p "$STATE/pg"
  chown postgres "$STATE/pg"
  [ -f "$STATE/pg/primary/PG_VERSION" ] || pg_tool initdb -D "$STATE/pg/primary" -A trust -U postgres > /dev/null
  pg_up primary "$PG_PORT"
  if [ ! -f "$STATE/pg/standby/PG_VERSION" ]; then
    pg_tool pg_basebackup -h 127.0.0.1 -p "$PG_PORT" -U postgres -D "$STATE/pg/standby" -R -X stream
    say "standby made with pg_basebackup from the primary"
  fi
  pg_up standby "$PG_STANDBY_PORT"
  export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/hsv_cluster"
  export DATABASE_READ_URL="postgres://postgres@127.0.0.1:$PG_STANDBY_PORT/hsv_cluster"
}

stop_replica_pair() {
  local name
  for name in standby primary; do
    [ -f "$STATE/pg/$name/PG_VERSION" ] || continue
    pg_tool pg_ctl -D "$STATE/pg/$name" status > /dev/null 2>&1 || continue
    pg_tool pg_ctl -D "$STATE/pg/$name" -m fast -w stop > /dev/null && say "stopped postgres $name"
  done
}

start_s3() {
  if [ -n "${APP_S3_ENDPOINT:-}" ]; then
    : "${APP_S3_BUCKET:?APP_S3_BUCKET is required with APP_S3_ENDPOINT}"
    : "${APP_S3_ACCESS_KEY:?APP_S3_ACCESS_KEY is required with APP_S3_ENDPOINT}"
    : "${APP_S3_SECRET_KEY:?APP_S3_SECRET_KEY is required with APP_S3_ENDPOINT}"
    say "photos: $APP_S3_ENDPOINT bucket $APP_S3_BUCKET (not started here)"
    return
  fi
  export APP_S3_ENDPOINT="http://$S3_BIND" APP_S3_BUCKET=hsv-photos
  export APP_S3_ACCESS_KEY="$S3_KEY" APP_S3_SECRET_KEY="$S3_SECRET"
  # s3s-fs keeps a bucket as a folder under its root.
  mkdir -p "$STATE/s3/$APP_S3_BUCKET"
  if alive s3; then say "s3s-fs already running (pid $(pid_of s3))"; return; fi
  command -v s3s-fs >/dev/null 2>&1 ||
    die "s3s-fs is not installed (cargo install s3s-fs --version 0.14.1 --features binary --locked), or set APP_S3_ENDPOINT, APP_S3_BUCKET, APP_S3_ACCESS_KEY, APP_S3_SECRET_KEY for another S3 server"
  # s3s-fs takes its keys only as arguments, visible to `ps` on this machine:
  # fine for trying it out; a real site uses its S3 service (docs/deploy.md).
  launch s3 "$STATE/s3" s3s-fs --host "${S3_BIND%:*}" --port "${S3_BIND##*:}" \
    --access-key "$S3_KEY" --secret-key "$S3_SECRET" "$STATE/s3"
  for _ in $(seq 1 100); do
    (echo > "/dev/tcp/${S3_BIND%:*}/${S3_BIND##*:}") 2>/dev/null && break
    alive s3 || die "s3s-fs exited (log: $LOGS/s3.log)"
    sleep 0.1
  done
  say "s3s-fs started on $S3_BIND (pid $(pid_of s3), bucket $APP_S3_BUCKET)"
}

api_env() {
  # Shared by every process: database, secret, photo store; links and CORS name
  # the public addresses; client addresses come from HAProxy's X-Forwarded-For.
  export APP_PUBLIC_URL="${APP_PUBLIC_URL:-http://$PUBLIC_BIND}"
  export APP_WEB_URL="${APP_WEB_URL:-http://$WEB_BIND}"
  export APP_CORS_ORIGINS="${APP_CORS_ORIGINS:-http://$WEB_BIND}"
  export APP_TRUST_FORWARDED_FOR="${APP_TRUST_FORWARDED_FOR:-true}"
  export APP_TRUSTED_PROXIES="${APP_TRUSTED_PROXIES:-127.0.0.0/8,::1/128}"
  export APP_MAX_BODY_BYTES="$MAX_BODY"
  export APP_LOG="${APP_LOG:-info}"
}

start_apis() {
  local bin=$1 i=0 port todo=()
  for port in $API_PORTS; do
    i=$((i + 1))
    if alive "api-$i"; then say "api-$i already running on 127.0.0.1:$port (pid $(pid_of "api-$i"))"; else todo+=("$i:$port"); fi
  done
  [ ${#todo[@]} -gt 0 ] || return 0
  # Migrations (and the demo) run once, to the end, before the other `serve`
  # processes start: the migrator takes no lock, so processes starting together
  # on a pending migration would race, and the demo loader checks, then inserts.
  if [ "$HSV_DEMO" = 1 ]; then
    say "migrating and loading the demo county (a no-op once loaded)…"
    if ! APP_DATA_DIR="$STATE/api-0" APP_LOG=warn "$bin" demo > "$LOGS/demo.log" 2>&1; then
      cat "$LOGS/demo.log" >&2
      die "api demo failed"
    fi
    sed 's/^/  /' "$LOGS/demo.log"
  fi
  # Without the demo step the first process applies the migrations alone,
  # and the others start once it is ready.
  local t first=1
  for t in "${todo[@]}"; do
    i=${t%%:*}
    port=${t##*:}
    APP_DATA_DIR="$STATE/api-$i" launch "api-$i" "--bind 127.0.0.1:$port" "$bin" serve --bind "127.0.0.1:$port"
    if [ "$first" = 1 ]; then wait_http "api-$i" "http://127.0.0.1:$port/readyz" 120; first=0; fi
  done
  for t in "${todo[@]}"; do
    i=${t%%:*}
    port=${t##*:}
    wait_http "api-$i" "http://127.0.0.1:$port/readyz" 120
    say "api-$i started on 127.0.0.1:$port (pid $(pid_of "api-$i"))"
  done
}

haproxy_cfg() {
  local i=0 port
  cat <<EOF
# Written by scripts/cluster.sh; rewritten at every start.
global
  log stdout format raw local0 info
  maxconn 4096

defaults
  mode http
  log global
  option httplog
  option forwardfor
  timeout connect 5s
  timeout http-request 15s
  timeout http-keep-alive 15s
  # The API ends a GraphQL request after APP_REQUEST_TIMEOUT (30 s).
  timeout client 60s
  timeout server 60s
  # An upgraded WebSocket (graphql-ws on /graphql/ws) is a tunnel: a board left
  # open may be quiet for long; the web app reconnects when it is cut.
  timeout tunnel 1h
  timeout client-fin 10s
  # A connection refused by a dead process is retried on another one.
  retries 2
  option redispatch

frontend public
  bind $PUBLIC_BIND
  # The API's request body limit (APP_MAX_BODY_BYTES); it checks again itself.
  http-request deny deny_status 413 if { req.hdr_val(content-length) gt $MAX_BODY }
  # Which process answered, to watch the balancing (leave out on a public site).
  http-response set-header X-Served-By %s
  default_backend api

frontend stats
  bind $STATS_BIND
  stats enable
  stats uri /
  stats refresh 5s

backend api
  # Subscriptions are long-lived connections: send new ones where fewest are open.
  balance leastconn
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 2s fall 2 rise 2 on-marked-down shutdown-sessions
EOF
  for port in $API_PORTS; do
    i=$((i + 1))
    printf '  server api-%d 127.0.0.1:%s check\n' "$i" "$port"
  done
}

start_haproxy() {
  haproxy_cfg > "$STATE/haproxy.cfg.new"
  haproxy -c -q -f "$STATE/haproxy.cfg.new" || die "HAProxy refuses $STATE/haproxy.cfg.new"
  if alive haproxy; then
    if cmp -s "$STATE/haproxy.cfg.new" "$STATE/haproxy.cfg"; then
      rm -f "$STATE/haproxy.cfg.new"
      say "haproxy already running on $PUBLIC_BIND (pid $(pid_of haproxy))"
      return
    fi
    say "haproxy configuration changed: restarting it"
    stop_one haproxy
  fi
  mv "$STATE/haproxy.cfg.new" "$STATE/haproxy.cfg"
  launch haproxy "$STATE/haproxy.cfg" haproxy -db -f "$STATE/haproxy.cfg"
  wait_http haproxy "http://$PUBLIC_BIND/readyz" 30
  say "haproxy started on $PUBLIC_BIND (pid $(pid_of haproxy)); statistics on http://$STATS_BIND/"
}

start_web() {
  local bin=$1
  if [ ! -f "$WEB_DIST/index.html" ]; then
    say "web app: $WEB_DIST/index.html is missing, so it is not served (build it with scripts/build-web.sh, or set WEB_DIST); the API cluster runs without it"
    return
  fi
  if alive web; then say "web app already running on $WEB_BIND (pid $(pid_of web))"; return; fi
  launch web "--web-bind $WEB_BIND" "$bin" serve-web --dir "$WEB_DIST" --web-bind "$WEB_BIND" --api-url "http://$PUBLIC_BIND"
  wait_http web "http://$WEB_BIND/config.json" 30
  say "web app started on $WEB_BIND (pid $(pid_of web)), using the API at http://$PUBLIC_BIND"
}

cmd_start() {
  local bin
  bin=$(api_bin)
  say "api binary: $bin"
  mkdir -p "$RUN" "$LOGS"
  command -v psql >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq postgresql-client >/dev/null; }
  ensure_haproxy
  if [ "$HSV_REPLICA" = 1 ]; then start_replica_pair; fi
  pg_isready -q -d "$DATABASE_URL" || die "PostgreSQL is not reachable at ${DATABASE_URL##*@}"
  ensure_database
  secrets
  start_s3
  api_env
  start_apis "$bin"
  start_haproxy
  start_web "$bin"
  say
  say "API (balanced):  http://$PUBLIC_BIND/graphql   WebSocket: ws://$PUBLIC_BIND/graphql/ws"
  if [ -f "$WEB_DIST/index.html" ]; then say "Web app:         http://$WEB_BIND"; fi
  if [ "$HSV_DEMO" = 1 ]; then
    say "Demo accounts:   admin, supervisor, t131126100 …, v131126100200 …; password $APP_DEMO_PASSWORD"
  fi
  if [ "$HSV_REPLICA" = 1 ]; then say "Read replica:    127.0.0.1:$PG_STANDBY_PORT (boards and API tokens; lag in extensions.replica)"; fi
  say "State and logs:  $STATE"
}

cmd_status() {
  local name pid down=0 i=0 port
  printf '%-9s %-8s %-22s %s\n' process pid address state
  row() { # name address check-url
    if alive "$1"; then
      local state=running
      if [ -n "${3:-}" ]; then
        state=$(curl -sS --max-time 2 "$3" 2>/dev/null || true)
        state="running, ${3##*/}: ${state:-no answer}"
      fi
      printf '%-9s %-8s %-22s %s\n' "$1" "$(pid_of "$1")" "$2" "$state"
    else
      printf '%-9s %-8s %-22s %s\n' "$1" - "$2" "not running"
      down=1
    fi
  }
  row s3 "$S3_BIND"
  for port in $API_PORTS; do
    i=$((i + 1))
    row "api-$i" "127.0.0.1:$port" "http://127.0.0.1:$port/readyz"
  done
  row haproxy "$PUBLIC_BIND" "http://$PUBLIC_BIND/readyz"
  if [ -f "$RUN/web.pid" ] || [ -f "$WEB_DIST/index.html" ]; then row web "$WEB_BIND"; fi
  if alive haproxy; then
    say
    say "HAProxy's view (backend api):"
    curl -fsS --max-time 2 "http://$STATS_BIND/;csv" 2>/dev/null |
      awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; printf "  %-8s %-6s %-16s %-7s %s\n", "server", "status", "last check", "active", "requests"; next }
               $1 == "api" && $2 != "FRONTEND" && $2 != "BACKEND" {
                 printf "  %-8s %-6s %-16s %-7s %s\n", $2, $c["status"], $c["check_status"] "/" $c["check_code"], $c["scur"], $c["stot"] }' ||
      say "  (statistics page http://$STATS_BIND/ did not answer)"
  fi
  return $down
}

# stop_one NAME: SIGTERM (the API finishes in-flight requests), SIGKILL after 15 s.
stop_one() {
  local name=$1 pid
  if ! alive "$name"; then rm -f "$RUN/$name.pid"; return; fi
  pid=$(pid_of "$name")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$RUN/$name.pid"
  say "stopped $name (pid $pid)"
}

cmd_stop() {
  local f name
  [ -d "$RUN" ] || { say "nothing started from $STATE"; return; }
  # The balancer first, so no request goes to a process that is stopping.
  for name in web haproxy; do stop_one "$name"; done
  for f in "$RUN"/api-*.pid; do [ -e "$f" ] && stop_one "$(basename "$f" .pid)"; done
  stop_one s3
  if [ -d "$STATE/pg" ]; then stop_replica_pair; fi
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) say "usage: $0 start|stop|status"; exit 2 ;;
esac
