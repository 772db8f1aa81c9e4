//! Element-wise add (+activation), per-channel affine (+activation), activation, and channel
//! copy/gather. Operands are `pixels × c` blocks: each slice starts at its first element and
//! consecutive pixels are a pixel stride apart, so channel slices of wider buffers work in place.

use super::Activation;

/// Floats a `pixels × c` block with pixel stride `stride` spans.
fn span(pixels: usize, c: usize, stride: usize) -> usize {
    if pixels == 0 || c == 0 {
        0
    } else {
        (pixels - 1) * stride + c
    }
}

/// Asserts that each `(slice, stride)` operand holds a `pixels × c` block (one check per call,
/// so the SIMD path's raw-pointer loops stay in bounds). Stride 0 means the same `c` values for
/// every pixel (per-channel parameters).
fn check(op: &str, pixels: usize, c: usize, operands: &[(usize, usize)]) {
    for &(len, stride) in operands {
        assert!(
            len >= span(pixels, c, stride),
            "{op}: operand of {len} floats < {pixels}x{c} (stride {stride})"
        );
    }
}

/// When every operand is dense the block is one long row: `(pixels, c)` becomes `(1, pixels * c)`.
fn flatten(pixels: usize, c: usize, strides: &[usize]) -> (usize, usize) {
    if strides.iter().all(|&s| s == c) {
        (1.min(pixels), pixels * c)
    } else {
        (pixels, c)
    }
}

/// `out = act(a + b)`; SIMD128 when compiled in, else [`add_scalar`].
#[allow(clippy::too_many_arguments)]
pub fn add(
    pixels: usize,
    c: usize,
    a: &[f32],
    a_stride: usize,
    b: &[f32],
    b_stride: usize,
    out: &mut [f32],
    out_stride: usize,
    act: Activation,
) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    simd::add(pixels, c, a, a_stride, b, b_stride, out, out_stride, act);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    add_scalar(pixels, c, a, a_stride, b, b_stride, out, out_stride, act);
}

/// Scalar twin of [`add`].
#[allow(clippy::too_many_arguments)]
pub fn add_scalar(
    pixels: usize,
    c: usize,
    a: &[f32],
    a_stride: usize,
    b: &[f32],
    b_stride: usize,
    out: &mut [f32],
    out_stride: usize,
    act: Activation,
) {
    check(
        "add",
        pixels,
        c,
        &[
            (a.len(), a_stride),
            (b.len(), b_stride),
            (out.len(), out_stride),
        ],
    );
    let (pixels, c) = flatten(pixels, c, &[a_stride, b_stride, out_stride]);
    let (lo, hi) = act.bounds();
    for p in 0..pixels {
        let (x, y) = (&a[p * a_stride..][..c], &b[p * b_stride..][..c]);
        for ((o, &u), &v) in out[p * out_stride..][..c].iter_mut().zip(x).zip(y) {
            *o = (u + v).max(lo).min(hi);
        }
    }
}

/// `out[.., ch] = act(x[.., ch] * scale[ch] + shift[ch])`; SIMD128 when compiled in.
#[allow(clippy::too_many_arguments)]
pub fn affine(
    pixels: usize,
    c: usize,
    x: &[f32],
    x_stride: usize,
    scale: &[f32],
    shift: &[f32],
    out: &mut [f32],
    out_stride: usize,
    act: Activation,
) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    simd::affine(pixels, c, x, x_stride, scale, shift, out, out_stride, act);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    affine_scalar(pixels, c, x, x_stride, scale, shift, out, out_stride, act);
}

/// Scalar twin of [`affine`].
#[allow(clippy::too_many_arguments)]
pub fn affine_scalar(
    pixels: usize,
    c: usize,
    x: &[f32],
    x_stride: usize,
    scale: &[f32],
    shift: &[f32],
    out: &mut [f32],
    out_stride: usize,
    act: Activation,
) {
    check(
        "affine",
        pixels,
        c,
        &[
            (x.len(), x_stride),
            (out.len(), out_stride),
            (scale.len(), 0),
            (shift.len(), 0),
        ],
    );
    let (lo, hi) = act.bounds();
    let (scale, shift) = (&scale[..c], &shift[..c]);
    for p in 0..pixels {
        let src = &x[p * x_stride..][..c];
        for (((o, &v), &k), &d) in out[p * out_stride..][..c]
            .iter_mut()
            .zip(src)
            .zip(scale)
            .zip(shift)
        {
            *o = (v * k + d).max(lo).min(hi);
        }
    }
}

/// `out = act(x)`; SIMD128 when compiled in, else [`activation_scalar`].
pub fn activation(
    pixels: usize,
    c: usize,
    x: &[f32],
    x_stride: usize,
    out: &mut [f32],
    out_stride: usize,
    act: Activation,
) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    simd::activation(pixels, c, x, x_stride, out, out_stride, act);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    activation_scalar(pixels, c, x, x_stride, out, out_stride, act);
}

/// Scalar twin of [`activation`].
pub fn activation_scalar(
    pixels: usize,
    c: usize,
    x: &[f32],
    x_stride: usize,
    out: &mut [f32],
    out_stride: usize,
    act: Activation,
) {
    check(
        "activation",
        pixels,
        c,
        &[(x.len(), x_stride), (out.len(), out_stride)],
    );
    let (pixels, c) = flatten(pixels, c, &[x_stride, out_stride]);
    let (lo, hi) = act.bounds();
    for p in 0..pixels {
        for (o, &v) in out[p * out_stride..][..c]
            .iter_mut()
            .zip(&x[p * x_stride..][..c])
        {
            *o = v.max(lo).min(hi);
        }
    }
}

/// Copies `c` channels per pixel between strided blocks (a concat's part, a split's slice).
/// Plain `memcpy` per pixel (one call when both sides are dense) is already the vector path.
pub fn copy_channels(
    pixels: usize,
    c: usize,
    src: &[f32],
    src_stride: usize,
    dst: &mut [f32],
    dst_stride: usize,
) {
    copy_channels_scalar(pixels, c, src, src_stride, dst, dst_stride);
}

/// Scalar twin of [`copy_channels`] (the same code: see there).
pub fn copy_channels_scalar(
    pixels: usize,
    c: usize,
    src: &[f32],
    src_stride: usize,
    dst: &mut [f32],
    dst_stride: usize,
) {
    let (pixels, c) = flatten(pixels, c, &[src_stride, dst_stride]);
    for p in 0..pixels {
        dst[p * dst_stride..][..c].copy_from_slice(&src[p * src_stride..][..c]);
    }
}

/// `dst[p * dst_stride + j] = src[p * src_stride + idx[j]]`: a channel permutation or selection.
/// Indices are arbitrary, so there is no vector path (wasm has no gather).
pub fn gather_channels(
    pixels: usize,
    src: &[f32],
    src_stride: usize,
    idx: &[usize],
    dst: &mut [f32],
    dst_stride: usize,
) {
    gather_channels_scalar(pixels, src, src_stride, idx, dst, dst_stride);
}

/// Scalar twin of [`gather_channels`] (the same code: see there).
pub fn gather_channels_scalar(
    pixels: usize,
    src: &[f32],
    src_stride: usize,
    idx: &[usize],
    dst: &mut [f32],
    dst_stride: usize,
) {
    for p in 0..pixels {
        let s = &src[p * src_stride..];
        for (d, &i) in dst[p * dst_stride..][..idx.len()].iter_mut().zip(idx) {
            *d = s[i];
        }
    }
}

/// SIMD128 path: f32x4 along channels, the last `c % 4` channels in scalar.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;

    use super::{check, flatten, Activation};
    use crate::kernels::simd::{bounds, clamp, ld, st};

    /// Writes channels `0..c` of one pixel: `vf(j)` for each full tile `j..j + 4`, `sf(j)` for
    /// the tail. `vf` may load 4 floats at `j` from operands holding `c` floats.
    #[inline(always)]
    fn pixel(c: usize, out: &mut [f32], vf: impl Fn(usize) -> v128, sf: impl Fn(usize) -> f32) {
        let out = &mut out[..c];
        let full = c - c % 4;
        let op = out.as_mut_ptr();
        for j in (0..full).step_by(4) {
            // SAFETY: `j + 4 <= c == out.len()`.
            unsafe { st(op.add(j), vf(j)) };
        }
        for (j, o) in out.iter_mut().enumerate().skip(full) {
            *o = sf(j);
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn add(
        pixels: usize,
        c: usize,
        a: &[f32],
        a_stride: usize,
        b: &[f32],
        b_stride: usize,
        out: &mut [f32],
        out_stride: usize,
        act: Activation,
    ) {
        check(
            "add",
            pixels,
            c,
            &[
                (a.len(), a_stride),
                (b.len(), b_stride),
                (out.len(), out_stride),
            ],
        );
        let (pixels, c) = flatten(pixels, c, &[a_stride, b_stride, out_stride]);
        let ((lo, hi), (slo, shi)) = (bounds(act), act.bounds());
        for p in 0..pixels {
            let (x, y) = (&a[p * a_stride..][..c], &b[p * b_stride..][..c]);
            let (xp, yp) = (x.as_ptr(), y.as_ptr());
            // SAFETY (loads): `x` and `y` hold `c` floats, `pixel` passes `j + 4 <= c`.
            let vf = |j| unsafe { clamp(f32x4_add(ld(xp.add(j)), ld(yp.add(j))), lo, hi) };
            pixel(c, &mut out[p * out_stride..], vf, |j| {
                (x[j] + y[j]).max(slo).min(shi)
            });
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn affine(
        pixels: usize,
        c: usize,
        x: &[f32],
        x_stride: usize,
        scale: &[f32],
        shift: &[f32],
        out: &mut [f32],
        out_stride: usize,
        act: Activation,
    ) {
        check(
            "affine",
            pixels,
            c,
            &[
                (x.len(), x_stride),
                (out.len(), out_stride),
                (scale.len(), 0),
                (shift.len(), 0),
            ],
        );
        let ((lo, hi), (slo, shi)) = (bounds(act), act.bounds());
        let (k, d) = (&scale[..c], &shift[..c]);
        let (kp, dp) = (k.as_ptr(), d.as_ptr());
        for p in 0..pixels {
            let v = &x[p * x_stride..][..c];
            let vp = v.as_ptr();
            // SAFETY (loads): `v`, `k` and `d` hold `c` floats, `pixel` passes `j + 4 <= c`.
            let vf = |j| unsafe {
                clamp(
                    f32x4_add(f32x4_mul(ld(vp.add(j)), ld(kp.add(j))), ld(dp.add(j))),
                    lo,
                    hi,
                )
            };
            pixel(c, &mut out[p * out_stride..], vf, |j| {
                (v[j] * k[j] + d[j]).max(slo).min(shi)
            });
        }
    }

    pub(super) fn activation(
        pixels: usize,
        c: usize,
        x: &[f32],
        x_stride: usize,
        out: &mut [f32],
        out_stride: usize,
        act: Activation,
    ) {
        check(
            "activation",
            pixels,
            c,
            &[(x.len(), x_stride), (out.len(), out_stride)],
        );
        let (pixels, c) = flatten(pixels, c, &[x_stride, out_stride]);
        let ((lo, hi), (slo, shi)) = (bounds(act), act.bounds());
        for p in 0..pixels {
            let v = &x[p * x_stride..][..c];
            let vp = v.as_ptr();
            // SAFETY (loads): `v` holds `c` floats, `pixel` passes `j + 4 <= c`.
            let vf = |j| unsafe { clamp(ld(vp.add(j)), lo, hi) };
            pixel(c, &mut out[p * out_stride..], vf, |j| {
                v[j].max(slo).min(shi)
            });
        }
    }
}
