#!/usr/bin/env bash
# The Worker's gzip size against its limit, and the bundle as built still answering; one check.
cd "$(dirname "$0")/../.." && if npm run check:bundle; then echo "bundle: 1 passed, 0 failed"; else echo "bundle: 0 passed, 1 failed"; exit 1; fi
