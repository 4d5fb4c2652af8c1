#!/usr/bin/env bash
# Installs what geoseg needs and builds it. Idempotent, and fast when nothing is missing.
#   Debian packages: libtorch-dev, libgdal-dev, build-essential, libopenblas0-pthread (fast BLAS
#   for libtorch), chromium (the viewer's end-to-end tests), and with --bench python3-torch,
#   python3-torchvision and python3-gdal (the Python references for benchmarks and the PyTorch
#   round-trip tests).
#   Then npm ci (when node_modules is missing or stale), the native addon, the TypeScript build, and
#   the web viewer (vite build, when its sources are newer than packages/geoseg/web/dist).
# Usage: bash scripts/setup.sh [--quiet] [--bench]
set -euo pipefail
cd "$(dirname "$0")/.."

quiet=0
packages=(libtorch-dev libgloo-dev libgdal-dev build-essential libopenblas0-pthread chromium)
for arg in "$@"; do
  case "$arg" in
    --quiet) quiet=1 ;;
    --bench) packages+=(python3-torch python3-torchvision python3-gdal) ;;
    *) echo "setup: unknown option $arg (expected --quiet or --bench)" >&2; exit 2 ;;
  esac
done
say() { if [ "$quiet" = 0 ]; then echo "setup: $*" >&2; fi; }

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then missing+=("$p"); fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null; then sudo="sudo"; else
      echo "setup: missing Debian packages (${missing[*]}); run as root or install them: apt-get install ${missing[*]}" >&2
      exit 1
    fi
  fi
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# npm ci when node_modules is absent or older than the lock file. gdal-async must be compiled
# against the system GDAL (Debian libgdal-dev): its prebuilt binaries cannot be downloaded here and
# would bundle another GDAL. node-pre-gyp reads build_from_source and node-gyp shared_gdal from
# these npm_config_* variables; set here rather than in an .npmrc, whose unknown keys make npm warn
# on every `npx geoseg`.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm_config_build_from_source=true npm_config_shared_gdal=true npm ci --no-audit --no-fund --loglevel=error >&2
fi

say "native addon"
node packages/torch/scripts/build-native.mjs >&2
say "TypeScript build"
node node_modules/typescript/bin/tsc -b packages/torch packages/geoseg >&2
# The `geoseg` command (npx geoseg): npm links workspace bins only when their target exists at
# install time, which on a fresh clone is before this build.
chmod +x packages/geoseg/dist/cli/main.js
ln -sfn ../geoseg/dist/cli/main.js node_modules/.bin/geoseg
# The viewer served by `geoseg serve`: rebuilt when missing or older than its sources or the installed packages.
web=packages/geoseg/web
if [ ! -f "$web/dist/index.html" ] || [ -n "$(find "$web/src" "$web/index.html" "$web/vite.config.ts" node_modules/.package-lock.json -newer "$web/dist/index.html" -print -quit)" ]; then
  say "web viewer (vite build)"
  node node_modules/vite/bin/vite.js build "$web" --logLevel "$([ "$quiet" = 1 ] && echo error || echo warn)" >&2
fi
say "ready"
