#!/usr/bin/env bash
# Assembles pkg/ — the npm package `mobilecnn` — from js/, build/wasm/{simd,threads}{,-relaxed} (scripts/build-wasm.sh),
# the catalogue and the labels; then prints each wasm's size raw and gzipped.
# Usage: scripts/build-package.sh [--build]   (--build runs scripts/build-wasm.sh first)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [[ "${1:-}" == --build ]]; then bash scripts/build-wasm.sh; fi
node scripts/build-package.mjs
for b in simd threads simd-relaxed threads-relaxed; do
  wasm="pkg/$b/mobilecnn_bg.wasm"
  printf '[build-package] %-15s %s: %d bytes raw, %d gzipped (-9)\n' "$b" "$wasm" "$(wc -c < "$wasm")" "$(gzip -9c "$wasm" | wc -c)"
done
printf '[build-package] JS (all .js files, gzipped together): %d bytes\n' "$(cat pkg/*.js | gzip -9c | wc -c)"
