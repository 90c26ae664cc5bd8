#!/usr/bin/env bash
# Builds the web app into web/dist (or $WEB_DIST). Two bundles from the one
# `web` crate: `field` (sign-in, households, entry, outbox: what a village
# phone loads) and `office` (also review, boards, findings, admin), each a
# wasm32 release build, wasm-bindgen (installed once, pinned to the crate's
# version); file names
# carry a content hash (served as immutable), each file is precompressed
# (.br, .gz), and index.html's loader picks the bundle by the stored role.
# Prints brotli and gzip sizes; fails when the field app's first load is over
# 300 KB brotli.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${WEB_DIST:-web/dist}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
BUDGET=$((300 * 1024))
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)

rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WB_VERSION" ]; then
  cargo install wasm-bindgen-cli --version "=$WB_VERSION" --no-default-features --locked ||
    cargo install wasm-bindgen-cli --version "=$WB_VERSION" --no-default-features
fi
# brotli is a Debian package; without it (no root to install it) the app is
# served gzip-only and the budget is checked on the larger gzip size.
if ! command -v brotli >/dev/null 2>&1; then
  { apt-get update -qq && apt-get install -y -qq brotli >/dev/null; } 2>/dev/null ||
    echo "brotli is not installed (apt-get install brotli): serving gzip only" >&2
fi
if command -v brotli >/dev/null 2>&1; then HAVE_BR=1; else HAVE_BR=0; fi

# No wasm-opt: measured on this app, -Oz shrinks the raw file by 15 % but
# grows it by 8 % once compressed (its inlining adds 43 KB and its function
# reordering 10 KB of brotli), the passes that do not grow it save 1 %, and
# Debian's binaryen 108 turns wasm-bindgen's externref table into a funcref
# table, so the app fails to start (docs/benchmarks.md).

mkdir -p "$OUT"
rm -f "$OUT"/*.wasm "$OUT"/*.js "$OUT"/*.br "$OUT"/*.gz
declare -A NAMES
bundle() {
  local name=$1
  shift
  cargo build --locked --profile wasm-release --target wasm32-unknown-unknown -p web "$@"
  local tmp
  tmp=$(mktemp -d)
  wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
    --out-dir "$tmp" --out-name "$name" "$TARGET_DIR/wasm32-unknown-unknown/wasm-release/web.wasm"
  mv "$tmp/${name}_bg.wasm" "$tmp/app.wasm"
  local wasm js
  wasm="$name-$(sha256sum "$tmp/app.wasm" | cut -c1-12).wasm"
  cp "$tmp/app.wasm" "$OUT/$wasm"
  sed "s/${name}_bg\.wasm/$wasm/g" "$tmp/$name.js" > "$tmp/loader.js"
  js="$name-$(sha256sum "$tmp/loader.js" | cut -c1-12).js"
  cp "$tmp/loader.js" "$OUT/$js"
  NAMES[${name}_js]=$js
  NAMES[${name}_wasm]=$wasm
  rm -rf "$tmp"
}
bundle field --no-default-features
bundle office

sed -e "s#__FIELD_JS__#/${NAMES[field_js]}#; s#__FIELD_WASM__#/${NAMES[field_wasm]}#" \
  -e "s#__OFFICE_JS__#/${NAMES[office_js]}#; s#__OFFICE_WASM__#/${NAMES[office_wasm]}#" web/index.html > "$OUT/index.html"
[ -f "$OUT/config.json" ] || printf '{ "apiUrl": "http://127.0.0.1:8000" }\n' > "$OUT/config.json"
cp web/manifest.webmanifest web/icon.svg "$OUT/"
# The service worker names this build's files; its version changes with them.
version=$(printf '%s' "${NAMES[field_js]}${NAMES[field_wasm]}${NAMES[office_js]}${NAMES[office_wasm]}" | sha256sum | cut -c1-12)
sed -e "s#__VERSION__#hsv-$version#" \
  -e "s#__ASSETS__#'/${NAMES[field_js]}', '/${NAMES[field_wasm]}'#" web/sw.js > "$OUT/sw.js"
for f in "$OUT"/*.wasm "$OUT"/*.js "$OUT/index.html" "$OUT/manifest.webmanifest" "$OUT/icon.svg"; do
  gzip -9 -k -f "$f"
  if [ "$HAVE_BR" = 1 ]; then brotli -q 11 -k -f "$f"; fi
done

size() { stat -c %s "$1"; }
first_load() { # brotli, gzip: index.html + the bundle's js and wasm
  local b=0 g=0
  for f in index.html "${NAMES[${1}_js]}" "${NAMES[${1}_wasm]}"; do
    if [ "$HAVE_BR" = 1 ]; then b=$((b + $(size "$OUT/$f.br"))); else b=$((b + $(size "$OUT/$f.gz"))); fi
    g=$((g + $(size "$OUT/$f.gz")))
  done
  echo "$b $g"
}
read -r field_br field_gz < <(first_load field)
read -r office_br office_gz < <(first_load office)
printf 'web app first load, field (verifiers): %d KB brotli, %d KB gzip (budget %d KB brotli)\n' \
  $((field_br / 1024)) $((field_gz / 1024)) $((BUDGET / 1024))
printf 'web app first load, office (other roles): %d KB brotli, %d KB gzip\n' $((office_br / 1024)) $((office_gz / 1024))
if [ "$field_br" -gt "$BUDGET" ]; then
  echo "The field app is over its size budget." >&2
  exit 1
fi
