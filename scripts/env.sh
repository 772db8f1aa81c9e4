# Sourced by the other scripts (not run): the environment every build and test step expects.
# - npm's binaryen first on PATH: wasm-pack runs the first wasm-opt it finds, and Debian's
#   wasm-opt 108 corrupts wasm-bindgen 0.2.130 release builds (TOOLCHAIN.md pitfall 1).
# - no global RUSTFLAGS: it would replace .cargo/config.toml's +simd128 (pitfall 5).
# Defines: MOBILECNN_ROOT, NIGHTLY, log(), die(), require_wasm_opt().

MOBILECNN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MOBILECNN_ROOT
# The pinned nightly of the threaded build (wasm32 std exists for this date; see TOOLCHAIN.md).
NIGHTLY="nightly-2026-05-20"
# Minimum wasm-opt that handles wasm-bindgen 0.2.130 output correctly.
MIN_WASM_OPT=116

# Where `cargo install` puts wasm-pack and wasm-bindgen (a fresh shell may not have it on PATH yet).
cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
[[ ":$PATH:" != *":$cargo_bin:"* ]] && PATH="$cargo_bin:$PATH"
unset cargo_bin
# npm's binaryen before everything else (wasm-opt).
[[ ":$PATH:" != *":$MOBILECNN_ROOT/node_modules/.bin:"* ]] && PATH="$MOBILECNN_ROOT/node_modules/.bin:$PATH"
export PATH
if [[ -n "${RUSTFLAGS:-}" ]]; then
  echo "env: ignoring RUSTFLAGS='$RUSTFLAGS' (it would replace .cargo/config.toml's +simd128)" >&2
fi
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS

log() { echo "[$(basename "$0")] $*"; }
die() { echo "[$(basename "$0")] ERROR: $*" >&2; exit 1; }

# Refuses a missing or too old wasm-opt (the first on PATH is the one wasm-pack uses).
require_wasm_opt() {
  local v
  command -v wasm-opt >/dev/null || die "wasm-opt not found: run scripts/setup.sh (npm ci installs binaryen)"
  v="$(wasm-opt --version 2>/dev/null | grep -oE '[0-9]+' | head -1)"
  if [[ -z "$v" || "$v" -lt $MIN_WASM_OPT ]]; then
    die "$(command -v wasm-opt) is version ${v:-unknown}; need >= $MIN_WASM_OPT (npm binaryen; Debian's corrupts release builds)"
  fi
}
