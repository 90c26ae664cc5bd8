#!/usr/bin/env bash
# Refreshes the GraphiQL files the API serves itself at /graphiql/ (a county
# intranet may not reach a CDN). Takes them from the npm registry, unmodified.
set -euo pipefail
cd "$(dirname "$0")/.."
GRAPHIQL=${GRAPHIQL:-4.1.2} REACT=${REACT:-18.3.1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" >/dev/null)
for f in "$tmp"/*.tgz; do mkdir -p "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}"; done
out=api/assets/graphiql
cp "$tmp/graphiql-$GRAPHIQL/package/graphiql.min.js" "$tmp/graphiql-$GRAPHIQL/package/graphiql.min.css" \
  "$tmp/react-$REACT/package/umd/react.production.min.js" "$tmp/react-dom-$REACT/package/umd/react-dom.production.min.js" "$out/"
{
  echo "GraphiQL $GRAPHIQL (npm graphiql), React $REACT and ReactDOM $REACT (npm react, react-dom), unmodified."
  echo "Refresh with scripts/vendor-graphiql.sh."
  echo
  echo "== graphiql"; cat "$tmp/graphiql-$GRAPHIQL/package/LICENSE"; echo
  echo "== react, react-dom"; cat "$tmp/react-$REACT/package/LICENSE"
} > "$out/LICENSES.txt"
echo "GraphiQL $GRAPHIQL and React $REACT in $out"
