//! Every kernel against `kernels::naive` (the semantics) and its dispatching entry point against
//! the `*_scalar` twin, on randomised shapes with fixed seeds: odd sizes, channel counts that are
//! not multiples of 4, asymmetric padding, strided input views and outputs, row sub-ranges.
//! Natively the dispatch is the scalar twin; under wasm32 + simd128 (wasm-bindgen-test in Node)
//! it is the SIMD path, so the same tests check both.

use std::ops::Range;

use fastrand::Rng;
use mobilecnn::kernels::conv::{conv, conv_scalar, PackedConv};
use mobilecnn::kernels::dwconv::{dwconv, dwconv_scalar, PackedDepthwise};
use mobilecnn::kernels::elementwise::*;
use mobilecnn::kernels::gemm::{
    gemm, gemm_panels, gemm_panels_residual, gemm_panels_residual_scalar, gemm_panels_scalar, gemm_scalar, GemmInput,
    PackedGemm, Residual, NR,
};
use mobilecnn::kernels::pool::*;
use mobilecnn::kernels::softmax::{softmax, softmax_scalar};
use mobilecnn::kernels::{naive, Activation, Padding, Window};
use mobilecnn::tensor::{ChannelView, Shape};

/// Written nowhere by a correct kernel: every float of an output buffer outside the block keeps it.
const SENTINEL: f32 = 1234.5;
const ACTS: [Activation; 3] = [Activation::None, Activation::Relu, Activation::Relu6];
/// Channel counts around the SIMD tile widths (4 and 8).
const CHANNELS: [usize; 7] = [1, 3, 5, 7, 13, 24, 33];

/// Uniform in [-1.5, 1.5): sums of a few products cross both Relu6 bounds.
fn rand_vec(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.f32() * 3.0 - 1.5).collect()
}

fn rand_act(rng: &mut Rng) -> Activation {
    ACTS[rng.usize(..ACTS.len())]
}

/// A random view of `c` channels inside a wider buffer (sometimes dense).
fn rand_view(rng: &mut Rng, c: usize) -> ChannelView {
    if rng.bool() {
        ChannelView::dense(c)
    } else {
        ChannelView {
            offset: rng.usize(1..4),
            pixel_stride: c + rng.usize(0..4) + 1,
        }
    }
}

/// A dense `pixels × c` tensor placed at `view` in a buffer whose other floats are NaN, so a
/// kernel that reads them produces NaN and fails the comparison. The buffer ends 0..3 floats
/// after the view, so both sides of the kernels' "may a partial tile read past `c`" test run.
fn embed(rng: &mut Rng, dense: &[f32], pixels: usize, c: usize, view: ChannelView) -> Vec<f32> {
    let mut buf = vec![f32::NAN; view.span(pixels, c) + rng.usize(0..4)];
    for p in 0..pixels {
        buf[view.offset + p * view.pixel_stride..][..c].copy_from_slice(&dense[p * c..][..c]);
    }
    buf
}

/// An output buffer for `pixels × c` at pixel stride `stride` (plus slack), filled with SENTINEL.
fn out_buf(pixels: usize, c: usize, stride: usize) -> Vec<f32> {
    vec![
        SENTINEL;
        if pixels == 0 {
            0
        } else {
            (pixels - 1) * stride + c
        } + 5
    ]
}

/// Relative tolerance for sums of up to a few dozen products.
const TOL: f32 = 1e-5;

/// Relative closeness, with an absolute floor of the tolerance near zero.
/// Equal infinities (max pool over an all-padding window) and NaNs (average over no pixel) match.
fn close(got: f32, want: f32, tol: f32) -> bool {
    got == want || (got.is_nan() && want.is_nan()) || (got - want).abs() <= tol * (1.0 + want.abs())
}

/// Tolerance for dot products of length `k`: f32 rounding grows with the length (the naive
/// reference sums in f64), about as its square root for random signs.
fn dot_tol(k: usize) -> f32 {
    TOL * (k as f32 / 8.0).sqrt().max(1.0)
}

/// `got` holds `want` (dense `pixels × c`) at pixel stride `stride` and SENTINEL everywhere else.
fn check_block(what: &str, got: &[f32], stride: usize, want: &[f32], c: usize, tol: f32) {
    let pixels = want.len() / c.max(1);
    for (i, &g) in got.iter().enumerate() {
        let (p, ch) = (i / stride, i % stride);
        if p < pixels && ch < c {
            let w = want[p * c + ch];
            assert!(
                close(g, w, tol),
                "{what}: pixel {p} channel {ch}: got {g}, want {w}"
            );
        } else {
            assert_eq!(g, SENTINEL, "{what}: wrote outside the block at float {i}");
        }
    }
}

/// The SIMD dispatch and the scalar twin agree on every float of their output buffers.
fn check_twins(what: &str, simd: &[f32], scalar: &[f32], tol: f32) {
    assert_eq!(simd.len(), scalar.len());
    for (i, (&a, &b)) in simd.iter().zip(scalar).enumerate() {
        assert!(
            close(a, b, tol),
            "{what}: float {i}: dispatch {a}, scalar {b}"
        );
    }
}

/// A random padding for a `k`-tap window with stride `s` over `n` pixels: none, TFLite SAME
/// (the extra pixel goes after: top 0 bottom 1 for 3×3/2 on even input), symmetric, or arbitrary.
fn rand_pad(rng: &mut Rng, n: usize, k: usize, s: usize) -> (usize, usize) {
    match rng.usize(..4) {
        0 => (0, 0),
        1 => {
            let total = ((n.div_ceil(s) - 1) * s + k).saturating_sub(n);
            (total / 2, total - total / 2)
        }
        2 => (k / 2, k / 2),
        // Up to k + 1: windows entirely inside the padding exist too.
        _ => (rng.usize(0..k + 2), rng.usize(0..k + 2)),
    }
}

fn rand_window(rng: &mut Rng, h: usize, w: usize, kh: usize, kw: usize, s: usize) -> Window {
    let (top, bottom) = rand_pad(rng, h, kh, s);
    let (left, right) = rand_pad(rng, w, kw, s);
    Window {
        kh,
        kw,
        stride_h: s,
        stride_w: s,
        pad: Padding {
            top,
            left,
            bottom,
            right,
        },
    }
}

/// A random non-empty sub-range of `0..n` (the whole range one time in three).
fn rand_rows(rng: &mut Rng, n: usize) -> Range<usize> {
    if rng.usize(..3) == 0 {
        return 0..n;
    }
    let a = rng.usize(0..n);
    a..rng.usize(a + 1..=n)
}

/// Kernel sizes and strides of the sliding-window tests: the 3×3 fast paths and generic shapes.
/// (3×3 twice: it is what the models run.) Strides larger than the kernel leave input unread.
const WINDOWS: [(usize, usize, usize); 10] = [
    (3, 3, 1),
    (3, 3, 2),
    (3, 3, 1),
    (3, 3, 2),
    (5, 5, 1),
    (5, 5, 2),
    (1, 1, 1),
    (2, 3, 2),
    (1, 1, 2),
    (3, 3, 3),
];

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn dwconv_matches_naive_and_scalar() {
    let mut rng = Rng::with_seed(11);
    let mut cases = 0;
    for &c in &CHANNELS {
        for &(kh, kw, s) in &WINDOWS {
            for _ in 0..3 {
                // Up to 21 wide: 3×3 interiors hold runs of four outputs at stride 1 and 2.
                let (h, w) = (rng.usize(1..=13), rng.usize(1..=21));
                let win = rand_window(&mut rng, h, w, kh, kw, s);
                let Some((oh, ow)) = win.output_size(h, w) else {
                    continue;
                };
                let shape = Shape::new(h, w, c);
                let x = rand_vec(&mut rng, shape.len());
                let w_hwc = rand_vec(&mut rng, kh * kw * c);
                let bias = rng.bool().then(|| rand_vec(&mut rng, c));
                let act = rand_act(&mut rng);
                // naive takes OHWI with one input channel per group: [c][kh][kw].
                let w_ohwi: Vec<f32> = (0..c * kh * kw)
                    .map(|i| w_hwc[(i % (kh * kw)) * c + i / (kh * kw)])
                    .collect();
                let (want, _) = naive::conv2d(&x, shape, &w_ohwi, bias.as_deref(), c, c, &win, act);

                let view = rand_view(&mut rng, c);
                let buf = embed(&mut rng, &x, shape.pixels(), c, view);
                let rows = rand_rows(&mut rng, oh);
                let ops = c + rng.usize(0..3);
                let packed = PackedDepthwise::pack(c, kh, kw, &w_hwc, bias.as_deref());
                let what = format!("dwconv c={c} {h}x{w} {win:?} rows={rows:?} {view:?} ops={ops}");
                let mut got = out_buf(rows.len() * ow, c, ops);
                dwconv(
                    &buf,
                    shape,
                    view,
                    &win,
                    &packed,
                    &mut got,
                    ops,
                    rows.clone(),
                    act,
                );
                check_block(
                    &what,
                    &got,
                    ops,
                    &want[rows.start * ow * c..rows.end * ow * c],
                    c,
                    TOL,
                );
                let mut twin = out_buf(rows.len() * ow, c, ops);
                dwconv_scalar(&buf, shape, view, &win, &packed, &mut twin, ops, rows, act);
                check_twins(&what, &got, &twin, TOL);
                cases += 1;
            }
        }
    }
    assert!(cases > 100, "only {cases} cases ran");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn conv_matches_naive_and_scalar() {
    let mut rng = Rng::with_seed(12);
    let mut cases = 0;
    for &cin in &[1, 3, 4, 5] {
        for &cout in &[1, 3, 8, 13, 24, 33] {
            for &(kh, kw, s) in &WINDOWS {
                let (h, w) = (rng.usize(1..=11), rng.usize(1..=11));
                let win = rand_window(&mut rng, h, w, kh, kw, s);
                let Some((oh, ow)) = win.output_size(h, w) else {
                    continue;
                };
                let shape = Shape::new(h, w, cin);
                let x = rand_vec(&mut rng, shape.len());
                let w_ohwi = rand_vec(&mut rng, cout * kh * kw * cin);
                let bias = rng.bool().then(|| rand_vec(&mut rng, cout));
                let act = rand_act(&mut rng);
                let (want, _) =
                    naive::conv2d(&x, shape, &w_ohwi, bias.as_deref(), cout, 1, &win, act);

                let view = rand_view(&mut rng, cin);
                let buf = embed(&mut rng, &x, shape.pixels(), cin, view);
                let rows = rand_rows(&mut rng, oh);
                let ops = cout + rng.usize(0..3);
                let packed = PackedConv::pack(cin, cout, kh, kw, &w_ohwi, bias.as_deref());
                let what =
                    format!("conv {cin}->{cout} {h}x{w} {win:?} rows={rows:?} {view:?} ops={ops}");
                let mut got = out_buf(rows.len() * ow, cout, ops);
                conv(
                    &buf,
                    shape,
                    view,
                    &win,
                    &packed,
                    &mut got,
                    ops,
                    rows.clone(),
                    act,
                );
                check_block(
                    &what,
                    &got,
                    ops,
                    &want[rows.start * ow * cout..rows.end * ow * cout],
                    cout,
                    TOL,
                );
                let mut twin = out_buf(rows.len() * ow, cout, ops);
                conv_scalar(&buf, shape, view, &win, &packed, &mut twin, ops, rows, act);
                check_twins(&what, &got, &twin, TOL);
                cases += 1;
            }
        }
    }
    assert!(cases > 100, "only {cases} cases ran");
}

/// Runs one GEMM case through both entry points; `split` computes rows `..split` and `split..`
/// in two calls on sliced operands, as a threaded executor does.
#[allow(clippy::too_many_arguments)]
fn gemm_case(rng: &mut Rng, m: usize, k: usize, n: usize, k_stride: usize, split: usize) {
    let row_stride = if k == 0 {
        1
    } else {
        (k - 1) * k_stride + 1 + rng.usize(0..3)
    };
    let w_kn = rand_vec(rng, k * n);
    let bias = rng.bool().then(|| rand_vec(rng, n));
    let act = rand_act(rng);
    let rows: Vec<Vec<f32>> = (0..m).map(|_| rand_vec(rng, k)).collect();
    let mut a = vec![f32::NAN; m * row_stride + 2];
    for (i, r) in rows.iter().enumerate() {
        for (kk, &v) in r.iter().enumerate() {
            a[i * row_stride + kk * k_stride] = v;
        }
    }
    let w_nk: Vec<f32> = (0..n * k)
        .map(|i| w_kn[(i % k.max(1)) * n + i / k.max(1)])
        .collect();
    let want: Vec<f32> = rows
        .iter()
        .flat_map(|r| naive::dense(r, &w_nk, bias.as_deref(), n, act))
        .collect();

    let packed = PackedGemm::pack(k, n, &w_kn, bias.as_deref());
    let out_stride = n + rng.usize(0..3);
    let what =
        format!("gemm m={m} k={k} n={n} k_stride={k_stride} row_stride={row_stride} split={split}");
    let mut got = out_buf(m, n, out_stride);
    let (top, bottom) = got.split_at_mut(split * out_stride);
    let input = |r: usize| GemmInput {
        a: &a[r * row_stride..],
        row_stride,
        k_stride,
    };
    gemm(split, input(0), &packed, top, out_stride, act);
    gemm(m - split, input(split), &packed, bottom, out_stride, act);
    check_block(&what, &got, out_stride, &want, n, dot_tol(k));
    let mut twin = out_buf(m, n, out_stride);
    gemm_scalar(m, input(0), &packed, &mut twin, out_stride, act);
    check_twins(&what, &got, &twin, dot_tol(k));
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn gemm_matches_naive_and_scalar() {
    let mut rng = Rng::with_seed(13);
    for &m in &[1, 2, 3, 4, 5, 7, 13] {
        for &k in &[1, 3, 8, 17, 64] {
            for &n in &[1, 3, 8, 9, 16, 17, 33] {
                let k_stride = rng.usize(1..=3);
                let split = rng.usize(0..=m);
                gemm_case(&mut rng, m, k, n, k_stride, split);
            }
        }
    }
}

/// Dense-layer shapes (one row, long K, N = 1000) and a 1×1 conv over many pixels.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn gemm_large_shapes() {
    let mut rng = Rng::with_seed(14);
    gemm_case(&mut rng, 1, 1024, 1000, 1, 1);
    gemm_case(&mut rng, 1, 1280, 1001, 1, 0);
    gemm_case(&mut rng, 49, 160, 960, 1, 20);
    gemm_case(&mut rng, 37, 58, 58, 2, 9);
    // Deeper than 512: the SIMD path loops panels outermost.
    gemm_case(&mut rng, 49, 1024, 44, 1, 13);
    gemm_case(&mut rng, 7, 600, 21, 2, 0);
}

/// Packing from `[n][k]` equals packing the transposed `[k][n]` matrix, partial last panel included.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn gemm_pack_nk_equals_pack_of_transpose() {
    let mut rng = Rng::with_seed(21);
    for &(k, n) in &[(1, 1), (3, 7), (16, 8), (17, 13), (58, 116), (0, 5)] {
        let w_nk = rand_vec(&mut rng, n * k);
        let w_kn: Vec<f32> = (0..k * n).map(|i| w_nk[(i % n) * k + i / n]).collect();
        let bias = rng.bool().then(|| rand_vec(&mut rng, n));
        assert_eq!(PackedGemm::pack_nk(k, n, &w_nk, bias.as_deref()), PackedGemm::pack(k, n, &w_kn, bias.as_deref()), "k {k} n {n}");
    }
}

/// Panel ranges (how threads split one-row GEMMs) write exactly the whole call's columns.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn gemm_panel_ranges_match_whole() {
    let mut rng = Rng::with_seed(15);
    for &(m, k, n) in &[(1, 1280, 1000), (1, 7, 33), (3, 17, 41), (5, 64, 8)] {
        let a = rand_vec(&mut rng, m * k);
        let packed = PackedGemm::pack(k, n, &rand_vec(&mut rng, k * n), Some(&rand_vec(&mut rng, n)));
        let input = GemmInput { a: &a, row_stride: k, k_stride: 1 };
        let mut whole = vec![0.0; m * n];
        gemm(m, input, &packed, &mut whole, n, Activation::Relu);
        let panels = n.div_ceil(NR);
        for cut in [0, 1, panels / 2, panels.saturating_sub(1), panels] {
            let mut parts = vec![SENTINEL; m * n];
            for (range, f) in [(0..cut, 0), (cut..panels, 1)] {
                if range.is_empty() {
                    continue;
                }
                let col = range.start * NR;
                let out = &mut parts[col..];
                if f == 0 {
                    gemm_panels(m, input, &packed, range, out, n, Activation::Relu);
                } else {
                    gemm_panels_scalar(m, input, &packed, range, out, n, Activation::Relu);
                }
            }
            // The scalar and SIMD halves agree with the whole call within rounding.
            check_twins(&format!("gemm panels m={m} k={k} n={n} cut={cut}"), &parts, &whole, dot_tol(k));
        }
    }
}

/// The residual epilogue: `act(A·W + bias + r)` equals the GEMM without activation followed by
/// the element-wise add + activation, bit for bit (the same two roundings), on strided residuals,
/// partial last panels and row splits.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn gemm_residual_equals_gemm_then_add() {
    let mut rng = Rng::with_seed(16);
    for &(m, k, n) in &[(2, 3, 1), (5, 17, 13), (7, 24, 33), (13, 64, 8), (49, 58, 58), (10, 700, 20)] {
        let act = rand_act(&mut rng);
        let a = rand_vec(&mut rng, m * k);
        let packed = PackedGemm::pack(k, n, &rand_vec(&mut rng, k * n), Some(&rand_vec(&mut rng, n)));
        let input = |r: usize| GemmInput { a: &a[r * k..], row_stride: k, k_stride: 1 };
        let res_stride = n + rng.usize(0..3);
        let r = rand_vec(&mut rng, m * res_stride);
        let mut plain = vec![0.0; m * n];
        gemm(m, input(0), &packed, &mut plain, n, Activation::None);
        let mut want = vec![SENTINEL; m * n];
        add(m, n, &plain, n, &r, res_stride, &mut want, n, act);
        let panels = 0..n.div_ceil(NR);
        let split = rng.usize(0..=m);
        let what = format!("gemm residual m={m} k={k} n={n} split={split}");
        let mut got = vec![SENTINEL; m * n];
        let (top, bottom) = got.split_at_mut(split * n);
        let res = |row: usize| Some(Residual { r: &r[row * res_stride..], stride: res_stride });
        gemm_panels_residual(split, input(0), &packed, panels.clone(), top, n, res(0), act);
        gemm_panels_residual(m - split, input(split), &packed, panels.clone(), bottom, n, res(split), act);
        assert_eq!(got, want, "{what}");
        let mut twin = vec![SENTINEL; m * n];
        gemm_panels_residual_scalar(m, input(0), &packed, panels, &mut twin, n, res(0), act);
        check_twins(&what, &got, &twin, dot_tol(k));
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn gemm_without_k_is_bias() {
    let packed = PackedGemm::pack(0, 3, &[], Some(&[1.0, -2.0, 9.0]));
    let mut out = [0.0; 3];
    gemm(
        1,
        GemmInput {
            a: &[],
            row_stride: 0,
            k_stride: 1,
        },
        &packed,
        &mut out,
        3,
        Activation::Relu6,
    );
    assert_eq!(out, [1.0, 0.0, 6.0]);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn pools_match_naive_and_scalar() {
    let mut rng = Rng::with_seed(15);
    let mut cases = 0;
    for &c in &CHANNELS {
        for &(kh, kw, s) in &[(3, 3, 2), (3, 3, 1), (2, 2, 2), (3, 2, 1), (7, 7, 1)] {
            for _ in 0..3 {
                let (h, w) = (rng.usize(1..=12), rng.usize(1..=12));
                let win = rand_window(&mut rng, h, w, kh, kw, s);
                let Some((oh, ow)) = win.output_size(h, w) else {
                    continue;
                };
                let shape = Shape::new(h, w, c);
                let x = rand_vec(&mut rng, shape.len());
                let view = rand_view(&mut rng, c);
                let buf = embed(&mut rng, &x, shape.pixels(), c, view);
                let rows = rand_rows(&mut rng, oh);
                let ops = c + rng.usize(0..3);
                let block = rows.start * ow * c..rows.end * ow * c;
                let what = format!("pool c={c} {h}x{w} {win:?} rows={rows:?} {view:?} ops={ops}");

                let (want, _) = naive::max_pool(&x, shape, &win);
                let mut got = out_buf(rows.len() * ow, c, ops);
                max_pool(&buf, shape, view, &win, &mut got, ops, rows.clone());
                check_block(
                    &format!("max {what}"),
                    &got,
                    ops,
                    &want[block.clone()],
                    c,
                    TOL,
                );
                let mut twin = out_buf(rows.len() * ow, c, ops);
                max_pool_scalar(&buf, shape, view, &win, &mut twin, ops, rows.clone());
                check_twins(&format!("max {what}"), &got, &twin, TOL);

                for include_pad in [false, true] {
                    let what = format!("avg include_pad={include_pad} {what}");
                    let (want, _) = naive::avg_pool(&x, shape, &win, include_pad);
                    let mut got = out_buf(rows.len() * ow, c, ops);
                    avg_pool(
                        &buf,
                        shape,
                        view,
                        &win,
                        include_pad,
                        &mut got,
                        ops,
                        rows.clone(),
                    );
                    check_block(&what, &got, ops, &want[block.clone()], c, TOL);
                    let mut twin = out_buf(rows.len() * ow, c, ops);
                    avg_pool_scalar(
                        &buf,
                        shape,
                        view,
                        &win,
                        include_pad,
                        &mut twin,
                        ops,
                        rows.clone(),
                    );
                    check_twins(&what, &got, &twin, TOL);
                }
                cases += 1;
            }
        }
    }
    assert!(cases > 60, "only {cases} cases ran");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn global_avg_pool_matches_naive_and_scalar() {
    let mut rng = Rng::with_seed(16);
    for &c in CHANNELS.iter().chain(&[1024, 1280]) {
        let shape = Shape::new(rng.usize(1..=8), rng.usize(1..=8), c);
        let x = rand_vec(&mut rng, shape.len());
        let view = rand_view(&mut rng, c);
        let buf = embed(&mut rng, &x, shape.pixels(), c, view);
        let want = naive::global_avg_pool(&x, shape);
        let what = format!("global_avg_pool {shape} {view:?}");
        let mut got = out_buf(1, c, c);
        global_avg_pool(&buf, shape, view, &mut got);
        check_block(&what, &got, c, &want, c, dot_tol(shape.pixels()));
        let mut twin = out_buf(1, c, c);
        global_avg_pool_scalar(&buf, shape, view, &mut twin);
        check_twins(&what, &got, &twin, dot_tol(shape.pixels()));
    }
}

/// Random strides for the element-wise operands: dense (the flattened path) or wider.
fn rand_stride(rng: &mut Rng, c: usize) -> usize {
    c + if rng.bool() { 0 } else { rng.usize(1..4) }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn elementwise_match_naive_and_scalar() {
    let mut rng = Rng::with_seed(17);
    for &c in &CHANNELS {
        for _ in 0..6 {
            let pixels = rng.usize(1..=20);
            let act = rand_act(&mut rng);
            let (x, y) = (
                rand_vec(&mut rng, pixels * c),
                rand_vec(&mut rng, pixels * c),
            );
            let (sx, sy, so) = (
                rand_stride(&mut rng, c),
                rand_stride(&mut rng, c),
                rand_stride(&mut rng, c),
            );
            let bx = embed(
                &mut rng,
                &x,
                pixels,
                c,
                ChannelView {
                    offset: 0,
                    pixel_stride: sx,
                },
            );
            let by = embed(
                &mut rng,
                &y,
                pixels,
                c,
                ChannelView {
                    offset: 0,
                    pixel_stride: sy,
                },
            );
            let what = format!("c={c} pixels={pixels} strides {sx} {sy} {so} {act:?}");

            let want = naive::add(&x, &y, act);
            let mut got = out_buf(pixels, c, so);
            add(pixels, c, &bx, sx, &by, sy, &mut got, so, act);
            check_block(&format!("add {what}"), &got, so, &want, c, TOL);
            let mut twin = out_buf(pixels, c, so);
            add_scalar(pixels, c, &bx, sx, &by, sy, &mut twin, so, act);
            check_twins(&format!("add {what}"), &got, &twin, TOL);

            let (scale, shift) = (rand_vec(&mut rng, c), rand_vec(&mut rng, c));
            let want = naive::channel_affine(&x, c, &scale, &shift, act);
            let mut got = out_buf(pixels, c, so);
            affine(pixels, c, &bx, sx, &scale, &shift, &mut got, so, act);
            check_block(&format!("affine {what}"), &got, so, &want, c, TOL);
            let mut twin = out_buf(pixels, c, so);
            affine_scalar(pixels, c, &bx, sx, &scale, &shift, &mut twin, so, act);
            check_twins(&format!("affine {what}"), &got, &twin, TOL);

            let want: Vec<f32> = x.iter().map(|&v| act.apply(v)).collect();
            let mut got = out_buf(pixels, c, so);
            activation(pixels, c, &bx, sx, &mut got, so, act);
            check_block(&format!("activation {what}"), &got, so, &want, c, TOL);
            let mut twin = out_buf(pixels, c, so);
            activation_scalar(pixels, c, &bx, sx, &mut twin, so, act);
            check_twins(&format!("activation {what}"), &got, &twin, TOL);

            let mut got = out_buf(pixels, c, so);
            copy_channels(pixels, c, &bx, sx, &mut got, so);
            check_block(&format!("copy {what}"), &got, so, &x, c, TOL);
            let mut twin = out_buf(pixels, c, so);
            copy_channels_scalar(pixels, c, &bx, sx, &mut twin, so);
            check_twins(&format!("copy {what}"), &got, &twin, TOL);

            // A random selection with repeats, as a channel shuffle or split reads it.
            let idx: Vec<usize> = (0..rng.usize(1..=2 * c)).map(|_| rng.usize(..c)).collect();
            let want = naive::permute_channels(&x, c, &idx);
            let so = idx.len() + rng.usize(0..3);
            let mut got = out_buf(pixels, idx.len(), so);
            gather_channels(pixels, &bx, sx, &idx, &mut got, so);
            check_block(&format!("gather {what}"), &got, so, &want, idx.len(), TOL);
            let mut twin = out_buf(pixels, idx.len(), so);
            gather_channels_scalar(pixels, &bx, sx, &idx, &mut twin, so);
            check_twins(&format!("gather {what}"), &got, &twin, TOL);
        }
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn softmax_matches_naive_and_is_stable() {
    let mut rng = Rng::with_seed(18);
    for n in [1, 2, 5, 1000, 1001] {
        // Large logits: exp would overflow without subtracting the maximum.
        let x: Vec<f32> = rand_vec(&mut rng, n).iter().map(|v| v * 100.0).collect();
        let want = naive::softmax(&x);
        let (mut got, mut twin) = (x.clone(), x.clone());
        softmax(&mut got);
        softmax_scalar(&mut twin);
        check_block("softmax", &got, n, &want, n, TOL);
        check_twins("softmax", &got, &twin, TOL);
        let sum: f32 = got.iter().sum();
        assert!((sum - 1.0).abs() < 1e-4, "softmax sums to {sum}");
    }
}
