//! Max pool, average pool (optionally counting padded zeros), global average pool.
//! Padding never reaches memory: each output pixel visits only the in-bounds part of its window.

use std::ops::Range;

use super::geom::{input_coord, tap_range};
use super::Window;
use crate::tensor::{ChannelView, Shape};

/// Checks extents once, so the SIMD path's raw-pointer loops stay in bounds; returns the output width.
fn check(
    input: &[f32],
    s: Shape,
    v: ChannelView,
    win: &Window,
    out: &[f32],
    ops: usize,
    rows: &Range<usize>,
) -> usize {
    let (oh, ow) = win
        .output_size(s.h, s.w)
        .expect("pool: window does not fit");
    assert!(rows.end <= oh, "pool: rows {rows:?} beyond {oh}");
    assert!(
        input.len() >= v.span(s.pixels(), s.c),
        "pool: input too short"
    );
    if !rows.is_empty() && ow > 0 {
        assert!(
            out.len() >= (rows.len() * ow - 1) * ops + s.c,
            "pool: output too short"
        );
    }
    ow
}

/// The in-bounds part of one pooling window: `h × w` input pixels, the first at buffer index
/// `base`, rows `stride_y` and pixels `stride_x` floats apart.
struct Win {
    h: usize,
    w: usize,
    stride_y: usize,
    stride_x: usize,
    base: usize,
}

impl Win {
    /// Buffer indices of channel 0 of every pixel in the window.
    fn pixels(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.h).flat_map(move |y| {
            (0..self.w).map(move |x| self.base + y * self.stride_y + x * self.stride_x)
        })
    }

    /// `1 / divisor` of an average: the full window with `count_include_pad`, else the in-bounds pixels.
    fn scale(&self, win: &Window, count_include_pad: bool) -> f32 {
        let n = if count_include_pad {
            win.kh * win.kw
        } else {
            self.h * self.w
        };
        1.0 / n as f32
    }
}

/// Calls `f(window, out_index)` for every output pixel of `rows` (output width `ow`), with the
/// pixel's in-bounds window and the index of its channel 0 in the output block.
fn for_each_pixel(
    s: Shape,
    v: ChannelView,
    win: &Window,
    ow: usize,
    ops: usize,
    rows: Range<usize>,
    mut f: impl FnMut(&Win, usize),
) {
    let (stride_y, stride_x) = (s.w * v.pixel_stride, v.pixel_stride);
    for oy in rows.clone() {
        let ty = tap_range(oy * win.stride_h, win.pad.top, win.kh, s.h);
        for ox in 0..ow {
            let tx = tap_range(ox * win.stride_w, win.pad.left, win.kw, s.w);
            // A window entirely in the padding (possible when padding >= kernel) reads nothing.
            let w = if ty.is_empty() || tx.is_empty() {
                Win {
                    h: 0,
                    w: 0,
                    stride_y,
                    stride_x,
                    base: 0,
                }
            } else {
                let y0 = input_coord(oy, win.stride_h, ty.start, win.pad.top);
                let x0 = input_coord(ox, win.stride_w, tx.start, win.pad.left);
                let base = v.offset + (y0 * s.w + x0) * v.pixel_stride;
                Win {
                    h: ty.len(),
                    w: tx.len(),
                    stride_y,
                    stride_x,
                    base,
                }
            };
            f(&w, ((oy - rows.start) * ow + ox) * ops);
        }
    }
}

/// Channels `chs` of one max-pooled pixel; `dst` starts at channel 0.
fn max_pixel(input: &[f32], w: &Win, chs: Range<usize>, dst: &mut [f32]) {
    let dst = &mut dst[chs.clone()];
    dst.fill(f32::NEG_INFINITY);
    for p in w.pixels() {
        for (d, &x) in dst.iter_mut().zip(&input[p + chs.start..p + chs.end]) {
            *d = d.max(x);
        }
    }
}

/// Channels `chs` of one average-pooled pixel (sum times `scale`); `dst` starts at channel 0.
fn avg_pixel(input: &[f32], w: &Win, chs: Range<usize>, scale: f32, dst: &mut [f32]) {
    let dst = &mut dst[chs.clone()];
    dst.fill(0.0);
    for p in w.pixels() {
        for (d, &x) in dst.iter_mut().zip(&input[p + chs.start..p + chs.end]) {
            *d += x;
        }
    }
    for d in dst {
        *d *= scale;
    }
}

/// Max pool of output rows `rows` (padded positions ignored); SIMD128 when compiled in.
pub fn max_pool(
    input: &[f32],
    in_shape: Shape,
    in_view: ChannelView,
    win: &Window,
    out: &mut [f32],
    out_pixel_stride: usize,
    rows: Range<usize>,
) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    simd::max_pool(input, in_shape, in_view, win, out, out_pixel_stride, rows);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    max_pool_scalar(input, in_shape, in_view, win, out, out_pixel_stride, rows);
}

/// Scalar twin of [`max_pool`].
pub fn max_pool_scalar(
    input: &[f32],
    in_shape: Shape,
    in_view: ChannelView,
    win: &Window,
    out: &mut [f32],
    out_pixel_stride: usize,
    rows: Range<usize>,
) {
    let ow = check(input, in_shape, in_view, win, out, out_pixel_stride, &rows);
    let c = in_shape.c;
    for_each_pixel(
        in_shape,
        in_view,
        win,
        ow,
        out_pixel_stride,
        rows,
        |w, o| max_pixel(input, w, 0..c, &mut out[o..o + c]),
    );
}

/// Average pool of output rows `rows`: the divisor is `kh * kw` with `count_include_pad`, else
/// the number of in-bounds pixels. SIMD128 when compiled in.
#[allow(clippy::too_many_arguments)]
pub fn avg_pool(
    input: &[f32],
    in_shape: Shape,
    in_view: ChannelView,
    win: &Window,
    count_include_pad: bool,
    out: &mut [f32],
    out_pixel_stride: usize,
    rows: Range<usize>,
) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    simd::avg_pool(
        input,
        in_shape,
        in_view,
        win,
        count_include_pad,
        out,
        out_pixel_stride,
        rows,
    );
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    avg_pool_scalar(
        input,
        in_shape,
        in_view,
        win,
        count_include_pad,
        out,
        out_pixel_stride,
        rows,
    );
}

/// Scalar twin of [`avg_pool`].
#[allow(clippy::too_many_arguments)]
pub fn avg_pool_scalar(
    input: &[f32],
    in_shape: Shape,
    in_view: ChannelView,
    win: &Window,
    count_include_pad: bool,
    out: &mut [f32],
    out_pixel_stride: usize,
    rows: Range<usize>,
) {
    let ow = check(input, in_shape, in_view, win, out, out_pixel_stride, &rows);
    let c = in_shape.c;
    for_each_pixel(
        in_shape,
        in_view,
        win,
        ow,
        out_pixel_stride,
        rows,
        |w, o| {
            avg_pixel(
                input,
                w,
                0..c,
                w.scale(win, count_include_pad),
                &mut out[o..o + c],
            )
        },
    );
}

/// Mean over all pixels of each channel → `out[..c]`. SIMD128 when compiled in.
pub fn global_avg_pool(input: &[f32], in_shape: Shape, in_view: ChannelView, out: &mut [f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    simd::global_avg_pool(input, in_shape, in_view, out);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    global_avg_pool_scalar(input, in_shape, in_view, out);
}

/// The whole input as one window (for the global pool).
fn global_window(input: &[f32], s: Shape, v: ChannelView, out: &[f32]) -> Win {
    assert!(
        input.len() >= v.span(s.pixels(), s.c) && out.len() >= s.c,
        "global_avg_pool: buffer too short"
    );
    Win {
        h: 1,
        w: s.pixels(),
        stride_y: 0,
        stride_x: v.pixel_stride,
        base: v.offset,
    }
}

/// Scalar twin of [`global_avg_pool`].
pub fn global_avg_pool_scalar(
    input: &[f32],
    in_shape: Shape,
    in_view: ChannelView,
    out: &mut [f32],
) {
    let w = global_window(input, in_shape, in_view, out);
    avg_pixel(
        input,
        &w,
        0..in_shape.c,
        1.0 / in_shape.pixels() as f32,
        out,
    );
}

/// SIMD128 path: f32x4 along channels (max via `pmax`, which maps to one x86 instruction),
/// the last `c % 4` channels through the scalar pixel routines.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;
    use std::ops::Range;

    use super::{
        avg_pixel, check, for_each_pixel, global_window, max_pixel, ChannelView, Shape, Win, Window,
    };
    use crate::kernels::simd::{ld, st};

    /// Full channel tiles of one pixel: `acc = fold(init, x)` over the window, then `finish`.
    /// SAFETY: the caller checked that `input` holds the window's pixels and `dst` `tiles * 4` floats.
    #[inline(always)]
    unsafe fn tiles(
        input: &[f32],
        w: &Win,
        tiles: usize,
        dst: &mut [f32],
        init: v128,
        fold: impl Fn(v128, v128) -> v128,
        finish: impl Fn(v128) -> v128,
    ) {
        let (ip, op) = (input.as_ptr(), dst.as_mut_ptr());
        if w.h == 3 && w.w == 3 {
            // The common 3×3 window as a tree: nine independent loads, depth-4 reduction instead
            // of a chain of nine dependent ops.
            for t in 0..tiles {
                let p = ip.add(w.base + 4 * t);
                let x: [v128; 9] = core::array::from_fn(|i| ld(p.add((i / 3) * w.stride_y + (i % 3) * w.stride_x)));
                let a = fold(fold(x[0], x[1]), fold(x[2], x[3]));
                let b = fold(fold(x[4], x[5]), fold(x[6], x[7]));
                st(op.add(4 * t), finish(fold(init, fold(fold(a, b), x[8]))));
            }
            return;
        }
        for t in 0..tiles {
            let mut acc = init;
            for y in 0..w.h {
                let row = ip.add(w.base + y * w.stride_y + 4 * t);
                for x in 0..w.w {
                    acc = fold(acc, ld(row.add(x * w.stride_x)));
                }
            }
            st(op.add(4 * t), finish(acc));
        }
    }

    pub(super) fn max_pool(
        input: &[f32],
        s: Shape,
        v: ChannelView,
        win: &Window,
        out: &mut [f32],
        ops: usize,
        rows: Range<usize>,
    ) {
        let ow = check(input, s, v, win, out, ops, &rows);
        let (c, full) = (s.c, s.c / 4);
        for_each_pixel(s, v, win, ow, ops, rows, |w, o| {
            let dst = &mut out[o..o + c];
            // SAFETY: `check` bounds the window's pixels; `dst` holds `c >= 4 * full` floats.
            unsafe {
                tiles(
                    input,
                    w,
                    full,
                    dst,
                    f32x4_splat(f32::NEG_INFINITY),
                    |a, x| f32x4_pmax(a, x),
                    |a| a,
                )
            };
            max_pixel(input, w, 4 * full..c, dst);
        });
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn avg_pool(
        input: &[f32],
        s: Shape,
        v: ChannelView,
        win: &Window,
        count_include_pad: bool,
        out: &mut [f32],
        ops: usize,
        rows: Range<usize>,
    ) {
        let ow = check(input, s, v, win, out, ops, &rows);
        let (c, full) = (s.c, s.c / 4);
        for_each_pixel(s, v, win, ow, ops, rows, |w, o| {
            let dst = &mut out[o..o + c];
            let scale = w.scale(win, count_include_pad);
            let vs = f32x4_splat(scale);
            // SAFETY: as in `max_pool`.
            unsafe {
                tiles(
                    input,
                    w,
                    full,
                    dst,
                    f32x4_splat(0.0),
                    |a, x| f32x4_add(a, x),
                    |a| f32x4_mul(a, vs),
                )
            };
            avg_pixel(input, w, 4 * full..c, scale, dst);
        });
    }

    pub(super) fn global_avg_pool(input: &[f32], s: Shape, v: ChannelView, out: &mut [f32]) {
        let w = global_window(input, s, v, out);
        let (c, full) = (s.c, s.c / 4);
        let scale = 1.0 / s.pixels() as f32;
        let vs = f32x4_splat(scale);
        // SAFETY: `global_window` checked the input span and that `out` holds `c` floats.
        unsafe {
            tiles(
                input,
                &w,
                full,
                out,
                f32x4_splat(0.0),
                |a, x| f32x4_add(a, x),
                |a| f32x4_mul(a, vs),
            )
        };
        avg_pixel(input, &w, 4 * full..c, scale, out);
    }
}
