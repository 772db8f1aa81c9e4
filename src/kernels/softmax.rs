//! Softmax over a vector. It runs once per image on ~1000 logits, so there is no SIMD path.

/// In-place, numerically stable softmax (the maximum is subtracted before `exp`).
pub fn softmax(x: &mut [f32]) {
    softmax_scalar(x);
}

/// Scalar twin of [`softmax`] (the same code).
pub fn softmax_scalar(x: &mut [f32]) {
    let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f64;
    for v in x.iter_mut() {
        *v = (*v - m).exp();
        sum += *v as f64;
    }
    let inv = (1.0 / sum) as f32;
    for v in x.iter_mut() {
        *v *= inv;
    }
}
