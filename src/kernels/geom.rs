//! Window geometry shared by the sliding-window kernels (conv, depthwise, pools).

use std::ops::Range;

/// Taps `k0..k1` of a `k`-tap window whose first tap sits at padded coordinate `start` that land
/// inside an input of `n` pixels with `pad` leading padding pixels. Padding never reaches memory.
#[inline]
pub(crate) fn tap_range(start: usize, pad: usize, k: usize, n: usize) -> Range<usize> {
    let lo = pad.saturating_sub(start).min(k);
    let hi = (n + pad).saturating_sub(start).min(k);
    lo..hi.max(lo)
}

/// Output positions `o < out_n` whose whole window lies inside the input: the branch-free interior.
#[cfg_attr(
    not(all(target_arch = "wasm32", target_feature = "simd128")),
    allow(dead_code)
)] // SIMD paths only
#[inline]
pub(crate) fn interior(
    pad: usize,
    k: usize,
    stride: usize,
    n: usize,
    out_n: usize,
) -> Range<usize> {
    let lo = pad.div_ceil(stride);
    let hi = if n + pad >= k {
        ((n + pad - k) / stride + 1).min(out_n)
    } else {
        0
    };
    lo.min(hi)..hi
}

/// Input index of output (`o`) tap `t` along one axis; only valid for `t` in `tap_range`.
#[inline(always)]
pub(crate) fn input_coord(o: usize, stride: usize, t: usize, pad: usize) -> usize {
    o * stride + t - pad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_match_brute_force() {
        for n in 1..9 {
            for k in 1..5 {
                for stride in 1..4 {
                    for pad in 0..4 {
                        let padded = n + 2 * pad;
                        if padded < k {
                            continue;
                        }
                        let out_n = (padded - k) / stride + 1;
                        let inside = |o: usize, t: usize| {
                            let i = (o * stride + t) as isize - pad as isize;
                            i >= 0 && i < n as isize
                        };
                        for o in 0..out_n {
                            let want: Vec<usize> = (0..k).filter(|&t| inside(o, t)).collect();
                            let got: Vec<usize> = tap_range(o * stride, pad, k, n).collect();
                            assert_eq!(got, want, "n={n} k={k} s={stride} p={pad} o={o}");
                            let full = want.len() == k;
                            assert_eq!(interior(pad, k, stride, n, out_n).contains(&o), full);
                        }
                    }
                }
            }
        }
    }
}
