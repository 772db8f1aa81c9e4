#!/usr/bin/env bash
# `npm run bench`: the side-by-side browser benchmark (bench/run.mjs: mobilecnn vs TF.js, ONNX
# Runtime Web and, on the real quantized .tflite files, TFLite via tfjs-tflite, in headless Chromium). Installs what is missing, bench/'s own npm dependencies, then
# runs it; bench/run.mjs builds its wasm modules and networks on first use (bench/build.sh).
# Options are bench/run.mjs's environment variables (NETS, RUNS, WARMUP, ROUNDS, CONFIGS, ...).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$MOBILECNN_ROOT"

SETUP_MODELS=0 bash scripts/setup.sh
lock_sum="$(sha256sum bench/package-lock.json | cut -d' ' -f1)"
if [[ "$(cat bench/node_modules/.setup-stamp 2>/dev/null)" != "$lock_sum" ]]; then
  log "npm ci in bench/"
  npm ci --prefix bench --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > bench/node_modules/.setup-stamp
fi
exec node bench/run.mjs "$@"
