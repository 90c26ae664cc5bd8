#!/usr/bin/env bash
# Our API side by side with PostGraphile on one PostgreSQL database (issue 17):
# the figures a dashboard builder would compare before choosing. Loads a fresh
# database with the demo county plus verifications, starts our API (release
# build, ADMIN token, rate limits off) and PostGraphile 4.14.1 from
# ../shared/perf, checks that each request pair returns the same rows, then
# runs the alternating A B / B A comparison and prints its table.
#
# usage: scripts/perf-compare.sh [compare.sh options, default: -r 5 -x]
# env:   PERF_DIR  the shared harness (default ../shared/perf beside the checkout)
#        PG_BASE   PostgreSQL server URL (default postgres://postgres@127.0.0.1:5432)
#        VERIFIED  households saved through our API before the run (default 4098)
#        KEEP=1    keep the database and the processes' logs afterwards
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PERF=${PERF_DIR:-$ROOT/../shared/perf}
PG_BASE=${PG_BASE:-postgres://postgres@127.0.0.1:5432}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
VERIFIED=${VERIFIED:-4098}
DB=hsv_perf_$(date +%s)
WORK=$(mktemp -d /tmp/hsv-perf.XXXX)
OURS_PORT=${OURS_PORT:-18080} PG_PORT=${PG_PORT:-15000}
OURS=http://127.0.0.1:$OURS_PORT/graphql PEER=http://127.0.0.1:$PG_PORT/graphql
PASSWORD=Demo-pass-2020   # memory_bench signs in with the tests' demo password
[ $# -gt 0 ] || set -- -r 5 -x

step() { echo "== $*" >&2; }
API_PID="" PEER_PID=""
cleanup() {
  [ -n "$API_PID" ] && kill "$API_PID" 2>/dev/null || true
  [ -n "$PEER_PID" ] && kill "$PEER_PID" 2>/dev/null || true
  if [ "${KEEP:-}" != 1 ]; then
    sleep 1; psql "$PG_BASE/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  else
    echo "kept: database $DB, logs in $WORK" >&2
  fi
}
trap cleanup EXIT

step "release build (api, memory_bench)"
(cd "$ROOT" && cargo build -q --release --locked -p api -p tests --bin api --bin memory_bench)
step "harness: PostGraphile and oha ($PERF/install.sh)"
bash "$PERF/install.sh" >&2

step "database $DB: demo county, then $VERIFIED verifications saved through our API"
psql "$PG_BASE/postgres" -qc "CREATE DATABASE $DB"
export DATABASE_URL=$PG_BASE/$DB APP_DATA_DIR=$WORK/data APP_DEMO_PASSWORD=$PASSWORD \
  APP_BIND=127.0.0.1:$OURS_PORT APP_JWT_SECRET=perf-compare-secret-at-least-32-chars \
  APP_ACCESS_TOKEN_TTL=7200 APP_RATE_LIMIT_ACCOUNT=0 APP_RATE_LIMIT_TOKEN=0 APP_RATE_LIMIT_ANONYMOUS=0 \
  APP_LOG=warn
"$TARGET/release/api" serve-demo >"$WORK/api.log" 2>&1 &
API_PID=$!
for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$OURS_PORT/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
curl -fs "http://127.0.0.1:$OURS_PORT/readyz" >/dev/null || { tail "$WORK/api.log" >&2; exit 1; }
BENCH_API_URL=http://127.0.0.1:$OURS_PORT BENCH_API_PID=$API_PID BENCH_NO_PHOTOS=1 BENCH_HOUSEHOLDS=$VERIFIED \
  "$TARGET/release/memory_bench" | grep -E "entry run|answers by code" >&2

ours() { # query [variables] -> response
  curl -fsS -H 'Content-Type: application/json' ${TOKEN:+-H "Authorization: Bearer $TOKEN"} \
    --data-binary "$(jq -n --arg q "$1" --argjson v "${2:-{\}}" '{query: $q, variables: $v}')" "$OURS"
}
TOKEN=$(ours 'mutation($p: String!) { signIn(username: "admin", password: $p) { accessToken } }' \
  "$(jq -n --arg p "$PASSWORD" '{p: $p}')" | jq -r .data.signIn.accessToken)
AFTER=$(ours '{ households(first: 500) { pageInfo { endCursor } } }' | jq -r .data.households.pageInfo.endCursor)
AFTER=$(ours 'query($a: String) { households(first: 500, after: $a) { pageInfo { endCursor } } }' \
  "$(jq -n --arg a "$AFTER" '{a: $a}')" | jq -r .data.households.pageInfo.endCursor)
COUNTY=$(ours '{ regions(level: COUNTY) { id } }' | jq -r '.data.regions[0].id')
TOWNSHIP=$(ours '{ regions(level: TOWNSHIP) { id code } }' | jq -r '.data.regions[] | select(.code == "131126100000") | .id')
TOWNSHIP_UUID=$(psql "$PG_BASE/$DB" -Atc "SELECT id FROM regions WHERE code = '131126100000'")

step "PostGraphile on the same database (pool 20, as ours)"
PEER_PID=$(POOL=20 LOG_DIR=$WORK bash "$PERF/postgraphile.sh" "$PG_BASE/$DB" public "$PG_PORT")

# Request bodies: our queries with their variables, PostGraphile's as written.
Q=$ROOT/scripts/perf
body() { jq -n --rawfile q "$1" --argjson v "$2" '{query: $q, variables: $v}' >"$WORK/$3.json"; }
body "$Q/ours-page.graphql" "$(jq -n --arg a "$AFTER" '{after: $a}')" page-ours
body "$Q/pg-page.graphql" '{}' page-pg
body "$Q/ours-counts.graphql" '{}' counts-ours
body "$Q/pg-counts.graphql" '{}' counts-pg
body "$Q/ours-findings.graphql" "$(jq -n --arg t "$TOWNSHIP" '{township: $t}')" findings-ours
body "$Q/pg-findings.graphql" "$(jq -n --arg t "$TOWNSHIP_UUID" '{township: $t}')" findings-pg
body "$Q/ours-board.graphql" "$(jq -n --arg c "$COUNTY" '{county: $c}')" board-ours
body "$Q/pg-board.graphql" '{}' board-pg

step "each pair returns the same rows"
for pair in page counts findings board; do
  curl -fsS -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" \
    --data-binary @"$WORK/$pair-ours.json" "$OURS" | jq -S -f "$Q/ours-$pair.jq" >"$WORK/$pair-ours.rows"
  curl -fsS -H 'Content-Type: application/json' --data-binary @"$WORK/$pair-pg.json" "$PEER" |
    jq -S -f "$Q/pg-$pair.jq" >"$WORK/$pair-pg.rows"
  if ! diff -q "$WORK/$pair-ours.rows" "$WORK/$pair-pg.rows" >/dev/null; then
    echo "$pair: the two answers differ" >&2; diff "$WORK/$pair-ours.rows" "$WORK/$pair-pg.rows" | head -20 >&2; exit 1
  fi
  echo "$pair: $(jq length "$WORK/$pair-ours.rows") rows, equal" >&2
done

step "load: ours (A) vs PostGraphile (B)"
A_TOKEN=$TOKEN A_NAME=ours B_NAME=postgraphile-4 bash "$PERF/compare.sh" "$@" -o "$WORK/compare" "$OURS" "$PEER" \
  "$WORK/page-ours.json" "$WORK/page-pg.json" "$WORK/counts-ours.json" "$WORK/counts-pg.json" \
  "$WORK/findings-ours.json" "$WORK/findings-pg.json" "$WORK/board-ours.json" "$WORK/board-pg.json"
