//! The op graph (IR) and everything that reasons about it: building and shape inference (`ir`),
//! rewrites (`rewrite`), the naive op-by-op reference executor (`reference`), the cost model
//! (`cost`) and the optimised execution plan (`plan`). Nothing here knows about SIMD.

pub mod cost;
pub mod ir;
pub mod plan;
pub mod reference;
pub mod rewrite;

pub use ir::{Graph, Node, Op, ValueId};
