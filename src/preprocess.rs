//! Pixels → the model's input tensor: resize the shorter side to S/0.875 (Pillow-exact bilinear,
//! antialiased when shrinking), centre-crop S×S, colour order, normalisation. NHWC, N = 1.
//!
//! The resampler reproduces Pillow's `Image.resize(BILINEAR)` bit for bit (the reference pipeline in
//! `../shared/reference` used it): per axis a triangle filter whose support widens by the scale
//! factor when shrinking, weights in 22-bit fixed point, horizontal pass first into a uint8
//! intermediate, then the vertical pass. Every output pixel depends only on its own taps, so only
//! the S×S crop is computed: memory stays bounded (S × rows × 3 bytes) even for extreme aspect
//! ratios whose full resized image would be gigabytes.

use crate::error::{Error, Result};

/// Largest accepted image side, in pixels.
pub const MAX_SIDE: usize = 16384;
/// Largest accepted image area, in pixels (2^28 = 16384 × 16384).
pub const MAX_PIXELS: usize = 1 << 28;
/// Largest accepted model input side S (the intermediate buffer is S × height × 3 bytes).
pub const MAX_INPUT_SIZE: usize = 1024;

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

impl PixelFormat {
    /// Bytes per pixel.
    pub fn channels(self) -> usize {
        match self {
            PixelFormat::Rgba => 4,
            PixelFormat::Rgb => 3,
        }
    }
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

/// Size of the image after the resize step: the shorter side becomes round(S/0.875), the longer
/// side round(S/0.875 · long/short), both computed exactly in integers (S/0.875 = 8S/7 is never a
/// tie; the longer side rounds half to even). This matches the reference for S = 128, 160, 192
/// and 224: the unrounded 8S/7 is what scales the longer side (cat 512×341 at S=128 → 220×146).
pub fn resized_size(width: usize, height: usize, size: usize) -> (usize, usize) {
    let short_to = (16 * size as u64 + 7) / 14; // round(8S/7)
    let (short, long) = if width <= height { (width, height) } else { (height, width) };
    let num = 8 * size as u64 * long as u64;
    let den = 7 * short as u64;
    let (q, r) = (num / den, num % den);
    let long_to = match (2 * r).cmp(&den) {
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => q + (q & 1),
        std::cmp::Ordering::Less => q,
    };
    let long_to = long_to.max(short_to);
    if width <= height {
        (short_to as usize, long_to as usize)
    } else {
        (long_to as usize, short_to as usize)
    }
}

/// Left and top of the centre crop S×S in the resized image: (W'−S)//2, (H'−S)//2.
pub fn crop_origin(resized_width: usize, resized_height: usize, size: usize) -> (usize, usize) {
    ((resized_width - size) / 2, (resized_height - size) / 2)
}

const PRECISION_BITS: u32 = 22;

/// The fixed-point filter of one axis, for the output indices `first .. first + count` of a
/// resize `n_in → n_out`. Output j reads inputs `start[j] .. start[j] + len[j]` with the weights
/// `weights[j * taps ..]`.
#[derive(Clone, Debug, Default)]
struct AxisFilter {
    taps: usize,
    start: Vec<usize>,
    len: Vec<usize>,
    weights: Vec<i32>,
}

impl AxisFilter {
    /// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` (bilinear), restricted to a window
    /// of outputs; the operation order is kept so the rounded weights are identical.
    fn new(n_in: usize, n_out: usize, first: usize, count: usize) -> Self {
        let scale = n_in as f64 / n_out as f64;
        let filterscale = scale.max(1.0);
        let support = filterscale; // bilinear support is 1.0
        let taps = support.ceil() as usize * 2 + 1;
        let inv = 1.0 / filterscale;
        let mut f = AxisFilter {
            taps,
            start: Vec::with_capacity(count),
            len: Vec::with_capacity(count),
            weights: vec![0; count * taps],
        };
        let mut w = vec![0.0f64; taps];
        for j in 0..count {
            let center = ((first + j) as f64 + 0.5) * scale;
            // `as` truncates toward zero and saturates, like C's (int) for these in-range values.
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(n_in as i64) as usize;
            let n = xmax.saturating_sub(xmin).min(taps);
            let mut total = 0.0;
            for (x, wx) in w[..n].iter_mut().enumerate() {
                let t = (((x + xmin) as f64 - center + 0.5) * inv).abs();
                *wx = if t < 1.0 { 1.0 - t } else { 0.0 };
                total += *wx;
            }
            let k = &mut f.weights[j * taps..j * taps + n];
            for (kx, &wx) in k.iter_mut().zip(&w[..n]) {
                let wx = if total != 0.0 { wx / total } else { wx };
                *kx = (0.5 + wx * (1u32 << PRECISION_BITS) as f64) as i32;
            }
            f.start.push(xmin);
            f.len.push(n);
        }
        f
    }

    /// The input range every output of this filter reads.
    fn input_span(&self) -> (usize, usize) {
        let lo = self.start.iter().copied().min().unwrap_or(0);
        let hi = self.start.iter().zip(&self.len).map(|(s, l)| s + l).max().unwrap_or(0);
        (lo, hi)
    }
}

#[inline]
fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Checks the caller's image and the requested size; returns the number of channels.
fn validate(pixels: &[u8], width: usize, height: usize, format: PixelFormat, size: usize) -> Result<usize> {
    if width == 0 || height == 0 {
        return Err(Error::Input(format!("image is {width}x{height}: both sides must be at least 1")));
    }
    if width > MAX_SIDE || height > MAX_SIDE || width * height > MAX_PIXELS {
        return Err(Error::TooLarge(format!(
            "image is {width}x{height}: the limit is {MAX_SIDE} per side and {MAX_PIXELS} pixels"
        )));
    }
    if size == 0 || size > MAX_INPUT_SIZE {
        return Err(Error::Config(format!("input size {size} is outside 1..={MAX_INPUT_SIZE}")));
    }
    let channels = format.channels();
    let expected = width * height * channels;
    if pixels.len() != expected {
        return Err(Error::Input(format!(
            "{width}x{height} {format:?} needs {expected} bytes, got {}",
            pixels.len()
        )));
    }
    Ok(channels)
}

/// The lookup table byte → float for each of the three channels (in model colour order).
///
/// The reference pipelines write the scale as a division (`x / 255`, `x / 127.5`); when 1/scale is
/// a whole or half number we divide by it too, so the floats match theirs bit for bit.
fn normalization_table(p: &Preprocessing) -> [[f32; 256]; 3] {
    let inv = 1.0 / p.scale as f64;
    let half_steps = (inv * 2.0).round();
    let divide = half_steps > 0.0 && ((inv * 2.0 - half_steps).abs() <= 1e-6 * half_steps);
    let divisor = (half_steps / 2.0) as f32;
    let mut table = [[0.0f32; 256]; 3];
    for (c, row) in table.iter_mut().enumerate() {
        for (x, v) in row.iter_mut().enumerate() {
            let scaled = if divide { x as f32 / divisor } else { x as f32 * p.scale };
            *v = (scaled - p.mean[c]) / p.std[c];
        }
    }
    table
}

/// Normalises S×S×3 bytes (already in the model's colour order) into `out` (NHWC f32).
pub fn normalize_into(bytes: &[u8], p: &Preprocessing, out: &mut [f32]) -> Result<()> {
    normalize_with(&normalization_table(p), bytes, out)
}

fn normalize_with(table: &[[f32; 256]; 3], bytes: &[u8], out: &mut [f32]) -> Result<()> {
    if bytes.len() != out.len() || !bytes.len().is_multiple_of(3) {
        return Err(Error::Input(format!(
            "normalize: {} bytes into {} floats (need equal lengths, a multiple of 3)",
            bytes.len(),
            out.len()
        )));
    }
    for (px, o) in bytes.chunks_exact(3).zip(out.chunks_exact_mut(3)) {
        o[0] = table[0][px[0] as usize];
        o[1] = table[1][px[1] as usize];
        o[2] = table[2][px[2] as usize];
    }
    Ok(())
}

/// Resize + centre crop: S×S×3 bytes in `color` order. RGBA alpha is ignored (as Pillow's
/// `convert("RGB")` drops it). Errors: `Input` for an empty image or a buffer that is not
/// width·height·channels bytes, `TooLarge` beyond [`MAX_SIDE`] / [`MAX_PIXELS`], `Config` for S outside
/// 1..=[`MAX_INPUT_SIZE`].
pub fn resize_crop(
    pixels: &[u8],
    width: usize,
    height: usize,
    format: PixelFormat,
    size: usize,
    color: ColorOrder,
) -> Result<Vec<u8>> {
    Preprocessor::new().resize_crop(pixels, width, height, format, size, color).map(<[u8]>::to_vec)
}

/// Pixels → the model's float input tensor (1×S×S×3, NHWC).
pub fn to_input_tensor(pixels: &[u8], width: usize, height: usize, format: PixelFormat, p: &Preprocessing) -> Result<Vec<f32>> {
    let mut out = vec![0.0; p.size * p.size * 3];
    Preprocessor::new().to_input_tensor(pixels, width, height, format, p, &mut out)?;
    Ok(out)
}

/// Reusable preprocessing state: the filter tables for one (width, height, S) and the buffers.
/// Feeding frames of the same size (a camera) allocates nothing after the first frame.
#[derive(Default)]
pub struct Preprocessor {
    key: Option<(usize, usize, usize)>,
    horizontal: AxisFilter,
    vertical: AxisFilter,
    /// First input row the vertical pass reads.
    row_first: usize,
    /// Horizontal pass result: S columns × the rows the vertical pass reads × 3 (RGB).
    temp: Vec<u8>,
    crop: Vec<u8>,
    /// One output row of vertical-pass accumulators.
    acc: Vec<i32>,
    /// The normalisation lookup table and the settings it was made for.
    table: Option<(Preprocessing, Box<[[f32; 256]; 3]>)>,
}

impl std::fmt::Debug for Preprocessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preprocessor").field("key", &self.key).finish_non_exhaustive()
    }
}

impl Preprocessor {
    pub fn new() -> Self {
        Self::default()
    }

    fn prepare(&mut self, width: usize, height: usize, size: usize) {
        if self.key == Some((width, height, size)) {
            return;
        }
        let (rw, rh) = resized_size(width, height, size);
        let (left, top) = crop_origin(rw, rh, size);
        self.horizontal = AxisFilter::new(width, rw, left, size);
        self.vertical = AxisFilter::new(height, rh, top, size);
        let (first, last) = self.vertical.input_span();
        self.row_first = first;
        self.temp.clear();
        self.temp.resize((last - first) * size * 3, 0);
        self.crop.clear();
        self.crop.resize(size * size * 3, 0);
        self.key = Some((width, height, size));
    }

    /// Resize + centre crop into the internal buffer; returns S×S×3 bytes in `color` order.
    pub fn resize_crop(
        &mut self,
        pixels: &[u8],
        width: usize,
        height: usize,
        format: PixelFormat,
        size: usize,
        color: ColorOrder,
    ) -> Result<&[u8]> {
        let channels = validate(pixels, width, height, format, size)?;
        self.prepare(width, height, size);
        self.horizontal_pass(pixels, width, channels);
        self.vertical_pass(color);
        Ok(&self.crop)
    }

    /// Pixels → the float input tensor, written into `out` (length S·S·3).
    pub fn to_input_tensor(
        &mut self,
        pixels: &[u8],
        width: usize,
        height: usize,
        format: PixelFormat,
        p: &Preprocessing,
        out: &mut [f32],
    ) -> Result<()> {
        let need = p.size.saturating_mul(p.size).saturating_mul(3);
        if out.len() != need {
            return Err(Error::Input(format!("input tensor has {} floats, the model needs {need}", out.len())));
        }
        self.resize_crop(pixels, width, height, format, p.size, p.color)?;
        match &mut self.table {
            Some((key, table)) if key == p => normalize_with(table, &self.crop, out),
            slot => {
                let (_, table) = slot.insert((p.clone(), Box::new(normalization_table(p))));
                normalize_with(table, &self.crop, out)
            }
        }
    }

    /// Input rows `row_first ..` → `temp` (S columns each, RGB).
    fn horizontal_pass(&mut self, pixels: &[u8], width: usize, channels: usize) {
        match channels {
            4 => self.horizontal_pass_n::<4>(pixels, width),
            _ => self.horizontal_pass_n::<3>(pixels, width),
        }
    }

    /// The horizontal pass for `C` bytes per pixel (a constant, so the tap loop compiles tight).
    fn horizontal_pass_n<const C: usize>(&mut self, pixels: &[u8], width: usize) {
        let f = &self.horizontal;
        let size = f.start.len();
        let row_bytes = width * C;
        let half = 1i32 << (PRECISION_BITS - 1);
        for (r, out_row) in self.temp.chunks_exact_mut(size * 3).enumerate() {
            let row = &pixels[(self.row_first + r) * row_bytes..][..row_bytes];
            for (j, out) in out_row.chunks_exact_mut(3).enumerate() {
                let (start, len) = (f.start[j], f.len[j]);
                let k = &f.weights[j * f.taps..][..len];
                let src = &row[start * C..][..len * C];
                let (mut a0, mut a1, mut a2) = (half, half, half);
                for (&kx, px) in k.iter().zip(src.chunks_exact(C)) {
                    a0 += px[0] as i32 * kx;
                    a1 += px[1] as i32 * kx;
                    a2 += px[2] as i32 * kx;
                }
                out[0] = clip8(a0);
                out[1] = clip8(a1);
                out[2] = clip8(a2);
            }
        }
    }

    /// `temp` → the S×S crop, in `color` order. Row at a time so the inner loop runs along the row.
    fn vertical_pass(&mut self, color: ColorOrder) {
        let f = &self.vertical;
        let row_len = f.start.len() * 3;
        let half = 1i32 << (PRECISION_BITS - 1);
        self.acc.resize(row_len, 0);
        for (i, out_row) in self.crop.chunks_exact_mut(row_len).enumerate() {
            let start = f.start[i] - self.row_first;
            let k = &f.weights[i * f.taps..][..f.len[i]];
            self.acc.fill(half);
            for (y, &ky) in k.iter().enumerate() {
                let src = &self.temp[(start + y) * row_len..][..row_len];
                for (a, &v) in self.acc.iter_mut().zip(src) {
                    *a += v as i32 * ky;
                }
            }
            for (out, a) in out_row.chunks_exact_mut(3).zip(self.acc.chunks_exact(3)) {
                let (r, g, b) = (clip8(a[0]), clip8(a[1]), clip8(a[2]));
                out.copy_from_slice(&match color {
                    ColorOrder::Rgb => [r, g, b],
                    ColorOrder::Bgr => [b, g, r],
                });
            }
        }
    }
}
