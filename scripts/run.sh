#!/usr/bin/env bash
# Builds and starts the whole system with the Gucheng demo county on the
# embedded defaults (SQLite and photos under ./data): the API on :8000 and the
# web app, as static files on its own port, on :8080. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

export APP_DEMO_PASSWORD="${APP_DEMO_PASSWORD:-Gucheng-2020}"
export APP_BIND="${APP_BIND:-127.0.0.1:8000}"
WEB_BIND="${WEB_BIND:-127.0.0.1:8080}"
export APP_WEB_URL="${APP_WEB_URL:-http://$WEB_BIND}"
export APP_CORS_ORIGINS="${APP_CORS_ORIGINS:-http://$WEB_BIND}"
BIN="${CARGO_TARGET_DIR:-target}/release/api"

scripts/build-web.sh
cargo build --release --locked -p api

"$BIN" serve-demo &
api_pid=$!
"$BIN" serve-web --dir web/dist --web-bind "$WEB_BIND" --api-url "http://$APP_BIND" &
web_pid=$!
trap 'kill "$api_pid" "$web_pid" 2>/dev/null || true' EXIT INT TERM

echo
echo "Web app:  http://$WEB_BIND   (open on a phone or a PC)"
echo "API:      http://$APP_BIND/graphql  (GraphiQL in a browser)"
echo "Accounts: admin, supervisor, t131126100 … (townships), v131126100200 … (villages)"
echo "Password: $APP_DEMO_PASSWORD   (demo only; set APP_DEMO_PASSWORD to choose another)"
echo
wait -n "$api_pid" "$web_pid"
