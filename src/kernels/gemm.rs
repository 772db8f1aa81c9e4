//! 1×1 convolution and dense layers as GEMM over pre-packed weight panels, with a fused
//! bias + activation epilogue.
//!
//! `out[i * out_stride + j] = act(bias[j] + Σ_kk A(i, kk) · W[kk][j])` for `i < m`, `j < n`,
//! where `A(i, kk) = a[i * a_row_stride + kk * a_k_stride]`. A grouped 1×1 conv is one call per
//! group (each group has its own `PackedGemm`, and `a`/`out` slices start at the group's channels);
//! a folded channel shuffle shows up as `a_k_stride > 1`. Rows are independent, so a caller splits
//! work by slicing `a` and `out` at a row boundary and passing a smaller `m`.

use super::Activation;

/// Output channels per weight panel: two f32x4 registers wide.
pub const NR: usize = 8;

/// Weights packed once at load into the panel order the micro-kernel reads: for each group of
/// `NR` output channels, `NR` biases then `k` rows of `NR` weights (the last panel zero-padded).
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

impl PackedGemm {
    /// Packs `w_kn` (`[k][n]` row-major) and an optional bias (zeros when absent).
    /// Panics if the slices are shorter than `k * n` and `n` (the plan validates shapes first).
    pub fn pack(k: usize, n: usize, w_kn: &[f32], bias: Option<&[f32]>) -> PackedGemm {
        assert!(
            w_kn.len() >= k * n,
            "gemm weights: {} < {k}x{n}",
            w_kn.len()
        );
        let panel = Self::panel_len(k);
        let mut data = vec![0.0; n.div_ceil(NR) * panel];
        for (p, dst) in data.chunks_exact_mut(panel).enumerate() {
            let j0 = p * NR;
            let nj = (n - j0).min(NR);
            if let Some(b) = bias {
                dst[..nj].copy_from_slice(&b[j0..j0 + nj]);
            }
            for (kk, row) in dst[NR..].chunks_exact_mut(NR).enumerate() {
                row[..nj].copy_from_slice(&w_kn[kk * n + j0..kk * n + j0 + nj]);
            }
        }
        PackedGemm { k, n, data }
    }

    /// Floats per panel: `NR` biases + `k` rows of `NR` weights.
    #[inline]
    pub const fn panel_len(k: usize) -> usize {
        (k + 1) * NR
    }
}

/// Checks the operand extents once, so the SIMD path's raw-pointer loops stay in bounds.
fn check(m: usize, a: &GemmInput, w: &PackedGemm, out: &[f32], out_stride: usize) {
    if m == 0 {
        return;
    }
    if w.k > 0 {
        let a_span = (m - 1) * a.row_stride + (w.k - 1) * a.k_stride + 1;
        assert!(
            a.a.len() >= a_span,
            "gemm: A has {} < {a_span} floats",
            a.a.len()
        );
    }
    assert!(
        out.len() >= (m - 1) * out_stride + w.n,
        "gemm: output too short"
    );
    assert_eq!(
        w.data.len(),
        w.n.div_ceil(NR) * PackedGemm::panel_len(w.k),
        "gemm: bad packing"
    );
}

/// `out = act(A · W + bias)`; SIMD128 when compiled in, else [`gemm_scalar`].
pub fn gemm(
    m: usize,
    a: GemmInput,
    w: &PackedGemm,
    out: &mut [f32],
    out_stride: usize,
    act: Activation,
) {
    gemm_scalar(m, a, w, out, out_stride, act);
}

/// Scalar twin of [`gemm`]: one row at a time, an `NR`-wide accumulator per panel.
pub fn gemm_scalar(
    m: usize,
    a: GemmInput,
    w: &PackedGemm,
    out: &mut [f32],
    out_stride: usize,
    act: Activation,
) {
    check(m, &a, w, out, out_stride);
    let (lo, hi) = act.bounds();
    for i in 0..m {
        let arow = &a.a[i * a.row_stride..];
        let orow = &mut out[i * out_stride..];
        for (p, panel) in w.data.chunks_exact(PackedGemm::panel_len(w.k)).enumerate() {
            let mut acc = [0.0f32; NR];
            acc.copy_from_slice(&panel[..NR]);
            for (kk, wrow) in panel[NR..].chunks_exact(NR).enumerate() {
                let av = arow[kk * a.k_stride];
                for (s, &wv) in acc.iter_mut().zip(wrow) {
                    *s += av * wv;
                }
            }
            let j0 = p * NR;
            let nj = (w.n - j0).min(NR);
            for (o, &s) in orow[j0..j0 + nj].iter_mut().zip(&acc) {
                *o = s.max(lo).min(hi);
            }
        }
    }
}
