//! Pure compute, no model knowledge. One file per op family; each public kernel has a SIMD128 path
//! (`core::arch::wasm32`, compiled when the target has `simd128`) and a scalar twin (`*_scalar`)
//! used natively and as the reference the SIMD path is tested against. `naive` holds plain
//! index loops over dense tensors: the semantics every kernel and the graph reference obey.
//!
//! Conventions shared by all kernels (NHWC, f32, batch 1):
//! - Inputs are whole buffers addressed through a [`ChannelView`](crate::tensor::ChannelView)
//!   (offset + pixel stride), so channel slices of wider buffers are read in place.
//! - Outputs are slices that **start at the first element written** (the first pixel of the first
//!   row computed, at the view's channel offset) with an explicit pixel stride. Callers split an
//!   output into disjoint row blocks this way (threads) and write into channel slices (concat).
//! - Shapes are validated by the caller (the plan); kernels only `debug_assert!`.

pub mod activation;
pub mod conv;
pub mod dwconv;
pub mod elementwise;
pub mod gemm;
mod geom;
pub mod naive;
pub mod pool;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd;
pub mod softmax;

pub use activation::Activation;

/// Padding in pixels on each side of the input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Padding {
    pub top: usize,
    pub left: usize,
    pub bottom: usize,
    pub right: usize,
}

impl Padding {
    pub const fn uniform(p: usize) -> Self {
        Padding { top: p, left: p, bottom: p, right: p }
    }
}

/// Sliding-window geometry shared by convolutions and pools.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    pub kh: usize,
    pub kw: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub pad: Padding,
}

impl Window {
    pub const fn square(k: usize, stride: usize, pad: usize) -> Self {
        Window { kh: k, kw: k, stride_h: stride, stride_w: stride, pad: Padding::uniform(pad) }
    }

    /// Output height and width for an `h × w` input, or `None` when the window does not fit
    /// (zero stride/kernel, or a kernel larger than the padded input).
    pub fn output_size(&self, h: usize, w: usize) -> Option<(usize, usize)> {
        if self.kh == 0 || self.kw == 0 || self.stride_h == 0 || self.stride_w == 0 {
            return None;
        }
        let ph = h.checked_add(self.pad.top)?.checked_add(self.pad.bottom)?;
        let pw = w.checked_add(self.pad.left)?.checked_add(self.pad.right)?;
        if ph < self.kh || pw < self.kw {
            return None;
        }
        Some(((ph - self.kh) / self.stride_h + 1, (pw - self.kw) / self.stride_w + 1))
    }
}
