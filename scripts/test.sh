#!/usr/bin/env bash
# `npm test`: set up (idempotent), then run every packages/*/test/**/*.test.ts with node:test
# (the quick tier; `npm run test:slow` the slow one).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --quiet
# The Python reference fixtures were made with OpenBLAS's Haswell kernels; HRNet's in training mode
# (batch norm over 2×2 maps) turns another kernel's 1e-6 rounding into 1e-3, so pin the kernels
# unless the caller chose, where the CPU has them (AVX2).
if [[ -z "${OPENBLAS_CORETYPE:-}" ]] && grep -qw avx2 /proc/cpuinfo 2>/dev/null; then export OPENBLAS_CORETYPE=Haswell; fi
mapfile -t files < <(find packages -path '*/node_modules' -prune -o -path '*/test/*' -name '*.test.ts' -print | sort)
# GEOSEG_TEST_TIER=slow (npm run test:slow): only the slow tier's tests (test/helpers/tier.ts), in
# the files that have them; quick (default): the others; all: both.
if [[ "${GEOSEG_TEST_TIER:-quick}" == slow ]]; then
  mapfile -t files < <(grep -l 'slowTest(' "${files[@]}")
  set -- --test-name-pattern='\[slow tier\]' "$@"
fi
. scripts/run-tests.sh "$@" "${files[@]}"
