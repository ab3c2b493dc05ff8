#!/usr/bin/env bash
# The OpenAPI document from the built Worker: Redocly's recommended lint (0 errors, 0 warnings) and
# openapi-typescript's types under strict; prints "openapi-lint: N passed, M failed".
cd "$(dirname "$0")/../.." || exit 1
npm run build >/dev/null 2>&1 || { echo "openapi-lint: npm run build failed"; echo "openapi-lint: 0 passed, 1 failed"; exit 1; }
node scripts/check-openapi.mjs
