#!/usr/bin/env bash
# The typed SDK: sdk/schema.d.ts regenerated from the built Worker's /openapi.json must equal the
# committed file, sdk/ and its flow test type-check under strict, and the 409, 412 and version
# bodies have no `unknown`. Prints "sdk: N passed, M failed".
cd "$(dirname "$0")/../.."
log=$(mktemp)
if ! npm run build >"$log" 2>&1; then
  cat "$log"
  echo "sdk: 0 passed, 1 failed"
  exit 1
fi
node_modules/.bin/node scripts/sdk-check.mjs
