//! The `#[wasm_bindgen]` surface: thin wrappers, no logic native tests cannot reach. Everything
//! it does lives in [`session`] (compiled natively too); this module only converts values.
//! Errors reach JS as `Error` objects whose message starts with a stable code
//! (`malformed: …`, `unsupported: …`, `too-large: …`, `input: …`).

pub mod session;

#[cfg(all(target_arch = "wasm32", feature = "threads"))]
mod threads;

#[cfg(target_arch = "wasm32")]
pub use bindings::*;

#[cfg(target_arch = "wasm32")]
mod bindings {
    use serde::Serialize;
    use wasm_bindgen::prelude::*;

    use super::session::{error_message, PreprocessingOptions, Session};
    use crate::error::Error;

    #[wasm_bindgen]
    extern "C" {
        /// `performance.now()`: exists in windows and workers alike.
        #[wasm_bindgen(js_namespace = performance, js_name = now)]
        fn performance_now() -> f64;
    }

    fn clock() -> f64 {
        performance_now()
    }

    fn js_error(e: Error) -> JsError {
        JsError::new(&error_message(&e))
    }

    fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
        let serializer = serde_wasm_bindgen::Serializer::new().serialize_missing_as_null(true);
        value.serialize(&serializer).map_err(|e| JsError::new(&format!("internal: {e}")))
    }

    fn install_panic_hook() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| std::panic::set_hook(Box::new(console_error_panic_hook::hook)));
    }

    /// A loaded model with its preprocessing state. Free it with `free()`.
    #[wasm_bindgen]
    pub struct WasmModel {
        session: Session,
    }

    #[wasm_bindgen]
    impl WasmModel {
        /// A `.tflite` or `.onnx` file. `preprocessing` (`{colorOrder, inputScale, mean, std}`, or
        /// `undefined`) is needed when the file does not declare it.
        #[wasm_bindgen(js_name = fromBytes)]
        pub fn from_bytes(bytes: &[u8], preprocessing: JsValue) -> Result<WasmModel, JsError> {
            install_panic_hook();
            let options: Option<PreprocessingOptions> = if preprocessing.is_undefined() || preprocessing.is_null() {
                None
            } else {
                Some(
                    serde_wasm_bindgen::from_value(preprocessing)
                        .map_err(|e| JsError::new(&format!("input: preprocessing: {e}")))?,
                )
            };
            let session = Session::from_bytes(bytes, options.as_ref()).map_err(js_error)?;
            Ok(WasmModel { session })
        }

        /// A zoo architecture (e.g. `shufflenet_v2_1.0`) with random weights, for profiling.
        #[wasm_bindgen(js_name = fromZoo)]
        pub fn from_zoo(id: &str) -> Result<WasmModel, JsError> {
            install_panic_hook();
            Ok(WasmModel { session: Session::from_zoo(id).map_err(js_error)? })
        }

        /// `{format, architecture, inputSize, numClasses, labelOffset, output, preprocessing,
        /// weightBytes, arenaBytes, macs, params}`.
        pub fn meta(&self) -> Result<JsValue, JsError> {
            to_js(&self.session.meta())
        }

        /// `{predictions: [{label, wnid, classIndex, probability}], timings: {preprocessMs, inferenceMs}}`.
        #[wasm_bindgen(js_name = classifyRgba)]
        pub fn classify_rgba(&mut self, rgba: &[u8], width: u32, height: u32, top_k: u32) -> Result<JsValue, JsError> {
            let out = self
                .session
                .classify_rgba(rgba, width as usize, height as usize, top_k as usize, &clock)
                .map_err(js_error)?;
            to_js(&out)
        }

        /// `{layers: [{name, op, macs, params, mac, ms}], totals: {macs, params, mac, ms}}`.
        pub fn profile(&mut self, rgba: &[u8], width: u32, height: u32) -> Result<JsValue, JsError> {
            let out = self.session.profile_rgba(rgba, width as usize, height as usize, &clock).map_err(js_error)?;
            to_js(&out)
        }
    }

    /// The crate's version.
    #[wasm_bindgen]
    pub fn version() -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    #[derive(Serialize)]
    struct BuildInfo {
        version: &'static str,
        simd: bool,
        threads: bool,
    }

    /// Threads inference runs on: the size of rayon's pool in the threaded build (after
    /// `initThreadPool`), 1 otherwise.
    #[wasm_bindgen(js_name = threadCount)]
    pub fn thread_count() -> usize {
        #[cfg(feature = "threads")]
        return rayon::current_num_threads();
        #[cfg(not(feature = "threads"))]
        return 1;
    }

    /// `{version, simd, threads}`: what this module was compiled with.
    #[wasm_bindgen(js_name = buildInfo)]
    pub fn build_info() -> Result<JsValue, JsError> {
        to_js(&BuildInfo {
            version: env!("CARGO_PKG_VERSION"),
            simd: cfg!(target_feature = "simd128"),
            threads: cfg!(target_feature = "atomics"),
        })
    }
}
