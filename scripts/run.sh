#!/usr/bin/env bash
# Builds and starts the system with the Gucheng demo county on the embedded
# defaults (SQLite and photos under ./data). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

export APP_DEMO_PASSWORD="${APP_DEMO_PASSWORD:-Gucheng-2020}"
export APP_BIND="${APP_BIND:-127.0.0.1:8000}"

cargo build --release --locked -p api
echo
echo "API:      http://$APP_BIND/graphql  (GraphiQL in a browser)"
echo "Accounts: admin, supervisor, t131126100 … (townships), v131126100200 … (villages)"
echo "Password: $APP_DEMO_PASSWORD   (demo only; set APP_DEMO_PASSWORD to choose another)"
echo
exec "${CARGO_TARGET_DIR:-target}/release/api" serve-demo
