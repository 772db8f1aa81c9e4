//! The crate's one error type. Every fallible public function returns it; no panic crosses the API.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    /// A tensor or operand does not have the shape an operation needs.
    #[error("shape mismatch in {context}: {detail}")]
    Shape { context: String, detail: String },
    /// A valid model uses something this runtime does not implement.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A configuration value is out of range (e.g. width multiplier 0, groups that do not divide channels).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A model file could not be parsed (truncated, corrupt, hostile).
    #[error("malformed model file: {0}")]
    Malformed(String),
    /// A model or image exceeds the limits this runtime accepts (memory, dimensions).
    #[error("too large: {0}")]
    TooLarge(String),
    /// Anything about input data (images, tensors passed in by the caller).
    #[error("invalid input: {0}")]
    Input(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn shape(context: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::Shape { context: context.into(), detail: detail.into() }
    }
}
