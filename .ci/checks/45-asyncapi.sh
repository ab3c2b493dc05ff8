#!/usr/bin/env bash
# The AsyncAPI document of /ws/notifications: valid for @asyncapi/parser with no warnings, examples
# and a real socket's frames (JSON and MessagePack) matching their payloads. Prints "asyncapi: N passed, M failed".
cd "$(dirname "$0")/../.."
log=$(mktemp)
if ! npm run build >"$log" 2>&1; then
  cat "$log"
  echo "asyncapi: 0 passed, 1 failed"
  exit 1
fi
node_modules/.bin/node scripts/asyncapi-check.mjs
