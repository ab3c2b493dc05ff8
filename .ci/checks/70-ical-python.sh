#!/usr/bin/env bash
# A second, independent iCalendar parser (Debian's python3-icalendar, with python-dateutil to expand
# rules) reads a feed from the production bundle; prints "ical-python: N passed, M failed".
# /usr/bin/python3 on purpose: `python3` on PATH may be another Python without Debian's packages.
cd "$(dirname "$0")/../.." || exit 1
if ! /usr/bin/python3 -c "import icalendar, dateutil" 2>/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends python3-icalendar >/dev/null 2>&1 \
    || { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends python3-icalendar >/dev/null 2>&1; }
fi
if ! /usr/bin/python3 -c "import icalendar, dateutil" 2>/dev/null; then
  echo "ical-python: could not install python3-icalendar"
  echo "ical-python: 0 passed, 1 failed"
  exit 1
fi
npm run build >/dev/null 2>&1 || { echo "ical-python: the build failed"; echo "ical-python: 0 passed, 1 failed"; exit 1; }
node test/ical-python/run.mjs
