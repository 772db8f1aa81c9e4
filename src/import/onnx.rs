//! `.onnx` (ONNX protobuf) → graph.

use super::Imported;
use crate::error::{Error, Result};

pub fn import(_bytes: &[u8]) -> Result<Imported> {
    Err(Error::Unsupported("ONNX import is not implemented yet".into()))
}
