#!/usr/bin/env bash
# Example dashboard client: pulls a region's progress board with a read-only
# API token (an ADMIN creates one with the createApiToken mutation).
#
#   API_URL=http://127.0.0.1:8000 API_TOKEN=hsv_... scripts/dashboard-board.sh [REGION_ID]
#
# Prints the GraphQL response (JSON). Without REGION_ID: the token's own region.
set -euo pipefail
: "${API_URL:?set API_URL, e.g. http://127.0.0.1:8000}"
: "${API_TOKEN:?set API_TOKEN to an API token (hsv_...)}"

query='query($r: ID) { progress(regionId: $r) { region { code name } households submitted approved submittedPercent approvedPercent openErrors openWarnings milestones { kind title endsAt state actualPercent expectedPercent } behindPace(first: 5) { region { name } submittedPercent behindBy } } }'
if [ $# -ge 1 ]; then vars=$(printf '{"r":"%s"}' "$1"); else vars='{}'; fi
body=$(printf '{"query":"%s","variables":%s}' "$query" "$vars")

curl -fsS "${API_URL%/}/graphql" \
  -H "authorization: Bearer ${API_TOKEN}" \
  -H 'content-type: application/json' \
  --data "$body"
echo
