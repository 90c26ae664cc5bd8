#!/usr/bin/env bash
# Builds the web app into web/dist (or $WEB_DIST): wasm32 release build,
# wasm-bindgen (installed once, pinned to the crate's version), index.html, a
# default config.json; prints the gzipped size and fails over the budget.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${WEB_DIST:-web/dist}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
BUDGET=$((400 * 1024))
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)

rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WB_VERSION" ]; then
  cargo install wasm-bindgen-cli --version "=$WB_VERSION" --no-default-features --locked ||
    cargo install wasm-bindgen-cli --version "=$WB_VERSION" --no-default-features
fi

cargo build --locked --profile wasm-release --target wasm32-unknown-unknown -p web
mkdir -p "$OUT"
wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
  --out-dir "$OUT" --out-name app "$TARGET_DIR/wasm32-unknown-unknown/wasm-release/web.wasm"
cp web/index.html "$OUT/index.html"
[ -f "$OUT/config.json" ] || printf '{ "apiUrl": "http://127.0.0.1:8000" }\n' > "$OUT/config.json"

wasm_gz=$(gzip -9 -c "$OUT/app_bg.wasm" | wc -c)
js_gz=$(gzip -9 -c "$OUT/app.js" | wc -c)
total=$((wasm_gz + js_gz))
printf 'web app size (gzip -9): wasm %d KB + js %d KB = %d KB (budget %d KB)\n' \
  $((wasm_gz / 1024)) $((js_gz / 1024)) $((total / 1024)) $((BUDGET / 1024))
if [ "$total" -gt "$BUDGET" ]; then
  echo "The web app is over its size budget." >&2
  exit 1
fi
