//! Model file importers: TFLite (flatbuffers) and ONNX (protobuf) → the crate's op graph.
//! Quantized weights are dequantized to f32 at load. Every size read from a file is checked
//! before it is used: hostile files give `Malformed`, `TooLarge` or `Unsupported`, never a panic.

pub mod onnx;
pub mod tflite;

use crate::graph::Graph;
use crate::preprocess::Preprocessing;

/// An imported graph and what the file says about its input and output.
pub struct Imported {
    pub graph: Graph,
    pub architecture: Option<String>,
    pub preprocessing: Option<Preprocessing>,
    pub num_classes: usize,
    pub label_offset: usize,
}
