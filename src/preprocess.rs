//! Pixels → the model's input tensor: resize the shorter side to S/0.875 (Pillow-exact bilinear,
//! antialiased when shrinking), centre-crop S×S, colour order, normalisation. NHWC, N = 1.

/// Channel order the model was trained with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorOrder {
    Rgb,
    Bgr,
}

/// Layout of the caller's pixel bytes (canvas and camera frames are RGBA).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelFormat {
    Rgba,
    Rgb,
}

/// How a model wants its input (the catalogue's convention): for a byte `x` of channel `c`
/// (channels in `color` order) the float input is `(x * scale - mean[c]) / std[c]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Preprocessing {
    /// Side S of the square input.
    pub size: usize,
    pub color: ColorOrder,
    pub scale: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}
