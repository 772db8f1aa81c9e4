//! The `#[wasm_bindgen]` surface: thin wrappers, no logic native tests cannot reach.

#[cfg(feature = "threads")]
mod threads;
