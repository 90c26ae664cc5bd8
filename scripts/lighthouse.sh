#!/usr/bin/env bash
# Lighthouse on the verifier's first screens (a benchmark, not a CI test):
# builds the app and the API (release), starts the demo county on a fresh
# SQLite database in a temporary folder, installs lighthouse and
# puppeteer-core from npm once (into /var/tmp/hsv-lighthouse; Chromium is
# Debian's), and prints the scores. Figures go to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=/var/tmp/hsv-lighthouse
if [ ! -d "$TOOLS/node_modules/lighthouse" ]; then
  mkdir -p "$TOOLS"
  (cd "$TOOLS" && npm init -y >/dev/null && npm install --no-audit --no-fund lighthouse@12 puppeteer-core@24 >/dev/null)
fi
WEB_DIST="${WEB_DIST:-web/dist}" scripts/build-web.sh
cargo build --release --locked -p api
BIN="${CARGO_TARGET_DIR:-target}/release/api"
DATA=$(mktemp -d)
export APP_DATA_DIR="$DATA" APP_BIND=127.0.0.1:18000 APP_DEMO_PASSWORD=Gucheng-2020
export APP_WEB_URL=http://127.0.0.1:18080 APP_CORS_ORIGINS=http://127.0.0.1:18080
"$BIN" serve-demo >/dev/null 2>&1 &
api=$!
"$BIN" serve-web --dir "${WEB_DIST:-web/dist}" --web-bind 127.0.0.1:18080 --api-url http://127.0.0.1:18000 >/dev/null 2>&1 &
web=$!
trap 'kill $api $web 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 1 600); do curl -sf http://127.0.0.1:18000/healthz >/dev/null 2>&1 && break; sleep 0.5; done
cp scripts/lighthouse/audit.mjs "$TOOLS/"
node "$TOOLS/audit.mjs" http://127.0.0.1:18080 v131126100200 Gucheng-2020
