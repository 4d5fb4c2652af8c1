#!/usr/bin/env bash
# `npm test`: set up (idempotent), then run every packages/*/test/**/*.test.ts with node:test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --quiet
mapfile -t files < <(find packages -path '*/node_modules' -prune -o -path '*/test/*' -name '*.test.ts' -print | sort)
. scripts/run-tests.sh "$@" "${files[@]}"
