//! Depthwise convolution (any kernel size, stride and padding; an unrolled fast path for 3×3),
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
/// input) run without bounds logic, unrolled for 3×3 and two pixels at a time; border pixels
/// visit only their in-bounds taps. The last `c % 4` channels run as a partial tile when reading
/// 4 floats there stays inside the input buffer (the extra lanes meet zero weights and are not
/// stored), else through the scalar twin's pixel routine.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;
    use std::ops::Range;

    use super::{
        check, pixel_scalar, Activation, ChannelView, PackedDepthwise, Pixel, Shape, Window, CT,
    };
    use crate::kernels::geom::interior;
    use crate::kernels::simd::{bounds, clamp, ld, madd, st, st_partial};

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
        let lanes = w.c % CT;
        // The furthest float a partial tile would read: past channel `c` of the last pixel.
        let overread_ok = s.pixels() > 0 && v.span(s.pixels(), full_tiles * CT + CT) <= input.len();
        let scalar_tail = if lanes > 0 && !overread_ok {
            full_tiles..full_tiles + 1
        } else {
            0..0
        };
        let k = Taps {
            w: w.data.as_ptr(),
            kw: w.kw,
            tile_len: PackedDepthwise::tile_len(w.kh * w.kw),
            tiles: full_tiles,
            tail: if overread_ok { lanes } else { 0 },
            bounds: bounds(act),
        };
        let ys = interior(win.pad.top, win.kh, win.stride_h, s.h, rows.end);
        let xs = interior(win.pad.left, win.kw, win.stride_w, s.w, ow);
        let ip = input.as_ptr();
        let (dx, dy) = (v.pixel_stride, s.w * v.pixel_stride);
        // Buffer offsets of the 3×3 taps from the top-left one, and between neighbouring outputs.
        let offs: [usize; 9] = core::array::from_fn(|t| (t / 3) * dy + (t % 3) * dx);
        let step = win.stride_w * dx;
        for oy in rows.clone() {
            let inner = if ys.contains(&oy) { xs.clone() } else { 0..0 };
            let row = (oy - rows.start) * ow;
            let px = |ox| Pixel { s, v, win, oy, ox };
            // Re-derived per row: the scalar tail below reborrows `out`.
            let op = out.as_mut_ptr();
            let o = |ox: usize| op.wrapping_add((row + ox) * out_pixel_stride);
            // SAFETY: `check` proved the input holds every in-bounds pixel of the view and the
            // output every pixel of the row block; only in-bounds taps are read (interior pixels
            // have all of them in bounds), full tiles stay below channel `c`, a partial tile is
            // only read when `overread_ok` and only its `lanes` channels are stored.
            unsafe {
                for ox in (0..inner.start).chain(inner.end..ow) {
                    let px = px(ox);
                    k.rect(ip, &px, px.taps_y(), px.taps_x(), o(ox));
                }
                if w.kh == 3 && w.kw == 3 {
                    // Runs of four neighbours share input and weight loads (loads bound this
                    // loop), then pairs share weight loads.
                    let mut ox = inner.start;
                    let at = |ox| ip.add(px(ox).at(0, 0));
                    match win.stride_w {
                        1 => {
                            while ox + 4 <= inner.end {
                                k.full3x3_row::<4, 1, 6>(at(ox), dx, dy, [o(ox), o(ox + 1), o(ox + 2), o(ox + 3)]);
                                ox += 4;
                            }
                        }
                        2 => {
                            while ox + 4 <= inner.end {
                                k.full3x3_row::<4, 2, 9>(at(ox), dx, dy, [o(ox), o(ox + 1), o(ox + 2), o(ox + 3)]);
                                ox += 4;
                            }
                        }
                        _ => {}
                    }
                    while ox + 2 <= inner.end {
                        k.full3x3_x2(ip.add(px(ox).at(0, 0)), step, [o(ox), o(ox + 1)], &offs);
                        ox += 2;
                    }
                    if ox < inner.end {
                        k.full3x3(ip.add(px(ox).at(0, 0)), o(ox), &offs);
                    }
                } else {
                    for ox in inner.clone() {
                        k.rect(ip, &px(ox), 0..w.kh, 0..w.kw, o(ox));
                    }
                }
            }
            if !scalar_tail.is_empty() {
                for ox in 0..ow {
                    let o = (row + ox) * out_pixel_stride;
                    pixel_scalar(
                        input,
                        &px(ox),
                        w,
                        scalar_tail.clone(),
                        &mut out[o..o + w.c],
                        act,
                    );
                }
            }
        }
    }

    /// Packed weights and epilogue bounds; `tiles` full channel tiles, then a partial tile of
    /// `tail` lanes when non-zero.
    struct Taps {
        w: *const f32,
        kw: usize,
        tile_len: usize,
        tiles: usize,
        tail: usize,
        bounds: (v128, v128),
    }

    impl Taps {
        /// Runs `f(tile weights, first channel)` for every tile and stores its `N` pixel results
        /// (clamped) at `out[i] + channel`.
        #[inline(always)]
        unsafe fn each_tile<const N: usize>(
            &self,
            out: [*mut f32; N],
            f: impl Fn(*const f32, usize) -> [v128; N],
        ) {
            let (lo, hi) = self.bounds;
            for t in 0..self.tiles {
                let ch = t * CT;
                for (o, v) in out.iter().zip(f(self.w.add(t * self.tile_len), ch)) {
                    st(o.add(ch), clamp(v, lo, hi));
                }
            }
            if self.tail > 0 {
                let ch = self.tiles * CT;
                for (o, v) in out
                    .iter()
                    .zip(f(self.w.add(self.tiles * self.tile_len), ch))
                {
                    st_partial(o.add(ch), clamp(v, lo, hi), self.tail);
                }
            }
        }

        /// Taps `ty × tx` (all in bounds) of one output pixel.
        #[inline(always)]
        unsafe fn rect(
            &self,
            input: *const f32,
            px: &Pixel,
            ty: Range<usize>,
            tx: Range<usize>,
            out: *mut f32,
        ) {
            self.each_tile([out], |wt, ch| {
                let mut acc = ld(wt);
                for ky in ty.clone() {
                    for kx in tx.clone() {
                        let x = ld(input.add(px.at(ky, kx) + ch));
                        acc = madd(acc, x, ld(wt.add((1 + ky * self.kw + kx) * CT)));
                    }
                }
                [acc]
            });
        }

        /// A 3×3 window fully inside the input with its top-left tap at `p`, tap `t` at
        /// `p + offs[t]`; two accumulators halve the dependency chain of the nine multiply-adds.
        #[inline(always)]
        unsafe fn full3x3(&self, p: *const f32, out: *mut f32, offs: &[usize; 9]) {
            self.each_tile([out], |wt, ch| {
                let mut acc = [ld(wt), f32x4_splat(0.0)];
                for (tap, &off) in offs.iter().enumerate() {
                    let x = ld(p.add(off + ch));
                    acc[tap % 2] = madd(acc[tap % 2], x, ld(wt.add((1 + tap) * CT)));
                }
                [f32x4_add(acc[0], acc[1])]
            });
        }

        /// `P` horizontally neighbouring interior pixels `S` input pixels apart (`p` is the first
        /// one's top-left tap, `dx`/`dy` the pixel and row strides in floats). Their windows
        /// overlap, so each of the `COLS = (P - 1) · S + 3` input vectors of a window row is
        /// loaded once for every output it feeds: about half the loads of pixel pairs, which
        /// is what bounds this loop.
        #[inline(always)]
        unsafe fn full3x3_row<const P: usize, const S: usize, const COLS: usize>(
            &self,
            p: *const f32,
            dx: usize,
            dy: usize,
            out: [*mut f32; P],
        ) {
            debug_assert_eq!(COLS, (P - 1) * S + 3);
            self.each_tile(out, |wt, ch| {
                let mut acc = [ld(wt); P];
                for ky in 0..3 {
                    let row = p.add(ky * dy + ch);
                    let x: [v128; COLS] = core::array::from_fn(|c| ld(row.add(c * dx)));
                    for kx in 0..3 {
                        let k = ld(wt.add((1 + ky * 3 + kx) * CT));
                        for (j, a) in acc.iter_mut().enumerate() {
                            *a = madd(*a, x[j * S + kx], k);
                        }
                    }
                }
                acc
            });
        }

        /// Two horizontally neighbouring interior pixels (the second's window `step` floats
        /// after the first's), sharing each weight load.
        #[inline(always)]
        unsafe fn full3x3_x2(
            &self,
            p: *const f32,
            step: usize,
            out: [*mut f32; 2],
            offs: &[usize; 9],
        ) {
            let q = p.add(step);
            self.each_tile(out, |wt, ch| {
                let (mut a, mut b) = (ld(wt), ld(wt));
                for (tap, &off) in offs.iter().enumerate() {
                    let k = ld(wt.add((1 + tap) * CT));
                    a = madd(a, ld(p.add(off + ch)), k);
                    b = madd(b, ld(q.add(off + ch)), k);
                }
                [a, b]
            });
        }
    }
}
