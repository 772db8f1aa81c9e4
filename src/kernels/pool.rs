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

/// The in-bounds window of output pixel `(oy, ox)`: input rows and columns.
fn window(s: Shape, win: &Window, oy: usize, ox: usize) -> (Range<usize>, Range<usize>) {
    let ty = tap_range(oy * win.stride_h, win.pad.top, win.kh, s.h);
    let tx = tap_range(ox * win.stride_w, win.pad.left, win.kw, s.w);
    let iy = |t| input_coord(oy, win.stride_h, t, win.pad.top);
    let ix = |t| input_coord(ox, win.stride_w, t, win.pad.left);
    if ty.is_empty() || tx.is_empty() {
        return (0..0, 0..0);
    }
    (
        iy(ty.start)..iy(ty.end - 1) + 1,
        ix(tx.start)..ix(tx.end - 1) + 1,
    )
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
    for oy in rows.clone() {
        for ox in 0..ow {
            let o = ((oy - rows.start) * ow + ox) * out_pixel_stride;
            let dst = &mut out[o..o + c];
            dst.fill(f32::NEG_INFINITY);
            let (ys, xs) = window(in_shape, win, oy, ox);
            for iy in ys {
                for ix in xs.clone() {
                    let src = &input
                        [in_view.offset + (iy * in_shape.w + ix) * in_view.pixel_stride..][..c];
                    for (d, &x) in dst.iter_mut().zip(src) {
                        *d = d.max(x);
                    }
                }
            }
        }
    }
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
    for oy in rows.clone() {
        for ox in 0..ow {
            let o = ((oy - rows.start) * ow + ox) * out_pixel_stride;
            let dst = &mut out[o..o + c];
            dst.fill(0.0);
            let (ys, xs) = window(in_shape, win, oy, ox);
            let scale = 1.0 / divisor(win, count_include_pad, &ys, &xs);
            for iy in ys {
                for ix in xs.clone() {
                    let src = &input
                        [in_view.offset + (iy * in_shape.w + ix) * in_view.pixel_stride..][..c];
                    for (d, &x) in dst.iter_mut().zip(src) {
                        *d += x;
                    }
                }
            }
            for d in dst {
                *d *= scale;
            }
        }
    }
}

fn divisor(win: &Window, count_include_pad: bool, ys: &Range<usize>, xs: &Range<usize>) -> f32 {
    if count_include_pad {
        (win.kh * win.kw) as f32
    } else {
        (ys.len() * xs.len()) as f32
    }
}

/// Mean over all pixels of each channel → `out[..c]`. SIMD128 when compiled in.
pub fn global_avg_pool(input: &[f32], in_shape: Shape, in_view: ChannelView, out: &mut [f32]) {
    global_avg_pool_scalar(input, in_shape, in_view, out);
}

/// Scalar twin of [`global_avg_pool`]: sums pixel by pixel into `out`, then scales.
pub fn global_avg_pool_scalar(
    input: &[f32],
    in_shape: Shape,
    in_view: ChannelView,
    out: &mut [f32],
) {
    let c = in_shape.c;
    assert!(
        input.len() >= in_view.span(in_shape.pixels(), c) && out.len() >= c,
        "global_avg_pool: buffer too short"
    );
    let dst = &mut out[..c];
    dst.fill(0.0);
    for p in 0..in_shape.pixels() {
        let src = &input[in_view.offset + p * in_view.pixel_stride..][..c];
        for (d, &x) in dst.iter_mut().zip(src) {
            *d += x;
        }
    }
    let scale = 1.0 / in_shape.pixels() as f32;
    for d in dst {
        *d *= scale;
    }
}
