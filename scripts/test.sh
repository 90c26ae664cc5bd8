#!/usr/bin/env bash
# Installs what the tests need (idempotently) and runs every test:
# unit tests, then the API integration tests on SQLite and on PostgreSQL.
set -euo pipefail
shopt -s inherit_errexit 2>/dev/null || true
cd "$(dirname "$0")/.."

# CI may keep a target directory outside the clone between runs.
if [ -n "${CI:-}" ] && [ -z "${CARGO_TARGET_DIR:-}" ]; then
  export CARGO_TARGET_DIR=/var/tmp/hsv-target
fi
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"
PG_URL="${TEST_PG_URL:-postgres://postgres@127.0.0.1:5432}"

step() { printf '\n== %s\n' "$*"; }
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT

step "PostgreSQL"
if ! command -v psql >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq postgresql-client >/dev/null
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    sleep 2
  fi
fi
pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not reachable at $PG_URL"; exit 1; }
# Each test makes its own database (hsv_t_*); remove those a crashed run left.
psql "$PG_URL/postgres" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 'hsv\_t\_%'" |
  while read -r db; do psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true; done

step "S3-compatible server (s3s-fs, checks signatures) on loopback"
if ! command -v s3s-fs >/dev/null 2>&1; then
  # 0.14.1 is the last release that builds with this machine's rustc.
  cargo install s3s-fs --version 0.14.1 --features binary --locked
fi
S3_ROOT=$(mktemp -d)
S3_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
S3_KEY="test$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
S3_SECRET="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
s3s-fs --host 127.0.0.1 --port "$S3_PORT" --access-key "$S3_KEY" --secret-key "$S3_SECRET" "$S3_ROOT" >/dev/null 2>&1 &
S3_PID=$!
trap 'kill "$S3_PID" 2>/dev/null || true; rm -rf "$S3_ROOT" "$LOG"' EXIT
for _ in $(seq 1 100); do
  (echo > "/dev/tcp/127.0.0.1/$S3_PORT") 2>/dev/null && break
  sleep 0.1
done
export TEST_S3_ENDPOINT="http://127.0.0.1:$S3_PORT" TEST_S3_ACCESS_KEY="$S3_KEY" TEST_S3_SECRET_KEY="$S3_SECRET" TEST_S3_ROOT="$S3_ROOT"

step "Chromium and chromedriver (Debian packages) for the browser tests"
# fonts-noto-cjk: without a Chinese font the screenshots show empty boxes.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 || [ ! -d /usr/share/fonts/opentype/noto ]; then
  apt-get update -qq && apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null
fi

step "Tools the tests drive: promtool, HAProxy, graphql-http, GraphQL Code Generator, Python gql, standardwebhooks"
if ! command -v promtool >/dev/null 2>&1 || ! command -v haproxy >/dev/null 2>&1; then
  # prometheus for promtool; haproxy for the test with API processes behind a balancer.
  apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus haproxy >/dev/null
fi
# Versions pinned by tests/node/package-lock.json; reinstalled only when the lock changed.
if ! cmp -s tests/node/package-lock.json tests/node/node_modules/.installed-lock 2>/dev/null; then
  (cd tests/node && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.installed-lock)
fi
TOOLS_DIR="${HSV_TOOLS_DIR:-/var/tmp/hsv-tools}"
if ! "$TOOLS_DIR/py/bin/python" -c 'import gql, requests' >/dev/null 2>&1; then
  python3 -m venv "$TOOLS_DIR/py"
  "$TOOLS_DIR/py/bin/pip" install -q --disable-pip-version-check -r tests/python/requirements.txt
fi
export TEST_PYTHON="$TOOLS_DIR/py/bin/python"

step "Web app (wasm32 + wasm-bindgen; size budget checked)"
export WEB_DIST="${WEB_DIST:-$(mktemp -d)}"
scripts/build-web.sh
export TEST_WEB_DIST="$WEB_DIST"
# Screenshots of the main screens stay on disk after the run.
export SCREENSHOT_DIR="${SCREENSHOT_DIR:-$PWD/screenshots}"

step "Unit tests and API tests on SQLite"
cargo build --locked -p api
TEST_DATABASE=sqlite cargo test --locked 2>&1 | tee -a "$LOG"

step "Web app in headless Chromium (SQLite, demo county)"
TEST_DATABASE=sqlite cargo test --locked -p tests --features browser --test browser 2>&1 | tee -a "$LOG"
echo "Screenshots: $SCREENSHOT_DIR"

step "API tests on PostgreSQL"
TEST_DATABASE=postgres TEST_PG_URL="$PG_URL" cargo test --locked -p tests 2>&1 | tee -a "$LOG"

psql "$PG_URL/postgres" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 'hsv\_t\_%'" |
  while read -r db; do psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true; done
step "All tests passed (SQLite, PostgreSQL, Chromium)"
# One plain closing line with the totals of every run above.
awk '/^test result:/ { p += $4; f += $6 } END { printf "%d passed, %d failed\n", p, f }' "$LOG"
