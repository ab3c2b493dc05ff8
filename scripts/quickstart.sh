#!/usr/bin/env bash
# Runs the README's quickstart exactly as written against a running server ($API, default
# http://localhost:8787): the fenced block between <!-- quickstart:begin --> and
# <!-- quickstart:end --> in README.md, read from the file at run time so the two cannot drift.
# A step is one paragraph of the block (up to a blank line); all steps run in this one shell, so
# TOKEN, ID and the rest carry over as they do for a reader. Every curl runs with --fail-with-body:
# a non-2xx answer fails its step, unless the step's comment predicts the status ("→ 409"), in which
# case each of its requests must answer exactly that. Prints one line per step and
# "quickstart: N passed, M failed"; stops at the first failure (set -e), counting the rest as failed.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
export API=${API:-http://localhost:8787}

block=$(sed -n '/^<!-- quickstart:begin -->$/,/^<!-- quickstart:end -->$/p' README.md | sed '/^<!-- quickstart:/d; /^```/d')
if [ -z "$block" ]; then
  echo "quickstart: README.md has no block between <!-- quickstart:begin --> and <!-- quickstart:end -->"
  echo "quickstart: 0 passed, 1 failed"
  exit 1
fi
steps=()
current=""
while IFS= read -r line; do
  if [ -n "$line" ]; then
    current+="$line"$'\n'
  elif [ -n "$current" ]; then
    steps+=("$current")
    current=""
  fi
done <<< "$block"
[ -n "$current" ] && steps+=("$current")

total=${#steps[@]}
passed=0
index=0
expect=""
trap 'status=$?; if [ "$BASH_SUBSHELL" -eq 0 ]; then echo "quickstart: FAIL step $index (exit $status)"; echo "quickstart: $passed passed, $((total - passed)) failed"; fi; exit 1' ERR

# The README's curl, held to its promise: 2xx, or exactly the status the step predicts.
curl() {
  if [ -z "$expect" ]; then
    command curl --fail-with-body -sS "$@"
    return
  fi
  local body status
  body=$(mktemp)
  status=$(command curl -sS -o "$body" -w '%{http_code}' "$@")
  cat "$body"
  rm -f "$body"
  if [ "$status" != "$expect" ]; then
    echo "quickstart: expected $expect, got $status" >&2
    return 22
  fi
}

for step in "${steps[@]}"; do
  index=$((index + 1))
  title=$(grep -m1 '^#' <<< "$step" | sed 's/^# *//' || true)
  expect=$(grep -o '→ [345][0-9][0-9]' <<< "$step" | head -n1 | grep -o '[0-9]*$' || true)
  echo "quickstart: step $index${expect:+ (expects $expect)}: ${title:-$(head -n1 <<< "$step")}"
  eval "$step"
  passed=$((passed + 1))
done
echo "quickstart: $passed passed, $((total - passed)) failed"
