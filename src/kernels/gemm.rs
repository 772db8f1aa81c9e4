//! 1×1 convolution and dense layers as GEMM over pre-packed weight panels, with a fused
//! bias + activation epilogue. API fixed here; bodies: see the kernels owner.
//!
//! `out[i * out_stride + j] = act(bias[j] + Σ_kk A(i, kk) · W[kk][j])` for `i < m`, `j < n`,
//! where `A(i, kk) = a[i * a_row_stride + kk * a_k_stride]`. A grouped 1×1 conv is one call per
//! group (each group has its own `PackedGemm`, and `a`/`out` slices start at the group's channels);
//! a folded channel shuffle shows up as `a_k_stride > 1`.

use super::Activation;

/// Weights packed once at load into the panel order the micro-kernel reads.
#[derive(Clone, Debug, PartialEq)]
pub struct PackedGemm {
    pub k: usize,
    pub n: usize,
    pub data: Vec<f32>,
}

/// The A operand: rows are pixels (or the single row of a dense layer).
#[derive(Clone, Copy, Debug)]
pub struct GemmInput<'a> {
    pub a: &'a [f32],
    pub row_stride: usize,
    pub k_stride: usize,
}
