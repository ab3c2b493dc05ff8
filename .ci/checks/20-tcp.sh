#!/usr/bin/env bash
# Real-client socket checks over TCP; prints "tcp: N passed, M failed".
cd "$(dirname "$0")/../.." && npm run test:tcp
