//! Softmax over a vector.
