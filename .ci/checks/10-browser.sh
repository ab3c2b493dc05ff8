#!/usr/bin/env bash
# Chromium checks against the production bundle; prints "browser: N passed, M failed".
cd "$(dirname "$0")/../.." && npm run test:browser
