#!/usr/bin/env bash
# The README's quickstart, run as written (scripts/quickstart.sh) against `npm run dev` on a free
# port and a fresh local database: the checkout's files are copied to a temporary directory (sharing
# node_modules), so its .wrangler state, .dev.vars and public/ start empty, as in a new clone.
# Prints the quickstart's "quickstart: N passed, M failed" line (one count per step).
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
fail() {
  echo "quickstart: $1"
  echo "quickstart: 0 passed, 1 failed"
  exit 1
}

if ! command -v jq >/dev/null; then
  [ "$(id -u)" -eq 0 ] || fail "jq is missing and this is not root: apt-get install -y jq"
  echo "quickstart: installing jq (apt-get)"
  { apt-get install -y -o DPkg::Lock::Timeout=300 jq || { apt-get update && apt-get install -y -o DPkg::Lock::Timeout=300 jq; }; } >/dev/null 2>&1 || fail "apt-get install jq failed"
fi

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill -- -"$server" 2>/dev/null
    wait "$server" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -x -C "$work" || fail "could not copy the checkout"
ln -s "$root/node_modules" "$work/node_modules"

port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
# Its own process group, so the cleanup stops npm, wrangler and workerd together.
(cd "$work" && exec setsid npm run dev -- --port "$port" >"$work/dev.log" 2>&1) &
server=$!
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || break
  sleep 1
done
if ! curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
  tail -n 40 "$work/dev.log" | sed 's/^/quickstart: dev | /'
  fail "npm run dev did not answer /health on port $port within 120 s"
fi
if grep -q "types might be out of date" "$work/dev.log"; then echo "quickstart: WARN wrangler dev says worker-configuration.d.ts is out of date (npm run types)"; fi

API="http://localhost:$port" bash scripts/quickstart.sh
