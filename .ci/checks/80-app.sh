#!/usr/bin/env bash
# The web app (/app) in Chromium: two people collaborating live, a conflict, feeds, axe-core on
# every screen, screenshots at 375 and 1,440 px, and the app's gzip JS budget (80 KB for
# public/app/**/*.js). Prints "app: N passed, M failed".
cd "$(dirname "$0")/../.."
log=$(mktemp)
if ! npm run build >"$log" 2>&1; then
  cat "$log"
  echo "app: 0 passed, 1 failed"
  exit 1
fi
node_modules/.bin/node test/browser/app.mjs
