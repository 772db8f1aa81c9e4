#!/usr/bin/env bash
# Builds the four wasm modules the npm package ships (wasm-pack --target web, release):
#   build/wasm/simd/     single-thread SIMD128, stable Rust — runs everywhere
#   build/wasm/threads/  SIMD128 + threads (wasm-bindgen-rayon), pinned nightly with -Z build-std
#   build/wasm/simd-relaxed/, build/wasm/threads-relaxed/  the same plus relaxed SIMD (fused multiply-add
#                        in the kernels, src/kernels/simd.rs `madd`); the package picks them where a probe validates.
#                        Built after their plain twin, they recompile our crate only (~30 s each; see below).
# then checks each really contains SIMD (f32x4 ops; relaxed ops in the relaxed ones) and prints raw and gzipped sizes.
# Usage: scripts/build-wasm.sh [simd|threads|simd-relaxed|threads-relaxed]...   (default: all four)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$MOBILECNN_ROOT"
require_wasm_opt
command -v wasm-pack >/dev/null || die "wasm-pack not found: run scripts/setup.sh"

out_root=build/wasm
# TOOLCHAIN.md pitfall 3: +atomics alone no longer gives shared memory on current nightlies.
THREAD_RUSTFLAGS="-C target-feature=+atomics,+bulk-memory,+simd128 \
-C link-arg=--shared-memory -C link-arg=--max-memory=1073741824 -C link-arg=--import-memory \
-C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size \
-C link-arg=--export=__tls_align -C link-arg=--export=__tls_base"

# The number of f32x4 instructions in a module (binaryen's disassembler from npm).
count_simd() { wasm-dis "$1" 2>/dev/null | grep -c 'f32x4' || true; }
# The number of relaxed SIMD instructions (f32x4.relaxed_madd and kin).
count_relaxed() { wasm-dis "$1" 2>/dev/null | grep -c 'relaxed' || true; }

report() {
  local name="$1" wasm="$out_root/$1/mobilecnn_bg.wasm" simd relaxed raw gz
  [[ -f "$wasm" ]] || die "$name: $wasm was not produced"
  simd="$(count_simd "$wasm")"
  relaxed="$(count_relaxed "$wasm")"
  raw="$(wc -c < "$wasm")"
  gz="$(gzip -9c "$wasm" | wc -c)"
  printf '[build-wasm] %-15s %s: %d bytes raw, %d gzipped, %d f32x4 instructions, %d relaxed\n' \
    "$name" "$wasm" "$raw" "$gz" "$simd" "$relaxed"
  [[ "$simd" -gt 0 ]] || die "$name: no f32x4 instruction in $wasm — SIMD128 was lost (a global RUSTFLAGS?) or no export reaches the kernels"
  if [[ "$name" == *relaxed ]]; then
    [[ "$relaxed" -gt 0 ]] || die "$name: no relaxed SIMD instruction in $wasm — +relaxed-simd was lost"
  else
    [[ "$relaxed" -eq 0 ]] || die "$name: $wasm has relaxed SIMD instructions; it must run where relaxed SIMD does not"
  fi
  if [[ "$name" == threads* ]] && ! wasm-dis "$wasm" 2>/dev/null | grep -qE '\(import "[^"]*" "memory" \(memory .*shared'; then
    die "threads: $wasm does not import a shared memory"
  fi
}

build_simd() {
  log "simd: stable, single thread"
  wasm-pack build --target web --release --mode no-install --out-dir "$out_root/simd" --out-name mobilecnn
}

build_threads() {
  rustup toolchain list | grep -q "^$NIGHTLY" || die "$NIGHTLY missing: run scripts/setup.sh (without SETUP_NIGHTLY=0)"
  log "threads: $NIGHTLY, -Z build-std, --features threads"
  # Its own target dir: the nightly + build-std artefacts would otherwise evict the stable ones.
  RUSTUP_TOOLCHAIN="$NIGHTLY" RUSTFLAGS="$THREAD_RUSTFLAGS" CARGO_TARGET_DIR="$MOBILECNN_ROOT/target/threads" \
    wasm-pack build --target web --release --mode no-install --out-dir "$out_root/threads" --out-name mobilecnn \
    -- --features threads -Z build-std=panic_abort,std
}

# Only our crate needs +relaxed-simd (the `madd` cfg lives in src/kernels/simd.rs), so the relaxed builds
# reuse the plain build's target dir: `cargo rustc` gives the flag to our crate alone, and the dependencies
# (and build-std's std) compiled for the plain build are reused. Then what wasm-pack does: wasm-bindgen, wasm-opt -O.
# It replaces our crate's artefact there: a later plain build recompiles our crate only.
build_relaxed_from() { # <name> <target dir> [cargo args...]
  local name="$1" target="$2" out="$out_root/$1"
  shift 2
  local want
  want="$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | grep -oE '[0-9]+\.[0-9]+\.[0-9]+')"
  [[ "$(wasm-bindgen --version 2>/dev/null)" == "wasm-bindgen $want" ]] || die "wasm-bindgen $want (Cargo.lock) not on PATH: run scripts/setup.sh"
  CARGO_TARGET_DIR="$target" cargo rustc --release --target wasm32-unknown-unknown --lib "$@" \
    -- -C target-feature=+relaxed-simd
  rm -rf "$out"
  wasm-bindgen --target web --out-dir "$out" --out-name mobilecnn "$target/wasm32-unknown-unknown/release/mobilecnn.wasm"
  wasm-opt -O "$out/mobilecnn_bg.wasm" -o "$out/mobilecnn_bg.wasm"
}

build_simd_relaxed() {
  log "simd-relaxed: stable, single thread, +relaxed-simd for our crate"
  build_relaxed_from simd-relaxed "$MOBILECNN_ROOT/target"
}

build_threads_relaxed() {
  rustup toolchain list | grep -q "^$NIGHTLY" || die "$NIGHTLY missing: run scripts/setup.sh (without SETUP_NIGHTLY=0)"
  log "threads-relaxed: $NIGHTLY, -Z build-std, --features threads, +relaxed-simd for our crate"
  RUSTUP_TOOLCHAIN="$NIGHTLY" RUSTFLAGS="$THREAD_RUSTFLAGS" \
    build_relaxed_from threads-relaxed "$MOBILECNN_ROOT/target/threads" --features threads -Z build-std=panic_abort,std
}

builds=("$@")
[[ ${#builds[@]} -gt 0 ]] || builds=(simd threads simd-relaxed threads-relaxed)
for b in "${builds[@]}"; do
  start=$SECONDS
  case "$b" in
    simd) build_simd ;;
    threads) build_threads ;;
    simd-relaxed) build_simd_relaxed ;;
    threads-relaxed) build_threads_relaxed ;;
    *) die "unknown build '$b' (simd, threads, simd-relaxed or threads-relaxed)" ;;
  esac
  report "$b"
  log "$b built in $((SECONDS - start)) s"
done
