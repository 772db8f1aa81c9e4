//! Small SIMD128 helpers shared by the kernels' wasm paths.

use core::arch::wasm32::*;

/// Unaligned load of 4 floats; the caller guarantees `p..p+4` is in bounds.
#[inline(always)]
pub(crate) unsafe fn ld(p: *const f32) -> v128 {
    v128_load(p as *const v128)
}

/// Unaligned store of 4 floats; the caller guarantees `p..p+4` is in bounds.
#[inline(always)]
pub(crate) unsafe fn st(p: *mut f32, v: v128) {
    v128_store(p as *mut v128, v)
}

/// Clamp to `[lo, hi]` with the pseudo-min/max, which map to single x86/ARM instructions
/// (IEEE min/max need NaN fix-ups in V8); bounds of ±inf make it the identity.
#[inline(always)]
pub(crate) fn clamp(v: v128, lo: v128, hi: v128) -> v128 {
    f32x4_pmin(f32x4_pmax(v, lo), hi)
}

/// Store the first `n <= 4` lanes of `v` at `p`.
#[inline(always)]
pub(crate) unsafe fn st_partial(p: *mut f32, v: v128, n: usize) {
    let mut tmp = [0.0f32; 4];
    st(tmp.as_mut_ptr(), v);
    core::ptr::copy_nonoverlapping(tmp.as_ptr(), p, n);
}

/// Store the first `n <= 8` lanes of `v0 ‖ v1` at `p` (an 8-wide output tile, maybe partial).
#[inline(always)]
pub(crate) unsafe fn st8(p: *mut f32, v0: v128, v1: v128, n: usize) {
    if n >= 8 {
        st(p, v0);
        st(p.add(4), v1);
    } else if n >= 4 {
        st(p, v0);
        st_partial(p.add(4), v1, n - 4);
    } else {
        st_partial(p, v0, n);
    }
}

/// Splat-load one float (works for any address, hence any A stride in GEMM).
#[inline(always)]
pub(crate) unsafe fn splat(p: *const f32) -> v128 {
    v128_load32_splat(p as *const u32)
}

/// Activation bounds as splatted vectors.
#[inline(always)]
pub(crate) fn bounds(act: super::Activation) -> (v128, v128) {
    let (lo, hi) = act.bounds();
    (f32x4_splat(lo), f32x4_splat(hi))
}

/// `acc + a · b`. With the `relaxed-simd` target feature (the optional relaxed build) one fused
/// multiply-add, whose single rounding may differ from the separate multiply and add in the last
/// bit — which relaxed SIMD allows; otherwise a multiply then an add.
#[inline(always)]
pub(crate) fn madd(acc: v128, a: v128, b: v128) -> v128 {
    #[cfg(target_feature = "relaxed-simd")]
    return f32x4_relaxed_madd(a, b, acc);
    #[cfg(not(target_feature = "relaxed-simd"))]
    f32x4_add(acc, f32x4_mul(a, b))
}
