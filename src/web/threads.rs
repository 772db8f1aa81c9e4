//! The threaded build's Web Worker pool: JS calls `initThreadPool(n)` once after `init()`,
//! before any inference (wasm-bindgen-rayon). Only in builds with `--features threads`.

// Unused from Rust: naming the function links wasm-bindgen-rayon's `#[wasm_bindgen]` exports
// (initThreadPool, the worker entry points) into the module.
#[allow(unused_imports)]
pub use wasm_bindgen_rayon::init_thread_pool;
