#!/usr/bin/env bash
# `npm start`: installs what is missing (no browser driver needed), builds both wasm modules and
# the npm package, fetches the models, then serves the demo (www/) cross-origin isolated.
# PORT=8080 by default (the next free port if busy). Ctrl+C stops the server.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$MOBILECNN_ROOT"

SETUP_BROWSER=0 SETUP_MODELS=0 SETUP_PYTHON=0 bash scripts/setup.sh
bash scripts/build-wasm.sh
if [[ -f scripts/build-package.sh ]]; then bash scripts/build-package.sh; fi
# All catalogue models (the default one included); converting the checkpoints sets up .venv once.
bash tools/fetch-models.sh
[[ -f www/index.html ]] || log "note: www/ has no index.html yet; the server still serves /pkg/, /models/, /catalogue/, /assets/"
exec node scripts/serve.mjs
