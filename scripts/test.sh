#!/usr/bin/env bash
# `npm test`: set up (idempotent), then run every packages/*/test/**/*.test.ts with node:test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --quiet
mapfile -t files < <(find packages -path '*/node_modules' -prune -o -path '*/test/*' -name '*.test.ts' -print | sort)
# Every test's temporary folders go under one scratch folder, removed when the run ends.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/geoseg-test-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
TMPDIR="$scratch" node --import tsx --test --test-concurrency=1 "$@" "${files[@]}"
