//! `.tflite` (TFLite flatbuffer) → graph.

use super::Imported;
use crate::error::{Error, Result};

pub fn import(_bytes: &[u8]) -> Result<Imported> {
    Err(Error::Unsupported("TFLite import is not implemented yet".into()))
}
