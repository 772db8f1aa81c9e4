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

/** Whether the threaded build can run here: shared memory needs a cross-origin isolated page. */
export function supportsThreads() {
  return globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
}
