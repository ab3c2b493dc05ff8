#!/usr/bin/env bash
# The whole vitest suite again, against the production bundle: dist/index.js as the Worker's main
# instead of src/index.ts. vitest does not apply wrangler.toml's [alias], and those aliases swap
# code that never runs in a Worker out of zod, drizzle and zod-to-openapi in the bundle, so only
# this run tests every route of the Worker as deployed. Prints "bundle-suite: N passed, M failed".
cd "$(dirname "$0")/../.." || exit 1
fail() { echo "bundle-suite: $1"; echo "bundle-suite: 0 passed, 1 failed"; exit 1; }
npm run build >/dev/null || fail "npm run build failed"
sed 's#^main = "src/index.ts"$#main = "dist/index.js"#' wrangler.toml > wrangler.dist.toml
grep -q '^main = "dist/index.js"$' wrangler.dist.toml || fail "wrangler.toml has no main = \"src/index.ts\" line to point at dist/index.js"
report=$(mktemp)
WRANGLER_CONFIG=./wrangler.dist.toml npx vitest run --reporter=dot --reporter=json --outputFile.json="$report"
status=$?
summary=$(node .ci/vitest-count.cjs "$report")
echo "bundle-suite: ${summary% *} passed, ${summary#* } failed"
[ "$status" -eq 0 ] && [ "${summary#* }" = "0" ]
