//! Direct dense convolution for few input channels (the 3×3 stride-2 stem from RGB), and the
//! fallback for any ungrouped k×k convolution. Vectorised over output channels: each input value
//! is splatted and multiplied into `CO` output channels at once.

use std::ops::Range;

use super::geom::{input_coord, tap_range};
use super::{Activation, Window};
use crate::tensor::{ChannelView, Shape};

/// Output channels per packed tile: two f32x4 registers.
pub const CO: usize = 8;

/// Dense conv weights packed per tile of `CO` output channels: `CO` biases, then for each
/// `(ky, kx, ci)` in row-major order `CO` weights (the last tile zero-padded).
#[derive(Clone, Debug, PartialEq)]
pub struct PackedConv {
    pub cin: usize,
    pub cout: usize,
    pub kh: usize,
    pub kw: usize,
    data: Vec<f32>,
}

impl PackedConv {
    /// Packs `w_ohwi` (`[cout][kh][kw][cin]`) and an optional bias (zeros when absent).
    /// Panics if the slices are too short (the plan validates shapes first).
    pub fn pack(
        cin: usize,
        cout: usize,
        kh: usize,
        kw: usize,
        w_ohwi: &[f32],
        bias: Option<&[f32]>,
    ) -> PackedConv {
        let taps = kh * kw * cin;
        assert!(
            w_ohwi.len() >= cout * taps,
            "conv weights: {} < {cout}x{kh}x{kw}x{cin}",
            w_ohwi.len()
        );
        let tile = Self::tile_len(taps);
        let mut data = vec![0.0; cout.div_ceil(CO) * tile];
        for (t, dst) in data.chunks_exact_mut(tile).enumerate() {
            let o0 = t * CO;
            let no = (cout - o0).min(CO);
            if let Some(b) = bias {
                dst[..no].copy_from_slice(&b[o0..o0 + no]);
            }
            for (i, row) in dst[CO..].chunks_exact_mut(CO).enumerate() {
                for (j, d) in row[..no].iter_mut().enumerate() {
                    *d = w_ohwi[(o0 + j) * taps + i];
                }
            }
        }
        PackedConv {
            cin,
            cout,
            kh,
            kw,
            data,
        }
    }

    const fn tile_len(taps: usize) -> usize {
        (taps + 1) * CO
    }
}

/// Checks extents once, so the SIMD path's raw-pointer loops stay in bounds; returns the output width.
#[allow(clippy::too_many_arguments)]
fn check(
    input: &[f32],
    s: Shape,
    v: ChannelView,
    win: &Window,
    w: &PackedConv,
    out: &[f32],
    out_pixel_stride: usize,
    rows: &Range<usize>,
) -> usize {
    let (oh, ow) = win
        .output_size(s.h, s.w)
        .expect("conv: window does not fit");
    assert!(
        s.c == w.cin && win.kh == w.kh && win.kw == w.kw,
        "conv: weights do not match"
    );
    assert!(rows.end <= oh, "conv: rows {rows:?} beyond {oh}");
    assert!(
        input.len() >= v.span(s.pixels(), s.c),
        "conv: input too short"
    );
    if !rows.is_empty() && ow > 0 {
        assert!(
            out.len() >= (rows.len() * ow - 1) * out_pixel_stride + w.cout,
            "conv: output too short"
        );
    }
    ow
}

/// Dense convolution of output rows `rows`; SIMD128 when compiled in, else [`conv_scalar`].
#[allow(clippy::too_many_arguments)]
pub fn conv(
    input: &[f32],
    in_shape: Shape,
    in_view: ChannelView,
    win: &Window,
    w: &PackedConv,
    out: &mut [f32],
    out_pixel_stride: usize,
    rows: Range<usize>,
    act: Activation,
) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    simd::conv(
        input,
        in_shape,
        in_view,
        win,
        w,
        out,
        out_pixel_stride,
        rows,
        act,
    );
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    conv_scalar(
        input,
        in_shape,
        in_view,
        win,
        w,
        out,
        out_pixel_stride,
        rows,
        act,
    );
}

/// Scalar twin of [`conv`].
#[allow(clippy::too_many_arguments)]
pub fn conv_scalar(
    input: &[f32],
    in_shape: Shape,
    in_view: ChannelView,
    win: &Window,
    w: &PackedConv,
    out: &mut [f32],
    out_pixel_stride: usize,
    rows: Range<usize>,
    act: Activation,
) {
    let ow = check(
        input,
        in_shape,
        in_view,
        win,
        w,
        out,
        out_pixel_stride,
        &rows,
    );
    let (lo, hi) = act.bounds();
    let tile_len = PackedConv::tile_len(w.kh * w.kw * w.cin);
    for oy in rows.clone() {
        let ty = tap_range(oy * win.stride_h, win.pad.top, win.kh, in_shape.h);
        for ox in 0..ow {
            let tx = tap_range(ox * win.stride_w, win.pad.left, win.kw, in_shape.w);
            let o = ((oy - rows.start) * ow + ox) * out_pixel_stride;
            for (t, wt) in w.data.chunks_exact(tile_len).enumerate() {
                let mut acc = [0.0f32; CO];
                acc.copy_from_slice(&wt[..CO]);
                for ky in ty.clone() {
                    let iy = input_coord(oy, win.stride_h, ky, win.pad.top);
                    for kx in tx.clone() {
                        let ix = input_coord(ox, win.stride_w, kx, win.pad.left);
                        let src = &input
                            [in_view.offset + (iy * in_shape.w + ix) * in_view.pixel_stride..]
                            [..w.cin];
                        let wk = &wt[(1 + (ky * w.kw + kx) * w.cin) * CO..][..w.cin * CO];
                        for (&x, wrow) in src.iter().zip(wk.chunks_exact(CO)) {
                            for (s, &k) in acc.iter_mut().zip(wrow) {
                                *s += x * k;
                            }
                        }
                    }
                }
                let o0 = t * CO;
                let no = (w.cout - o0).min(CO);
                for (d, &s) in out[o + o0..o + o0 + no].iter_mut().zip(&acc) {
                    *d = s.max(lo).min(hi);
                }
            }
        }
    }
}

/// SIMD128 path: per output pixel and tile of 8 output channels, two f32x4 accumulators; each
/// input value under the window is splatted once per tile and multiplied into both. Pairs of
/// neighbouring pixels whose windows are whole horizontally run two tiles at once (8 accumulators).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use std::ops::Range;

    use super::{
        check, input_coord, tap_range, Activation, ChannelView, PackedConv, Shape, Window, CO,
    };
    use core::arch::wasm32::v128;

    use crate::kernels::simd::{bounds, clamp, ld, madd, splat, st8};

    #[allow(clippy::too_many_arguments)]
    pub(super) fn conv(
        input: &[f32],
        s: Shape,
        v: ChannelView,
        win: &Window,
        w: &PackedConv,
        out: &mut [f32],
        out_pixel_stride: usize,
        rows: Range<usize>,
        act: Activation,
    ) {
        let ow = check(input, s, v, win, w, out, out_pixel_stride, &rows);
        let (lo, hi) = bounds(act);
        let tile_len = PackedConv::tile_len(w.kh * w.kw * w.cin);
        let (ip, wp, op) = (input.as_ptr(), w.data.as_ptr(), out.as_mut_ptr());
        let tiles = w.cout.div_ceil(CO);
        let full_x = |ox: usize| tap_range(ox * win.stride_w, win.pad.left, win.kw, s.w).len() == win.kw;
        for oy in rows.clone() {
            let ty = tap_range(oy * win.stride_h, win.pad.top, win.kh, s.h);
            let mut ox = 0;
            while ox < ow {
                let o = op.wrapping_add(((oy - rows.start) * ow + ox) * out_pixel_stride);
                // SAFETY: `check` proved the input holds every in-bounds pixel of the view and the
                // output every pixel of the row block; only in-bounds taps and `cin` channels
                // are read (a pair is only taken when both windows are whole horizontally), and
                // the packed tiles hold `cin * kh * kw` rows of `CO` weights.
                unsafe {
                    if ox + 1 < ow && full_x(ox) && full_x(ox + 1) {
                        // Two pixels × two tiles per step: each weight load serves two pixels and
                        // each splat two tiles, so multiply-adds rather than loads bound the loop.
                        let first = ox * win.stride_w - win.pad.left;
                        let at = |iy: usize, kx: usize| ip.add(v.offset + (iy * s.w + first + kx) * v.pixel_stride);
                        let next = win.stride_w * v.pixel_stride;
                        let o1 = o.add(out_pixel_stride);
                        let mut t = 0;
                        while t < tiles {
                            let two = t + 1 < tiles;
                            let wt = [wp.add(t * tile_len), wp.add((t + two as usize) * tile_len)];
                            let b = [ld(wt[0]), ld(wt[0].add(4)), ld(wt[1]), ld(wt[1].add(4))];
                            let mut acc = [b, b];
                            for ky in ty.clone() {
                                let iy = input_coord(oy, win.stride_h, ky, win.pad.top);
                                let tap = (1 + ky * w.kw * w.cin) * CO;
                                let row = (at(iy, 0), v.pixel_stride, next, wt[0].add(tap), wt[1].add(tap));
                                match (two, w.kw == 3 && w.cin == 3) {
                                    // The RGB stem: 9 taps fully unrolled.
                                    (true, true) => pair_taps::<2, 3, 3>(&mut acc, row, 3, 3),
                                    (false, true) => pair_taps::<1, 3, 3>(&mut acc, row, 3, 3),
                                    (true, false) => pair_taps::<2, 0, 0>(&mut acc, row, w.kw, w.cin),
                                    (false, false) => pair_taps::<1, 0, 0>(&mut acc, row, w.kw, w.cin),
                                }
                            }
                            for (o, a) in [o, o1].into_iter().zip(acc) {
                                st8(o.add(t * CO), clamp(a[0], lo, hi), clamp(a[1], lo, hi), w.cout - t * CO);
                                if two {
                                    let t1 = t + 1;
                                    st8(o.add(t1 * CO), clamp(a[2], lo, hi), clamp(a[3], lo, hi), w.cout - t1 * CO);
                                }
                            }
                            t += 2;
                        }
                        ox += 2;
                        continue;
                    }
                    let tx = tap_range(ox * win.stride_w, win.pad.left, win.kw, s.w);
                    for t in 0..tiles {
                        let wt = wp.add(t * tile_len);
                        let (mut a0, mut a1) = (ld(wt), ld(wt.add(4)));
                        for ky in ty.clone() {
                            let iy = input_coord(oy, win.stride_h, ky, win.pad.top);
                            for kx in tx.clone() {
                                let ix = input_coord(ox, win.stride_w, kx, win.pad.left);
                                let src = ip.add(v.offset + (iy * s.w + ix) * v.pixel_stride);
                                let mut wk = wt.add((1 + (ky * w.kw + kx) * w.cin) * CO);
                                for ci in 0..w.cin {
                                    let x = splat(src.add(ci));
                                    a0 = madd(a0, x, ld(wk));
                                    a1 = madd(a1, x, ld(wk.add(4)));
                                    wk = wk.add(CO);
                                }
                            }
                        }
                        st8(
                            o.add(t * CO),
                            clamp(a0, lo, hi),
                            clamp(a1, lo, hi),
                            w.cout - t * CO,
                        );
                    }
                }
                ox += 1;
            }
        }
    }

    /// One window row of the two-pixel × `T`-tile kernel (`T` = 1 or 2): `kw` taps of `cin`
    /// channels (compile-time `KW`, `CIN` when non-zero, so the loops unroll). `row` is the first pixel's first tap, the
    /// pixel stride, the offset to the second pixel, and the two tiles' weights for this row.
    #[inline(always)]
    unsafe fn pair_taps<const T: usize, const KW: usize, const CIN: usize>(
        acc: &mut [[v128; 4]; 2],
        row: (*const f32, usize, usize, *const f32, *const f32),
        kw: usize,
        cin: usize,
    ) {
        let (src, pixel, next, mut w0, mut w1) = row;
        let kw = if KW > 0 { KW } else { kw };
        let cin = if CIN > 0 { CIN } else { cin };
        for kx in 0..kw {
            let p = src.add(kx * pixel);
            for ci in 0..cin {
                let x = [splat(p.add(ci)), splat(p.add(next + ci))];
                for (a, &x) in acc.iter_mut().zip(&x) {
                    a[0] = madd(a[0], x, ld(w0));
                    a[1] = madd(a[1], x, ld(w0.add(4)));
                    if T == 2 {
                        a[2] = madd(a[2], x, ld(w1));
                        a[3] = madd(a[3], x, ld(w1.add(4)));
                    }
                }
                w0 = w0.add(CO);
                w1 = w1.add(CO);
            }
        }
    }
}
