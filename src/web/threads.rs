//! The threaded build's Web Worker pool: JS calls `initThreadPool(n)` once after `init()`,
//! before any inference (wasm-bindgen-rayon). Only in builds with `--features threads`.

pub use wasm_bindgen_rayon::init_thread_pool;
