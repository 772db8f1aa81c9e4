//! Naive reference loops over dense NHWC tensors with weights in their natural layout.
//! They define the semantics: kernel tests compare against them on random shapes and the
//! graph's reference executor runs whole networks with them. Clarity over speed.

use super::{Activation, Window};
use crate::tensor::Shape;

/// Grouped 2-D convolution. `w` is OHWI: `[cout][kh][kw][cin / groups]`; output channel `o`
/// belongs to group `o / (cout / groups)` and reads that group's input channels.
/// Covers 1×1 (grouped) convs, depthwise (`groups == cin == cout`) and the dense stem.
#[allow(clippy::too_many_arguments)]
pub fn conv2d(
    x: &[f32],
    s: Shape,
    w: &[f32],
    bias: Option<&[f32]>,
    cout: usize,
    groups: usize,
    win: &Window,
    act: Activation,
) -> (Vec<f32>, Shape) {
    let (oh, ow) = win.output_size(s.h, s.w).expect("window does not fit");
    let cin_g = s.c / groups;
    let cout_g = cout / groups;
    assert_eq!(w.len(), cout * win.kh * win.kw * cin_g);
    let mut out = vec![0.0; oh * ow * cout];
    for oy in 0..oh {
        for ox in 0..ow {
            for o in 0..cout {
                let g = o / cout_g;
                let mut acc = bias.map_or(0.0, |b| b[o]) as f64;
                for ky in 0..win.kh {
                    let iy = (oy * win.stride_h + ky) as isize - win.pad.top as isize;
                    if iy < 0 || iy >= s.h as isize {
                        continue;
                    }
                    for kx in 0..win.kw {
                        let ix = (ox * win.stride_w + kx) as isize - win.pad.left as isize;
                        if ix < 0 || ix >= s.w as isize {
                            continue;
                        }
                        let px = (iy as usize * s.w + ix as usize) * s.c + g * cin_g;
                        let wk = ((o * win.kh + ky) * win.kw + kx) * cin_g;
                        for i in 0..cin_g {
                            acc += x[px + i] as f64 * w[wk + i] as f64;
                        }
                    }
                }
                out[(oy * ow + ox) * cout + o] = act.apply(acc as f32);
            }
        }
    }
    (out, Shape::new(oh, ow, cout))
}

/// Max pool; padded positions are ignored (as -inf).
pub fn max_pool(x: &[f32], s: Shape, win: &Window) -> (Vec<f32>, Shape) {
    pool(x, s, win, |vals, _| vals.iter().copied().fold(f32::NEG_INFINITY, f32::max))
}

/// Average pool. With `count_include_pad` the divisor is always `kh * kw` (padded zeros count);
/// without, it is the number of real input pixels under the window.
pub fn avg_pool(x: &[f32], s: Shape, win: &Window, count_include_pad: bool) -> (Vec<f32>, Shape) {
    let full = (win.kh * win.kw) as f64;
    pool(x, s, win, |vals, _| {
        let sum: f64 = vals.iter().map(|&v| v as f64).sum();
        let n = if count_include_pad { full } else { vals.len() as f64 };
        (sum / n) as f32
    })
}

fn pool(x: &[f32], s: Shape, win: &Window, f: impl Fn(&[f32], usize) -> f32) -> (Vec<f32>, Shape) {
    let (oh, ow) = win.output_size(s.h, s.w).expect("window does not fit");
    let mut out = vec![0.0; oh * ow * s.c];
    let mut vals = Vec::with_capacity(win.kh * win.kw);
    for oy in 0..oh {
        for ox in 0..ow {
            for ch in 0..s.c {
                vals.clear();
                for ky in 0..win.kh {
                    let iy = (oy * win.stride_h + ky) as isize - win.pad.top as isize;
                    for kx in 0..win.kw {
                        let ix = (ox * win.stride_w + kx) as isize - win.pad.left as isize;
                        if iy >= 0 && iy < s.h as isize && ix >= 0 && ix < s.w as isize {
                            vals.push(x[(iy as usize * s.w + ix as usize) * s.c + ch]);
                        }
                    }
                }
                out[(oy * ow + ox) * s.c + ch] = f(&vals, ch);
            }
        }
    }
    (out, Shape::new(oh, ow, s.c))
}

/// Mean over all pixels of each channel → `c` values.
pub fn global_avg_pool(x: &[f32], s: Shape) -> Vec<f32> {
    (0..s.c)
        .map(|ch| {
            let sum: f64 = (0..s.pixels()).map(|p| x[p * s.c + ch] as f64).sum();
            (sum / s.pixels() as f64) as f32
        })
        .collect()
}

/// Element-wise `act(a + b)`.
pub fn add(a: &[f32], b: &[f32], act: Activation) -> Vec<f32> {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(&x, &y)| act.apply(x + y)).collect()
}

/// Per-channel `act(x * scale + shift)` (an unfolded BatchNorm).
pub fn channel_affine(x: &[f32], c: usize, scale: &[f32], shift: &[f32], act: Activation) -> Vec<f32> {
    x.iter().enumerate().map(|(i, &v)| act.apply(v * scale[i % c] + shift[i % c])).collect()
}

/// Fully connected: `w` is `[out][in]`.
pub fn dense(x: &[f32], w: &[f32], bias: Option<&[f32]>, out: usize, act: Activation) -> Vec<f32> {
    let k = x.len();
    assert_eq!(w.len(), out * k);
    (0..out)
        .map(|o| {
            let acc: f64 = (0..k).map(|i| x[i] as f64 * w[o * k + i] as f64).sum();
            act.apply((acc + bias.map_or(0.0, |b| b[o] as f64)) as f32)
        })
        .collect()
}

/// Channel permutation: `out[.., j] = x[.., perm[j]]`.
pub fn permute_channels(x: &[f32], c: usize, perm: &[usize]) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len() / c * perm.len());
    for px in x.chunks_exact(c) {
        out.extend(perm.iter().map(|&p| px[p]));
    }
    out
}

/// Numerically stable softmax.
pub fn softmax(x: &[f32]) -> Vec<f32> {
    let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let e: Vec<f64> = x.iter().map(|&v| (v as f64 - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|&v| (v / s) as f32).collect()
}
