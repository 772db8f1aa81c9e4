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
