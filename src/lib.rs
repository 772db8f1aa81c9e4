//! mobilecnn: efficient mobile CNN image classifiers (MobileNet V1/V2, ShuffleNet V1/V2) for
//! WebAssembly with SIMD128, and natively for tests and the CLI.
//!
//! Data flow: `preprocess` (pixels → NHWC tensor) → `graph` (IR built by `zoo` or `import`,
//! rewritten and planned) → `kernels` (SIMD micro-kernels with scalar twins) → `classify`.

pub mod classify;
pub mod error;
pub mod graph;
pub mod import;
pub mod kernels;
pub mod model;
pub mod preprocess;
pub mod tensor;
pub mod zoo;

pub mod web;

pub use error::{Error, Result};
pub use model::{LayerProfile, Model, ModelFormat, ModelMeta, OutputKind};
pub use tensor::Shape;
