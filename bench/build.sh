#!/usr/bin/env bash
# Builds what the benchmark serves: the bench wasm module single-thread (stable, SIMD128) and
# threaded (pinned nightly, -Z build-std, shared memory) into bench/out/wasm/{simd,threads}, the
# four paper-config zoo graphs and their ONNX files into bench/out/nets (checked against our
# output with onnxruntime); optionally the relaxed-SIMD variants of both modules.
# Usage: bench/build.sh [simd|threads|relaxed|threads_relaxed|nets]...  (default: simd threads nets)
set -euo pipefail
bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$bench")"
NIGHTLY="${NIGHTLY:-nightly-2026-05-20}"
NETS=(mobilenet_v1_1.0_224 mobilenet_v2_1.0_224 shufflenet_v1_g3_1.0 shufflenet_v2_1.0)
# TOOLCHAIN.md pitfall 3: shared memory needs explicit linker arguments on current nightlies.
THREAD_RUSTFLAGS="-C target-feature=+atomics,+bulk-memory,+simd128 \
-C link-arg=--shared-memory -C link-arg=--max-memory=1073741824 -C link-arg=--import-memory \
-C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size \
-C link-arg=--export=__tls_align -C link-arg=--export=__tls_base"

bindgen() { # <target dir> <out name>
  wasm-bindgen --target web --out-dir "$bench/out/wasm/$2" --out-name mobilecnn_bench \
    "$1/wasm32-unknown-unknown/release/mobilecnn_bench.wasm"
  local simd
  simd="$(wasm-objdump -d "$bench/out/wasm/$2/mobilecnn_bench_bg.wasm" 2>/dev/null | grep -c f32x4 || true)"
  echo "[bench build] $2: $(wc -c < "$bench/out/wasm/$2/mobilecnn_bench_bg.wasm") bytes, ${simd:-?} f32x4 instructions"
}

build_simd() {
  (cd "$bench/wasm" && env -u RUSTFLAGS cargo build --release --target wasm32-unknown-unknown --lib)
  bindgen "$bench/wasm/target" simd
}

# The optional relaxed-SIMD builds: fused multiply-add in the kernels (simd.rs `madd`).
build_relaxed() {
  (cd "$bench/wasm" && RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" CARGO_TARGET_DIR="$bench/wasm/target/relaxed" \
    cargo build --release --target wasm32-unknown-unknown --lib)
  bindgen "$bench/wasm/target/relaxed" relaxed
}

build_threads_relaxed() {
  (cd "$bench/wasm" && RUSTUP_TOOLCHAIN="$NIGHTLY" RUSTFLAGS="${THREAD_RUSTFLAGS/+simd128/+simd128,+relaxed-simd}" \
    CARGO_TARGET_DIR="$bench/wasm/target/threads-relaxed" \
    cargo build --release --target wasm32-unknown-unknown --lib --features threads -Z build-std=panic_abort,std)
  bindgen "$bench/wasm/target/threads-relaxed" threads-relaxed
}

build_threads() {
  (cd "$bench/wasm" && RUSTUP_TOOLCHAIN="$NIGHTLY" RUSTFLAGS="$THREAD_RUSTFLAGS" CARGO_TARGET_DIR="$bench/wasm/target/threads" \
    cargo build --release --target wasm32-unknown-unknown --lib --features threads -Z build-std=panic_abort,std)
  bindgen "$bench/wasm/target/threads" threads
}

build_nets() {
  (cd "$bench/wasm" && env -u RUSTFLAGS cargo run --release --bin export -- "$bench/out/nets" "${NETS[@]}")
  [[ -x "$root/.venv/bin/python" ]] || bash "$root/tools/setup-python.sh"
  "$root/.venv/bin/python" "$bench/onnx_export.py" "$bench/out/nets" "${NETS[@]}"
}

steps=("$@")
[[ ${#steps[@]} -gt 0 ]] || steps=(simd threads nets)
for s in "${steps[@]}"; do "build_$s"; done
