#!/usr/bin/env bash
# Installs what a fresh machine (Debian 12 with rustup, Node and Python) lacks for building and
# testing mobilecnn; skips whatever is already there, so a second run takes seconds.
# Environment: SETUP_NIGHTLY=0 (skip the pinned nightly of the threaded build),
#              SETUP_PYTHON=0 (skip .venv), SETUP_MODELS=0 (skip tools/fetch-models.sh),
#              SETUP_BROWSER=0 (skip Chromium + chromedriver).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$MOBILECNN_ROOT"

WASM_PACK_VERSION=0.15.1
as_root() { [[ "$(id -u)" == 0 ]]; }
apt_updated=0
apt_install() {
  as_root || die "missing Debian packages: $* (install them: apt-get install $*)"
  if [[ $apt_updated == 0 ]]; then apt-get update -qq; apt_updated=1; fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- Node (npm packages below need it) ---
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then apt_install nodejs npm; fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[[ "$node_major" -ge 18 ]] || die "Node $node_major is too old; need >= 18"

# --- Rust: stable wasm32 target ---
command -v rustup >/dev/null || die "rustup not found: install Rust with rustup first (https://rustup.rs)"
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# --- Rust: pinned nightly with rust-src + wasm32 (threaded build: -Z build-std) ---
if [[ "${SETUP_NIGHTLY:-1}" != 0 ]]; then
  if ! rustup toolchain list | grep -q "^$NIGHTLY"; then
    log "installing $NIGHTLY"
    rustup toolchain install "$NIGHTLY" --profile minimal -c rust-src -t wasm32-unknown-unknown
  else
    rustup component list --toolchain "$NIGHTLY" --installed | grep -q '^rust-src' ||
      rustup component add --toolchain "$NIGHTLY" rust-src
    rustup target list --toolchain "$NIGHTLY" --installed | grep -qx wasm32-unknown-unknown ||
      rustup target add --toolchain "$NIGHTLY" wasm32-unknown-unknown
  fi
fi

# --- wasm-pack (pinned) ---
if [[ "$(wasm-pack --version 2>/dev/null)" != "wasm-pack $WASM_PACK_VERSION" ]]; then
  log "cargo install wasm-pack $WASM_PACK_VERSION (a few minutes)"
  cargo install wasm-pack --version "$WASM_PACK_VERSION" --locked --force
  [[ "$(wasm-pack --version 2>/dev/null)" == "wasm-pack $WASM_PACK_VERSION" ]] ||
    die "wasm-pack on PATH is '$(command -v wasm-pack)' ($(wasm-pack --version 2>&1)) after installing $WASM_PACK_VERSION: is cargo's bin folder first on PATH?"
fi

# --- wasm-bindgen-cli equal to the wasm-bindgen crate in Cargo.lock (wasm-pack --mode no-install
#     uses the one on PATH only when the versions match). No --locked: its lock file wants a
#     webpki-roots version the registry lacks. ---
bindgen_version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
[[ -n "$bindgen_version" ]] || die "no wasm-bindgen in Cargo.lock"
if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $bindgen_version" ]]; then
  log "cargo install wasm-bindgen-cli $bindgen_version (a few minutes)"
  cargo install wasm-bindgen-cli --version "$bindgen_version" --force
  [[ "$(wasm-bindgen --version 2>/dev/null)" == "wasm-bindgen $bindgen_version" ]] ||
    die "wasm-bindgen on PATH is '$(command -v wasm-bindgen)' ($(wasm-bindgen --version 2>&1)) after installing $bindgen_version: is cargo's bin folder first on PATH?"
fi

# --- npm devDependencies: binaryen (wasm-opt >= 116), playwright-core ---
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ "$(cat node_modules/.setup-stamp 2>/dev/null)" != "$lock_sum" ]]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.setup-stamp
fi
require_wasm_opt

# --- Chromium + chromedriver (wasm-pack test --chrome, Playwright end-to-end tests) ---
if [[ "${SETUP_BROWSER:-1}" != 0 ]]; then
  missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v chromedriver >/dev/null || missing+=(chromium-driver)
  [[ ${#missing[@]} == 0 ]] || apt_install "${missing[@]}"
fi

# --- Python venv for the model tools and the demo tests ---
if [[ "${SETUP_PYTHON:-1}" != 0 ]]; then
  if [[ ! -x .venv/bin/python ]] && ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    apt_install python3-venv
  fi
  bash tools/setup-python.sh
fi

# --- Models (sha256-checked; offline copies from ../shared/models) ---
if [[ "${SETUP_MODELS:-1}" != 0 ]]; then
  bash tools/fetch-models.sh
fi

log "ready: $(rustc --version | cut -d' ' -f1-2), $(wasm-pack --version), $(wasm-bindgen --version), wasm-opt $(wasm-opt --version | grep -oE '[0-9]+' | head -1), node $(node --version)"
