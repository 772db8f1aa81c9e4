//! 1×1 convolution and dense layers as GEMM over pre-packed weight panels, with a fused
//! bias + activation epilogue.
//!
//! `out[i * out_stride + j] = act(bias[j] + Σ_kk A(i, kk) · W[kk][j])` for `i < m`, `j < n`,
//! where `A(i, kk) = a[i * a_row_stride + kk * a_k_stride]`. A grouped 1×1 conv is one call per
//! group (each group has its own `PackedGemm`, and `a`/`out` slices start at the group's channels);
//! a folded channel shuffle shows up as `a_k_stride > 1`. Rows are independent, so a caller splits
//! work by slicing `a` and `out` at a row boundary and passing a smaller `m`; a one-row call (a
//! dense layer) splits by weight panels instead, with [`gemm_panels`].

use std::ops::Range;

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
        assert!(w_kn.len() >= k * n, "gemm weights: {} < {k}x{n}", w_kn.len());
        Self::pack_panels(k, n, bias, |rows, j0, nj| {
            for (kk, row) in rows.chunks_exact_mut(NR).enumerate() {
                row[..nj].copy_from_slice(&w_kn[kk * n + j0..kk * n + j0 + nj]);
            }
        })
    }

    /// Like [`PackedGemm::pack`], from `w_nk` (`[n][k]` row-major: a conv's `[out][in]` or a dense
    /// layer's weights) without a transposed copy: each output channel's `k` weights are read in
    /// order and scattered into its panel column. Model loading spends most of its time packing.
    pub fn pack_nk(k: usize, n: usize, w_nk: &[f32], bias: Option<&[f32]>) -> PackedGemm {
        assert!(w_nk.len() >= k * n, "gemm weights: {} < {n}x{k}", w_nk.len());
        Self::pack_panels(k, n, bias, |rows, j0, nj| {
            for j in 0..nj {
                let column = rows.iter_mut().skip(j).step_by(NR);
                for (d, &v) in column.zip(&w_nk[(j0 + j) * k..(j0 + j + 1) * k]) {
                    *d = v;
                }
            }
        })
    }

    /// Zeroed panels with their biases; `fill(rows, j0, nj)` writes a panel's `k` rows of `NR`
    /// weights for output channels `j0 .. j0 + nj`.
    fn pack_panels(k: usize, n: usize, bias: Option<&[f32]>, fill: impl Fn(&mut [f32], usize, usize)) -> PackedGemm {
        let panel = Self::panel_len(k);
        let mut data = vec![0.0; n.div_ceil(NR) * panel];
        for (p, dst) in data.chunks_exact_mut(panel).enumerate() {
            let j0 = p * NR;
            let nj = (n - j0).min(NR);
            if let Some(b) = bias {
                dst[..nj].copy_from_slice(&b[j0..j0 + nj]);
            }
            fill(&mut dst[NR..], j0, nj);
        }
        PackedGemm { k, n, data }
    }

    /// Floats per panel: `NR` biases + `k` rows of `NR` weights.
    #[inline]
    pub const fn panel_len(k: usize) -> usize {
        (k + 1) * NR
    }
}

/// A residual added in the epilogue, before the activation: `out = act(A·W + bias + r)`. It has
/// the output's layout (row `i`, column `j` at `r[i * stride + j]`) and saves the separate pass
/// an element-wise add would make over the activation (MobileNet V2 projection + add).
#[derive(Clone, Copy, Debug)]
pub struct Residual<'a> {
    pub r: &'a [f32],
    pub stride: usize,
}

/// Checks the operand extents once, so the SIMD path's raw-pointer loops stay in bounds.
fn check(m: usize, a: &GemmInput, w: &PackedGemm, panels: &Range<usize>, out: &[f32], out_stride: usize) {
    assert_eq!(
        w.data.len(),
        w.n.div_ceil(NR) * PackedGemm::panel_len(w.k),
        "gemm: bad packing"
    );
    assert!(panels.start <= panels.end && panels.end <= w.n.div_ceil(NR), "gemm: panels {panels:?} beyond {}", w.n);
    if m == 0 || panels.is_empty() {
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
    let cols = (panels.end * NR).min(w.n) - panels.start * NR;
    assert!(
        out.len() >= (m - 1) * out_stride + cols,
        "gemm: output too short"
    );
}

fn check_residual(m: usize, w: &PackedGemm, panels: &Range<usize>, res: Option<Residual>) {
    if let Some(res) = res.filter(|_| m > 0 && !panels.is_empty()) {
        let cols = (panels.end * NR).min(w.n) - panels.start * NR;
        assert!(res.r.len() >= (m - 1) * res.stride + cols, "gemm: residual too short");
    }
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
    gemm_panels(m, a, w, 0..w.n.div_ceil(NR), out, out_stride, act)
}

/// [`gemm`] restricted to weight panels `panels` (output columns `panels.start * NR ..`, at
/// most `n`); `out` starts at the first of those columns. Threads split one-row calls this way.
pub fn gemm_panels(
    m: usize,
    a: GemmInput,
    w: &PackedGemm,
    panels: Range<usize>,
    out: &mut [f32],
    out_stride: usize,
    act: Activation,
) {
    gemm_panels_residual(m, a, w, panels, out, out_stride, None, act)
}

/// [`gemm_panels`] with an optional residual added before the activation (see [`Residual`]);
/// `res` starts at the same row and column as `out`.
#[allow(clippy::too_many_arguments)]
pub fn gemm_panels_residual(
    m: usize,
    a: GemmInput,
    w: &PackedGemm,
    panels: Range<usize>,
    out: &mut [f32],
    out_stride: usize,
    res: Option<Residual>,
    act: Activation,
) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    simd::gemm(m, a, w, panels, out, out_stride, res, act);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    gemm_panels_residual_scalar(m, a, w, panels, out, out_stride, res, act);
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
    gemm_panels_scalar(m, a, w, 0..w.n.div_ceil(NR), out, out_stride, act)
}

/// Scalar twin of [`gemm_panels`].
pub fn gemm_panels_scalar(
    m: usize,
    a: GemmInput,
    w: &PackedGemm,
    panels: Range<usize>,
    out: &mut [f32],
    out_stride: usize,
    act: Activation,
) {
    gemm_panels_residual_scalar(m, a, w, panels, out, out_stride, None, act)
}

/// Scalar twin of [`gemm_panels_residual`].
#[allow(clippy::too_many_arguments)]
pub fn gemm_panels_residual_scalar(
    m: usize,
    a: GemmInput,
    w: &PackedGemm,
    panels: Range<usize>,
    out: &mut [f32],
    out_stride: usize,
    res: Option<Residual>,
    act: Activation,
) {
    check(m, &a, w, &panels, out, out_stride);
    check_residual(m, w, &panels, res);
    let (lo, hi) = act.bounds();
    let panel_len = PackedGemm::panel_len(w.k);
    for i in 0..m {
        let arow = &a.a[i * a.row_stride..];
        let orow = &mut out[i * out_stride..];
        for p in panels.clone() {
            let panel = &w.data[p * panel_len..(p + 1) * panel_len];
            let mut acc = [0.0f32; NR];
            acc.copy_from_slice(&panel[..NR]);
            for (kk, wrow) in panel[NR..].chunks_exact(NR).enumerate() {
                let av = arow[kk * a.k_stride];
                for (s, &wv) in acc.iter_mut().zip(wrow) {
                    *s += av * wv;
                }
            }
            let j0 = (p - panels.start) * NR;
            let nj = (w.n - p * NR).min(NR);
            if let Some(res) = res {
                for (s, &r) in acc.iter_mut().zip(&res.r[i * res.stride + j0..i * res.stride + j0 + nj]) {
                    *s += r;
                }
            }
            for (o, &s) in orow[j0..j0 + nj].iter_mut().zip(&acc) {
                *o = s.max(lo).min(hi);
            }
        }
    }
}

/// SIMD128 path: a 4×8 register-blocked micro-kernel (A values splatted, one weight panel row
/// loaded as two f32x4 per step) and, for one-row calls (dense layers), four panels at once.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;
    use std::ops::Range;

    use super::{check, check_residual, Activation, GemmInput, PackedGemm, Residual, NR};
    use crate::kernels::simd::{bounds, clamp, ld, madd, splat, st8};

    /// Rows per micro-kernel call: 4 rows × 2 vectors = 8 accumulators, which with the two weight
    /// vectors and the splatted A value fits the 16 vector registers of x86-64 (V8's target).
    const MR: usize = 4;
    /// Panels a one-row call keeps in flight: 8 independent accumulators hide the add latency
    /// that a single 1×8 panel (two dependency chains) would expose.
    const DENSE_PANELS: usize = 4;
    /// Depth above which panels are the outer loop (see `gemm`).
    const PANEL_OUTER_K: usize = 512;

    /// Operand geometry shared by the micro-kernels.
    struct Geo {
        k: usize,
        n: usize,
        row_stride: usize,
        k_stride: usize,
        out_stride: usize,
        /// The panel `out` starts at.
        p0: usize,
        /// Row stride of the residual (its pointer, null when absent, is passed per row block).
        res_stride: usize,
        lo: v128,
        hi: v128,
    }

    pub(super) fn gemm(
        m: usize,
        a: GemmInput,
        w: &PackedGemm,
        panels: Range<usize>,
        out: &mut [f32],
        out_stride: usize,
        res: Option<Residual>,
        act: Activation,
    ) {
        check(m, &a, w, &panels, out, out_stride);
        check_residual(m, w, &panels, res);
        if m == 0 || panels.is_empty() {
            return;
        }
        let (lo, hi) = bounds(act);
        let g = Geo {
            k: w.k,
            n: w.n,
            row_stride: a.row_stride,
            k_stride: a.k_stride,
            out_stride,
            p0: panels.start,
            res_stride: res.map_or(0, |r| r.stride),
            lo,
            hi,
        };
        let (ap, wp, op) = (a.a.as_ptr(), w.data.as_ptr(), out.as_mut_ptr());
        let rp = res.map_or(std::ptr::null(), |r| r.r.as_ptr());
        // SAFETY: `check` proved every A element, packed panel and output element addressed
        // below is inside its slice; pointers that may point past the end (A when k = 0, the
        // tail rows when m % 4 = 0) are formed with wrapping arithmetic and never dereferenced.
        unsafe {
            if m == 1 && rp.is_null() {
                dense(ap, wp, op, &g, panels);
                return;
            }
            // Panels outermost when a panel and a row block would not share L1 (deep layers:
            // a 1024-deep panel is 32 KB): each panel is then read once and the rows stream past
            // it. Otherwise row blocks outermost, each block's A reused across all panels.
            let blocks = m / MR;
            let width = if g.k > PANEL_OUTER_K { 1 } else { panels.len() };
            for first in panels.clone().step_by(width) {
                let group = first..(first + width).min(panels.end);
                for b in 0..blocks {
                    let i = b * MR;
                    rows::<MR>(
                        ap.wrapping_add(i * g.row_stride),
                        wp,
                        op.add(i * out_stride),
                        rp.wrapping_add(i * g.res_stride),
                        &g,
                        group.clone(),
                    );
                }
            }
            let i = blocks * MR;
            let (ap, op, rp) = (
                ap.wrapping_add(i * g.row_stride),
                op.wrapping_add(i * out_stride),
                rp.wrapping_add(i * g.res_stride),
            );
            match m - i {
                1 => rows::<1>(ap, wp, op, rp, &g, panels),
                2 => rows::<2>(ap, wp, op, rp, &g, panels),
                3 => rows::<3>(ap, wp, op, rp, &g, panels),
                _ => {}
            }
        }
    }

    /// `R` rows × the given weight panels; `a`, `out` and `res` (null: no residual) point at the
    /// first row.
    #[inline(always)]
    unsafe fn rows<const R: usize>(
        a: *const f32,
        w: *const f32,
        out: *mut f32,
        res: *const f32,
        g: &Geo,
        panels: Range<usize>,
    ) {
        let panel_len = PackedGemm::panel_len(g.k);
        for p in panels {
            let wp = w.add(p * panel_len);
            let mut acc = [[ld(wp), ld(wp.add(4))]; R];
            let mut ar = [a; R];
            for (r, ptr) in ar.iter_mut().enumerate() {
                *ptr = a.wrapping_add(r * g.row_stride);
            }
            let mut wk = wp.add(NR);
            for _ in 0..g.k {
                let (w0, w1) = (ld(wk), ld(wk.add(4)));
                for r in 0..R {
                    let av = splat(ar[r]);
                    acc[r][0] = madd(acc[r][0], av, w0);
                    acc[r][1] = madd(acc[r][1], av, w1);
                    ar[r] = ar[r].wrapping_add(g.k_stride);
                }
                wk = wk.add(NR);
            }
            let nj = (g.n - p * NR).min(NR);
            for (r, [mut v0, mut v1]) in acc.into_iter().enumerate() {
                if !res.is_null() {
                    let rr = res.add(r * g.res_stride + (p - g.p0) * NR);
                    if nj == NR {
                        v0 = f32x4_add(v0, ld(rr));
                        v1 = f32x4_add(v1, ld(rr.add(4)));
                    } else {
                        // The last panel's residual row may end before 8 floats.
                        let mut t = [0.0f32; NR];
                        for (j, tj) in t.iter_mut().enumerate().take(nj) {
                            *tj = *rr.add(j);
                        }
                        v0 = f32x4_add(v0, ld(t.as_ptr()));
                        v1 = f32x4_add(v1, ld(t.as_ptr().add(4)));
                    }
                }
                let o = out.add(r * g.out_stride + (p - g.p0) * NR);
                st8(o, clamp(v0, g.lo, g.hi), clamp(v1, g.lo, g.hi), nj);
            }
        }
    }

    /// One row against `DENSE_PANELS` panels at a time (then the leftover panels one by one).
    #[inline(always)]
    unsafe fn dense(a: *const f32, w: *const f32, out: *mut f32, g: &Geo, panels: Range<usize>) {
        let panel_len = PackedGemm::panel_len(g.k);
        let mut p = panels.start;
        while p + DENSE_PANELS <= panels.end {
            let mut wq = [w; DENSE_PANELS];
            let mut acc = [[f32x4_splat(0.0); 2]; DENSE_PANELS];
            for q in 0..DENSE_PANELS {
                wq[q] = w.add((p + q) * panel_len);
                acc[q] = [ld(wq[q]), ld(wq[q].add(4))];
                wq[q] = wq[q].add(NR);
            }
            let mut ak = a;
            for _ in 0..g.k {
                let av = splat(ak);
                for q in 0..DENSE_PANELS {
                    acc[q][0] = madd(acc[q][0], av, ld(wq[q]));
                    acc[q][1] = madd(acc[q][1], av, ld(wq[q].add(4)));
                    wq[q] = wq[q].add(NR);
                }
                ak = ak.wrapping_add(g.k_stride);
            }
            for (q, [v0, v1]) in acc.into_iter().enumerate() {
                let j0 = (p + q) * NR;
                st8(
                    out.add(j0 - g.p0 * NR),
                    clamp(v0, g.lo, g.hi),
                    clamp(v1, g.lo, g.hi),
                    (g.n - j0).min(NR),
                );
            }
            p += DENSE_PANELS;
        }
        rows::<1>(a, w, out, std::ptr::null(), g, p..panels.end);
    }
}
