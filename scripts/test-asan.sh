#!/usr/bin/env bash
# `npm run test:asan`: the engine and geoseg test suites against the native addon built with
# AddressSanitizer (packages/torch/build-asan; the normal addon is untouched). Only the addon is
# instrumented: the ASan runtime is preloaded into node and every process it starts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --quiet
addon=$(node packages/torch/scripts/build-native.mjs --asan)
export GEOSEG_TORCH_ADDON="$addon" GEOSEG_SANITIZER=address
export LD_PRELOAD="$(gcc -print-file-name=libasan.so)"
# Leaks are not checked (V8 and libtorch keep their heaps until exit); any memory error aborts.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:${ASAN_OPTIONS:-}"
# libtorch's own allocator: the caching one keeps freed large blocks, where ASan would not see a
# use after free (its own test runs on the normal build)
export GEOSEG_CPU_CACHE=0
mapfile -t files < <(find packages -path '*/node_modules' -prune -o -path '*/test/*' -name '*.test.ts' -print | sort)
. scripts/run-tests.sh "$@" "${files[@]}"
