//! Depthwise convolution (any kernel size, stride and padding; fast paths for 3×3 stride 1 and 2),
//! channels streamed in SIMD tiles of `CT`. Interior pixels run a branch-free loop; only border
//! pixels check which taps fall into the padding.

use std::ops::Range;

use super::geom::{input_coord, tap_range};
use super::{Activation, Window};
use crate::tensor::{ChannelView, Shape};

/// Channels per packed tile: one f32x4.
pub const CT: usize = 4;

/// Depthwise weights packed per channel tile: `CT` biases, then `kh * kw` taps of `CT` weights
/// (row-major over the window; the last tile zero-padded).
#[derive(Clone, Debug, PartialEq)]
pub struct PackedDepthwise {
    pub c: usize,
    pub kh: usize,
    pub kw: usize,
    data: Vec<f32>,
}

impl PackedDepthwise {
    /// Packs `w_hwc` (`[kh][kw][c]`) and an optional bias (zeros when absent).
    /// Panics if the slices are too short (the plan validates shapes first).
    pub fn pack(
        c: usize,
        kh: usize,
        kw: usize,
        w_hwc: &[f32],
        bias: Option<&[f32]>,
    ) -> PackedDepthwise {
        let taps = kh * kw;
        assert!(
            w_hwc.len() >= taps * c,
            "depthwise weights: {} < {kh}x{kw}x{c}",
            w_hwc.len()
        );
        let tile = Self::tile_len(taps);
        let mut data = vec![0.0; c.div_ceil(CT) * tile];
        for (t, dst) in data.chunks_exact_mut(tile).enumerate() {
            let c0 = t * CT;
            let nc = (c - c0).min(CT);
            if let Some(b) = bias {
                dst[..nc].copy_from_slice(&b[c0..c0 + nc]);
            }
            for (tap, row) in dst[CT..].chunks_exact_mut(CT).enumerate() {
                row[..nc].copy_from_slice(&w_hwc[tap * c + c0..tap * c + c0 + nc]);
            }
        }
        PackedDepthwise { c, kh, kw, data }
    }

    const fn tile_len(taps: usize) -> usize {
        (taps + 1) * CT
    }
}

/// Checks extents once, so the SIMD path's raw-pointer loops stay in bounds; returns the output width.
#[allow(clippy::too_many_arguments)]
fn check(
    input: &[f32],
    s: Shape,
    v: ChannelView,
    win: &Window,
    w: &PackedDepthwise,
    out: &[f32],
    out_pixel_stride: usize,
    rows: &Range<usize>,
) -> usize {
    let (oh, ow) = win
        .output_size(s.h, s.w)
        .expect("dwconv: window does not fit");
    assert!(
        s.c == w.c && win.kh == w.kh && win.kw == w.kw,
        "dwconv: weights do not match"
    );
    assert!(rows.end <= oh, "dwconv: rows {rows:?} beyond {oh}");
    assert!(
        input.len() >= v.span(s.pixels(), s.c),
        "dwconv: input too short"
    );
    if !rows.is_empty() && ow > 0 {
        assert!(
            out.len() >= (rows.len() * ow - 1) * out_pixel_stride + s.c,
            "dwconv: output too short"
        );
    }
    ow
}

/// Depthwise convolution of output rows `rows`; SIMD128 when compiled in, else [`dwconv_scalar`].
#[allow(clippy::too_many_arguments)]
pub fn dwconv(
    input: &[f32],
    in_shape: Shape,
    in_view: ChannelView,
    win: &Window,
    w: &PackedDepthwise,
    out: &mut [f32],
    out_pixel_stride: usize,
    rows: Range<usize>,
    act: Activation,
) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    simd::dwconv(
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
    dwconv_scalar(
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

/// Scalar twin of [`dwconv`].
#[allow(clippy::too_many_arguments)]
pub fn dwconv_scalar(
    input: &[f32],
    in_shape: Shape,
    in_view: ChannelView,
    win: &Window,
    w: &PackedDepthwise,
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
    let tiles = 0..w.c.div_ceil(CT);
    for oy in rows.clone() {
        for ox in 0..ow {
            let o = ((oy - rows.start) * ow + ox) * out_pixel_stride;
            let px = Pixel {
                s: in_shape,
                v: in_view,
                win,
                oy,
                ox,
            };
            pixel_scalar(input, &px, w, tiles.clone(), &mut out[o..o + w.c], act);
        }
    }
}

/// One output pixel's position and the input geometry around it.
struct Pixel<'a> {
    s: Shape,
    v: ChannelView,
    win: &'a Window,
    oy: usize,
    ox: usize,
}

impl Pixel<'_> {
    fn taps_y(&self) -> Range<usize> {
        tap_range(
            self.oy * self.win.stride_h,
            self.win.pad.top,
            self.win.kh,
            self.s.h,
        )
    }
    fn taps_x(&self) -> Range<usize> {
        tap_range(
            self.ox * self.win.stride_w,
            self.win.pad.left,
            self.win.kw,
            self.s.w,
        )
    }
    /// Buffer index of channel 0 under tap `(ky, kx)`; the tap must be inside the input.
    fn at(&self, ky: usize, kx: usize) -> usize {
        let iy = input_coord(self.oy, self.win.stride_h, ky, self.win.pad.top);
        let ix = input_coord(self.ox, self.win.stride_w, kx, self.win.pad.left);
        self.v.offset + (iy * self.s.w + ix) * self.v.pixel_stride
    }
}

/// Channel tiles `tiles` of one output pixel over its in-bounds taps; `out` starts at channel 0.
fn pixel_scalar(
    input: &[f32],
    px: &Pixel,
    w: &PackedDepthwise,
    tiles: Range<usize>,
    out: &mut [f32],
    act: Activation,
) {
    let (lo, hi) = act.bounds();
    let tile_len = PackedDepthwise::tile_len(w.kh * w.kw);
    let (ty, tx) = (px.taps_y(), px.taps_x());
    for t in tiles {
        let wt = &w.data[t * tile_len..(t + 1) * tile_len];
        let c0 = t * CT;
        let nc = (w.c - c0).min(CT);
        let mut acc = [0.0f32; CT];
        acc.copy_from_slice(&wt[..CT]);
        for ky in ty.clone() {
            for kx in tx.clone() {
                let src = &input[px.at(ky, kx) + c0..][..nc];
                let wv = &wt[(1 + ky * w.kw + kx) * CT..][..nc];
                for ((s, &x), &k) in acc.iter_mut().zip(src).zip(wv) {
                    *s += x * k;
                }
            }
        }
        for (o, &s) in out[c0..c0 + nc].iter_mut().zip(&acc) {
            *o = s.max(lo).min(hi);
        }
    }
}

/// SIMD128 path: one f32x4 per channel tile. Interior pixels of a row (window fully inside the
/// input) run without bounds logic, unrolled for 3×3; border pixels visit only their in-bounds
/// taps; the last `c % 4` channels go through the scalar twin's pixel routine.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;
    use std::ops::Range;

    use super::{
        check, pixel_scalar, Activation, ChannelView, PackedDepthwise, Pixel, Shape, Window, CT,
    };
    use crate::kernels::geom::interior;
    use crate::kernels::simd::{bounds, clamp, ld, st};

    #[allow(clippy::too_many_arguments)]
    pub(super) fn dwconv(
        input: &[f32],
        s: Shape,
        v: ChannelView,
        win: &Window,
        w: &PackedDepthwise,
        out: &mut [f32],
        out_pixel_stride: usize,
        rows: Range<usize>,
        act: Activation,
    ) {
        let ow = check(input, s, v, win, w, out, out_pixel_stride, &rows);
        let full_tiles = w.c / CT;
        let tail = full_tiles..w.c.div_ceil(CT);
        let ys = interior(win.pad.top, win.kh, win.stride_h, s.h, rows.end);
        let xs = interior(win.pad.left, win.kw, win.stride_w, s.w, ow);
        let k = Taps {
            w: w.data.as_ptr(),
            kw: w.kw,
            tile_len: PackedDepthwise::tile_len(w.kh * w.kw),
            tiles: full_tiles,
            bounds: bounds(act),
        };
        let ip = input.as_ptr();
        let (dx, dy) = (v.pixel_stride, s.w * v.pixel_stride);
        for oy in rows.clone() {
            let inner = if ys.contains(&oy) { xs.clone() } else { 0..0 };
            let row = (oy - rows.start) * ow;
            let px = |ox| Pixel { s, v, win, oy, ox };
            // Re-derived per row: the scalar tail below reborrows `out`.
            let op = out.as_mut_ptr();
            // SAFETY: `check` proved the input holds every in-bounds pixel of the view and the
            // output every pixel of the row block; only in-bounds taps are read (interior pixels
            // have all of them in bounds) and only full channel tiles (`< c`).
            unsafe {
                for ox in (0..inner.start).chain(inner.end..ow) {
                    let px = px(ox);
                    let o = op.add((row + ox) * out_pixel_stride);
                    k.rect(ip, &px, px.taps_y(), px.taps_x(), o);
                }
                for ox in inner.clone() {
                    let px = px(ox);
                    let o = op.add((row + ox) * out_pixel_stride);
                    if w.kh == 3 && w.kw == 3 {
                        k.full3x3(ip.add(px.at(0, 0)), dx, dy, o);
                    } else {
                        k.rect(ip, &px, 0..w.kh, 0..w.kw, o);
                    }
                }
            }
            if !tail.is_empty() {
                for ox in 0..ow {
                    let o = (row + ox) * out_pixel_stride;
                    pixel_scalar(input, &px(ox), w, tail.clone(), &mut out[o..o + w.c], act);
                }
            }
        }
    }

    /// Packed weights and epilogue bounds for the full channel tiles.
    struct Taps {
        w: *const f32,
        kw: usize,
        tile_len: usize,
        tiles: usize,
        bounds: (v128, v128),
    }

    impl Taps {
        /// Taps `ty × tx` (all in bounds) of one output pixel, every full tile.
        #[inline(always)]
        unsafe fn rect(
            &self,
            input: *const f32,
            px: &Pixel,
            ty: Range<usize>,
            tx: Range<usize>,
            out: *mut f32,
        ) {
            for t in 0..self.tiles {
                let (wt, ch) = (self.w.add(t * self.tile_len), t * CT);
                let mut acc = ld(wt);
                for ky in ty.clone() {
                    for kx in tx.clone() {
                        let x = ld(input.add(px.at(ky, kx) + ch));
                        acc =
                            f32x4_add(acc, f32x4_mul(x, ld(wt.add((1 + ky * self.kw + kx) * CT))));
                    }
                }
                st(out.add(ch), clamp(acc, self.bounds.0, self.bounds.1));
            }
        }

        /// A 3×3 window fully inside the input with its top-left tap at `p`; two accumulators
        /// halve the dependency chain of the nine multiply-adds.
        #[inline(always)]
        unsafe fn full3x3(&self, p: *const f32, dx: usize, dy: usize, out: *mut f32) {
            let (r0, r1, r2) = (p, p.add(dy), p.add(2 * dy));
            let mul = |x: *const f32, w: *const f32| f32x4_mul(ld(x), ld(w));
            for t in 0..self.tiles {
                let (wt, ch) = (self.w.add(t * self.tile_len), t * CT);
                let (i0, i1, i2) = (r0.add(ch), r1.add(ch), r2.add(ch));
                let mut a0 = f32x4_add(ld(wt), mul(i0, wt.add(4)));
                let mut a1 = mul(i0.add(dx), wt.add(8));
                a0 = f32x4_add(a0, mul(i0.add(2 * dx), wt.add(12)));
                a1 = f32x4_add(a1, mul(i1, wt.add(16)));
                a0 = f32x4_add(a0, mul(i1.add(dx), wt.add(20)));
                a1 = f32x4_add(a1, mul(i1.add(2 * dx), wt.add(24)));
                a0 = f32x4_add(a0, mul(i2, wt.add(28)));
                a1 = f32x4_add(a1, mul(i2.add(dx), wt.add(32)));
                a0 = f32x4_add(a0, mul(i2.add(2 * dx), wt.add(36)));
                st(
                    out.add(ch),
                    clamp(f32x4_add(a0, a1), self.bounds.0, self.bounds.1),
                );
            }
        }
    }
}
