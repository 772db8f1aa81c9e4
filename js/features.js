// Feature checks, cheap and synchronous.

// (module (func (result v128) i32.const 0 i32x4.splat)): validates only where wasm SIMD128 exists.
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section
  0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x00, 0xfd, 0x11, 0x0b, // code: i32.const 0; i32x4.splat; end
]);

/** Whether this browser runs wasm SIMD128 (the package needs it). */
export function supportsSimd() {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

// (module (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd)):
// validates only where relaxed SIMD exists (Chrome 114+); the relaxed builds fuse multiply-add in the kernels.
const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // type section: (v128, v128, v128) -> v128
  0x03, 0x02, 0x01, 0x00, // function section
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b, // code: f32x4.relaxed_madd
]);

/** Whether this browser runs wasm relaxed SIMD (then the package uses its relaxed builds, unless told not to). */
export function supportsRelaxedSimd() {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(RELAXED_SIMD_PROBE);
  } catch {
    return false;
  }
}

/** Whether the threaded build can run here: shared memory needs a cross-origin isolated page. */
export function supportsThreads() {
  return globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
}
