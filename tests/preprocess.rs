//! Preprocessing against the reference pipeline's exact bytes (`../shared/reference/<model>/*.input.bin`),
//! against a naive float version of the same resampling formula, and on hostile sizes.
#![cfg(not(target_arch = "wasm32"))]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mobilecnn::preprocess::{
    crop_origin, normalize_into, resize_crop, resized_size, to_input_tensor, ColorOrder, PixelFormat, Preprocessing,
    Preprocessor, MAX_SIDE,
};
use mobilecnn::Error;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// `../shared` next to the checkout (or next to the folder of git worktrees), or `$MOBILECNN_SHARED`.
fn shared() -> PathBuf {
    if let Ok(dir) = std::env::var("MOBILECNN_SHARED") {
        return dir.into();
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    [root.join("../shared"), root.join("../../shared")]
        .into_iter()
        .find(|p| p.join("reference").is_dir())
        .expect("the reference data: ../shared/reference (or set MOBILECNN_SHARED)")
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// The catalogue's preprocessing of every model, by id.
fn catalogue() -> Vec<(String, Preprocessing)> {
    let cat = json(&Path::new(env!("CARGO_MANIFEST_DIR")).join("catalogue/models.json"));
    let f = |v: &Value| v.as_f64().unwrap() as f32;
    let three = |v: &Value| [f(&v[0]), f(&v[1]), f(&v[2])];
    cat["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let p = &m["preprocessing"];
            let color = match p["color_order"].as_str().unwrap() {
                "RGB" => ColorOrder::Rgb,
                "BGR" => ColorOrder::Bgr,
                other => panic!("colour order {other}"),
            };
            let pre = Preprocessing {
                size: m["input_size"].as_u64().unwrap() as usize,
                color,
                scale: f(&p["input_scale"]),
                mean: three(&p["mean"]),
                std: three(&p["std"]),
            };
            (m["id"].as_str().unwrap().to_string(), pre)
        })
        .collect()
}

/// A photo decoded to 8-bit RGB as the reference did (no EXIF rotation, alpha dropped).
fn decode(path: &Path) -> (Vec<u8>, usize, usize) {
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).to_rgb8();
    let (w, h) = img.dimensions();
    (img.into_raw(), w as usize, h as usize)
}

/// (model id, preprocessing, photo name, photo file, reference input.bin) for every reference photo.
fn reference_cases() -> Vec<(String, Preprocessing, String, PathBuf, Vec<u8>)> {
    let shared = shared();
    let mut cases = Vec::new();
    let models = catalogue();
    assert_eq!(models.len(), 10, "the catalogue lists the ten reference models");
    for (id, pre) in models {
        let manifest = json(&shared.join("reference").join(&id).join("manifest.json"));
        for (photo, info) in manifest["images"].as_object().unwrap() {
            let source = shared.join(info["source"].as_str().unwrap());
            let bin = std::fs::read(shared.join("reference").join(&id).join(format!("{photo}.input.bin"))).unwrap();
            cases.push((id.clone(), pre.clone(), photo.clone(), source, bin));
        }
    }
    assert!(cases.len() >= 80, "8 photos per model");
    cases
}

#[test]
fn resized_size_and_crop_match_every_manifest() {
    let shared = shared();
    for (id, pre) in catalogue() {
        let manifest = json(&shared.join("reference").join(&id).join("manifest.json"));
        for (photo, info) in manifest["images"].as_object().unwrap() {
            let v = |k: &str, i: usize| info[k][i].as_u64().unwrap() as usize;
            let (rw, rh) = resized_size(v("source_size_wh", 0), v("source_size_wh", 1), pre.size);
            assert_eq!((rw, rh), (v("resized_size_wh", 0), v("resized_size_wh", 1)), "{id} {photo}");
            assert_eq!(crop_origin(rw, rh, pre.size), (v("crop_box_ltrb", 0), v("crop_box_ltrb", 1)), "{id} {photo}");
        }
    }
}

#[test]
fn resized_size_rounds_the_longer_side_half_to_even() {
    // S = 224: shorter side 256, longer 256·long/short exactly; 256·513/512 = 256.5 → 256, 256·515/512 = 257.5 → 258.
    assert_eq!(resized_size(513, 512, 224), (256, 256));
    assert_eq!(resized_size(512, 515, 224), (256, 258));
    assert_eq!(resized_size(512, 514, 224), (256, 257));
    // S = 128: 8·128/7 = 146.29 → 146, and the longer side scales by the unrounded 146.29.
    assert_eq!(resized_size(512, 341, 128), (220, 146));
    assert_eq!(resized_size(1, 1, 224), (256, 256));
}

#[test]
fn png_photos_are_byte_exact_for_all_ten_models() {
    let mut checked = 0;
    for (id, pre, photo, source, bin) in reference_cases() {
        if source.extension().unwrap() != "png" {
            continue;
        }
        let (rgb, w, h) = decode(&source);
        let ours = resize_crop(&rgb, w, h, PixelFormat::Rgb, pre.size, pre.color).unwrap();
        let differing = ours.iter().zip(&bin).filter(|(a, b)| a != b).count();
        assert_eq!(ours.len(), bin.len(), "{id} {photo}");
        assert!(differing == 0, "{id} {photo}: {differing} of {} bytes differ", bin.len());
        checked += 1;
    }
    println!("{checked} PNG crops byte-exact");
    assert_eq!(checked, 60, "6 PNG photos × 10 models");
}

#[test]
fn jpeg_photos_stay_close_despite_decoder_differences() {
    // The reference decoded JPEGs with libjpeg-turbo (ISLOW IDCT, fancy upsampling); the `image` crate's
    // decoder rounds differently, so a few levels of difference per byte are expected, no more.
    let mut checked = 0;
    for (id, pre, photo, source, bin) in reference_cases() {
        if source.extension().unwrap() == "png" {
            continue;
        }
        let (rgb, w, h) = decode(&source);
        let ours = resize_crop(&rgb, w, h, PixelFormat::Rgb, pre.size, pre.color).unwrap();
        let diffs: Vec<u32> = ours.iter().zip(&bin).map(|(&a, &b)| (a as i32 - b as i32).unsigned_abs()).collect();
        let max = *diffs.iter().max().unwrap();
        let mean = diffs.iter().sum::<u32>() as f64 / diffs.len() as f64;
        let exact = diffs.iter().filter(|&&d| d == 0).count() as f64 / diffs.len() as f64;
        println!("{id:30} {photo:8} mean |diff| {mean:.4}  max {max}  identical {:.1}%", exact * 100.0);
        assert!(mean < 0.05 && max <= 3, "{id} {photo}: mean {mean}, max {max}");
        checked += 1;
    }
    assert_eq!(checked, 20, "2 JPEG photos × 10 models");
}

#[test]
fn normalisation_reproduces_the_reference_float_tensors_bit_for_bit() {
    let shared = shared();
    let mut checked = 0;
    for (id, pre) in catalogue() {
        let manifest = json(&shared.join("reference").join(&id).join("manifest.json"));
        for (photo, info) in manifest["images"].as_object().unwrap() {
            let Some(want) = info["input_f32_hwc_sha256"].as_str() else { continue };
            let bin = std::fs::read(shared.join("reference").join(&id).join(format!("{photo}.input.bin"))).unwrap();
            let mut out = vec![0.0f32; bin.len()];
            normalize_into(&bin, &pre, &mut out).unwrap();
            let bytes: Vec<u8> = out.iter().flat_map(|v| v.to_le_bytes()).collect();
            let got = format!("{:x}", Sha256::digest(&bytes));
            assert_eq!(got, want, "{id} {photo}");
            checked += 1;
        }
    }
    assert_eq!(checked, 40, "the five float models × 8 photos carry the float tensor's hash");
}

#[test]
fn tensor_is_the_normalised_crop() {
    let pre = Preprocessing { size: 32, color: ColorOrder::Bgr, scale: 1.0 / 255.0, mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.3] };
    let (rgb, w, h) = random_image(97, 61, 3, 5);
    let crop = resize_crop(&rgb, w, h, PixelFormat::Rgb, 32, ColorOrder::Bgr).unwrap();
    let tensor = to_input_tensor(&rgb, w, h, PixelFormat::Rgb, &pre).unwrap();
    for (i, (&x, &v)) in crop.iter().zip(&tensor).enumerate() {
        let c = i % 3;
        let want = (x as f32 / 255.0 - pre.mean[c]) / pre.std[c];
        assert_eq!(v, want, "element {i}");
    }
    let mut wrong = vec![0.0; 10];
    assert!(matches!(Preprocessor::new().to_input_tensor(&rgb, w, h, PixelFormat::Rgb, &pre, &mut wrong), Err(Error::Input(_))));
}

// ---- an independent, naive version of the same resampling: full image, float, no crop shortcut ----

/// Pillow's bilinear weights for output i of n → m (float, normalised), as the reference README states them.
fn naive_weights(n: usize, m: usize, i: usize) -> (usize, Vec<f64>) {
    let scale = n as f64 / m as f64;
    let f = scale.max(1.0);
    let center = (i as f64 + 0.5) * scale;
    let lo = ((center - f + 0.5).trunc() as i64).max(0) as usize;
    let hi = ((center + f + 0.5).trunc() as i64).min(n as i64) as usize;
    let w: Vec<f64> = (lo..hi).map(|x| (1.0 - ((x as f64 - center + 0.5) / f).abs()).max(0.0)).collect();
    let total: f64 = w.iter().sum();
    (lo, w.into_iter().map(|v| v / total).collect())
}

/// Resize the whole image in float (horizontal, then vertical, no intermediate rounding), then crop.
fn naive_resize_crop(rgb: &[u8], w: usize, h: usize, size: usize) -> Vec<f64> {
    let (rw, rh) = resized_size(w, h, size);
    let mut tmp = vec![0.0f64; rw * h * 3];
    for y in 0..h {
        for i in 0..rw {
            let (lo, k) = naive_weights(w, rw, i);
            for c in 0..3 {
                tmp[(y * rw + i) * 3 + c] = k.iter().enumerate().map(|(t, kv)| kv * rgb[(y * w + lo + t) * 3 + c] as f64).sum();
            }
        }
    }
    let (left, top) = crop_origin(rw, rh, size);
    let mut out = vec![0.0; size * size * 3];
    for j in 0..size {
        let (lo, k) = naive_weights(h, rh, top + j);
        for i in 0..size {
            for c in 0..3 {
                out[(j * size + i) * 3 + c] =
                    k.iter().enumerate().map(|(t, kv)| kv * tmp[((lo + t) * rw + left + i) * 3 + c]).sum();
            }
        }
    }
    out
}

/// A smooth random image (noise would make every rounding difference visible at once) with some sharp edges.
fn random_image(w: usize, h: usize, channels: usize, seed: u64) -> (Vec<u8>, usize, usize) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let (a, b, c) = (rng.f64() * 0.3, rng.f64() * 0.3, rng.f64() * 6.0);
    let mut px = Vec::with_capacity(w * h * channels);
    for y in 0..h {
        for x in 0..w {
            for ch in 0..channels {
                let v = 127.5 + 120.0 * ((x as f64 * a + y as f64 * b + c + ch as f64).sin());
                let edge = if (x / 7 + y / 5 + ch) % 9 == 0 { 60.0 } else { 0.0 };
                px.push((v - edge).clamp(0.0, 255.0) as u8 ^ (rng.u8(..) & 3));
            }
        }
    }
    (px, w, h)
}

#[test]
fn random_sizes_agree_with_a_naive_float_resampler() {
    let mut rng = fastrand::Rng::with_seed(42);
    let mut worst = 0.0f64;
    let mut total = 0.0;
    let mut count = 0usize;
    for case in 0..60 {
        let size = [1, 2, 7, 32, 64, 128, 224][rng.usize(..7)];
        // Both shrinking and enlarging, square, wide and tall.
        let w = rng.usize(1..400);
        let h = if case % 3 == 0 { w } else { rng.usize(1..400) };
        let (rgb, w, h) = random_image(w, h, 3, case);
        let ours = resize_crop(&rgb, w, h, PixelFormat::Rgb, size, ColorOrder::Rgb).unwrap();
        let naive = naive_resize_crop(&rgb, w, h, size);
        for (&o, &n) in ours.iter().zip(&naive) {
            let d = (o as f64 - n).abs();
            worst = worst.max(d);
            total += d;
            count += 1;
        }
        // The uint8 intermediate and the output round (half a level each); fixed-point weights add a little.
        assert!(worst <= 1.5, "case {case}: {w}x{h} → {size}: worst {worst}");
        // The crop shortcut and the tap bookkeeping are exact: the same formula computed naively over the
        // whole image in fixed point gives the same bytes.
        assert_eq!(ours, naive_fixed_point(&rgb, w, h, size), "case {case}: {w}x{h} → {size}");
    }
    let mean = total / count as f64;
    println!("vs float: worst {worst:.3}, mean {mean:.4} over {count} bytes");
    assert!(mean < 0.35, "mean difference {mean}");
}

/// The README's fixed-point recipe, whole image, then crop.
fn naive_fixed_point(rgb: &[u8], w: usize, h: usize, size: usize) -> Vec<u8> {
    let fixed = |k: Vec<f64>| -> Vec<i64> { k.into_iter().map(|v| (v * (1 << 22) as f64 + 0.5).trunc() as i64).collect() };
    let out8 = |acc: i64| ((acc + (1 << 21)) >> 22).clamp(0, 255) as u8;
    let (rw, rh) = resized_size(w, h, size);
    let mut tmp = vec![0u8; rw * h * 3];
    for i in 0..rw {
        let (lo, k) = naive_weights(w, rw, i);
        let k = fixed(k);
        for y in 0..h {
            for c in 0..3 {
                tmp[(y * rw + i) * 3 + c] = out8(k.iter().enumerate().map(|(t, kv)| kv * rgb[(y * w + lo + t) * 3 + c] as i64).sum());
            }
        }
    }
    let mut full = vec![0u8; rw * rh * 3];
    for j in 0..rh {
        let (lo, k) = naive_weights(h, rh, j);
        let k = fixed(k);
        for i in 0..rw {
            for c in 0..3 {
                full[(j * rw + i) * 3 + c] = out8(k.iter().enumerate().map(|(t, kv)| kv * tmp[((lo + t) * rw + i) * 3 + c] as i64).sum());
            }
        }
    }
    let (left, top) = crop_origin(rw, rh, size);
    (0..size).flat_map(|j| full[((top + j) * rw + left) * 3..][..size * 3].to_vec()).collect()
}

#[test]
fn rgba_gives_the_same_bytes_as_rgb() {
    let (rgb, w, h) = random_image(333, 251, 3, 9);
    let mut rgba = Vec::with_capacity(w * h * 4);
    let mut rng = fastrand::Rng::with_seed(3);
    for px in rgb.chunks_exact(3) {
        rgba.extend_from_slice(px);
        rgba.push(rng.u8(..)); // alpha is ignored, as Pillow's convert("RGB") drops it
    }
    for color in [ColorOrder::Rgb, ColorOrder::Bgr] {
        let a = resize_crop(&rgb, w, h, PixelFormat::Rgb, 224, color).unwrap();
        let b = resize_crop(&rgba, w, h, PixelFormat::Rgba, 224, color).unwrap();
        assert_eq!(a, b);
    }
    let rgb_order = resize_crop(&rgb, w, h, PixelFormat::Rgb, 224, ColorOrder::Rgb).unwrap();
    let bgr_order = resize_crop(&rgb, w, h, PixelFormat::Rgb, 224, ColorOrder::Bgr).unwrap();
    for (a, b) in rgb_order.chunks_exact(3).zip(bgr_order.chunks_exact(3)) {
        assert_eq!([a[2], a[1], a[0]], b);
    }
}

#[test]
fn a_reused_preprocessor_gives_the_same_result_as_a_fresh_one() {
    let mut pre = Preprocessor::new();
    for (i, (w, h, size)) in [(640, 480, 224), (640, 480, 224), (100, 300, 128), (640, 480, 224), (640, 480, 160)].into_iter().enumerate() {
        let (px, w, h) = random_image(w, h, 4, i as u64);
        let reused = pre.resize_crop(&px, w, h, PixelFormat::Rgba, size, ColorOrder::Rgb).unwrap().to_vec();
        let fresh = resize_crop(&px, w, h, PixelFormat::Rgba, size, ColorOrder::Rgb).unwrap();
        assert_eq!(reused, fresh, "frame {i}");
    }
}

#[test]
fn bad_images_are_errors() {
    let ok = vec![0u8; 12];
    assert!(matches!(resize_crop(&[], 0, 0, PixelFormat::Rgb, 224, ColorOrder::Rgb), Err(Error::Input(_))));
    assert!(matches!(resize_crop(&[], 0, 5, PixelFormat::Rgba, 224, ColorOrder::Rgb), Err(Error::Input(_))));
    assert!(matches!(resize_crop(&ok, 2, 2, PixelFormat::Rgba, 224, ColorOrder::Rgb), Err(Error::Input(_))));
    assert!(resize_crop(&ok, 2, 2, PixelFormat::Rgb, 224, ColorOrder::Rgb).is_ok());
    assert!(matches!(resize_crop(&ok[..11], 1, 3, PixelFormat::Rgba, 224, ColorOrder::Rgb), Err(Error::Input(_))));
    assert!(resize_crop(&ok, 2, 2, PixelFormat::Rgb, 0, ColorOrder::Rgb).is_err());
    assert!(matches!(resize_crop(&ok, 2, 2, PixelFormat::Rgba, 0, ColorOrder::Rgb), Err(Error::Config(_))));
    // Sizes are checked before the buffer length, and without overflow.
    for (w, h) in [(MAX_SIDE + 1, 1), (1, MAX_SIDE + 1), (usize::MAX, usize::MAX), (1 << 40, 1 << 40)] {
        assert!(matches!(resize_crop(&ok, w, h, PixelFormat::Rgb, 224, ColorOrder::Rgb), Err(Error::TooLarge(_))), "{w}x{h}");
    }
    let mut out = vec![0.0; 5];
    assert!(matches!(normalize_into(&ok, &Preprocessing { size: 2, color: ColorOrder::Rgb, scale: 1.0, mean: [0.0; 3], std: [1.0; 3] }, &mut out), Err(Error::Input(_))));
}

#[test]
fn one_pixel_fills_the_crop_with_its_colour() {
    let px = [10u8, 200, 77];
    let out = resize_crop(&px, 1, 1, PixelFormat::Rgb, 224, ColorOrder::Rgb).unwrap();
    assert_eq!(out.len(), 224 * 224 * 3);
    assert!(out.chunks_exact(3).all(|p| p == px));
    let out = resize_crop(&[1, 2, 3, 4], 1, 1, PixelFormat::Rgba, 1, ColorOrder::Bgr).unwrap();
    assert_eq!(out, [3, 2, 1]);
}

#[test]
fn extreme_aspect_ratios_work_in_bounded_memory() {
    // A 1×16384 strip would be 256 × 4 194 304 pixels after the resize (3 GB); only the crop is computed.
    for (w, h) in [(1, MAX_SIDE), (MAX_SIDE, 1), (3, 16000), (16000, 2)] {
        let (px, w, h) = random_image(w, h, 3, 1);
        let t = Instant::now();
        let out = resize_crop(&px, w, h, PixelFormat::Rgb, 224, ColorOrder::Rgb).unwrap();
        assert_eq!(out.len(), 224 * 224 * 3);
        assert!(t.elapsed() < Duration::from_secs(2), "{w}x{h} took {:?}", t.elapsed());
    }
    // The middle of a long thin strip comes from its middle.
    let mut strip = vec![0u8; 10000 * 3];
    strip[5000 * 3..5001 * 3].copy_from_slice(&[255, 255, 255]);
    let out = resize_crop(&strip, 10000, 1, PixelFormat::Rgb, 224, ColorOrder::Rgb).unwrap();
    assert!(out.iter().any(|&v| v > 0));
}

#[test]
fn ten_thousand_square_is_fast_enough() {
    let (w, h) = (10000, 10000);
    let mut px = vec![0u8; w * h * 3];
    let mut rng = fastrand::Rng::with_seed(5);
    rng.fill(&mut px);
    let t = Instant::now();
    let out = resize_crop(&px, w, h, PixelFormat::Rgb, 224, ColorOrder::Rgb).unwrap();
    let took = t.elapsed();
    println!("10000x10000 RGB → 224: {took:?}");
    assert_eq!(out.len(), 224 * 224 * 3);
    // Noise averaged over ~40×40 source pixels is close to mid-grey.
    let mean = out.iter().map(|&v| v as f64).sum::<f64>() / out.len() as f64;
    assert!((mean - 127.5).abs() < 3.0, "mean {mean}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn camera_frame_timing() {
    // 640×480 RGBA (a camera frame) → 224: the per-frame cost with a reused Preprocessor.
    let (px, w, h) = random_image(640, 480, 4, 7);
    let pre = Preprocessing { size: 224, color: ColorOrder::Rgb, scale: 1.0, mean: [128.0; 3], std: [128.0; 3] };
    let mut p = Preprocessor::new();
    let mut out = vec![0.0; 224 * 224 * 3];
    p.to_input_tensor(&px, w, h, PixelFormat::Rgba, &pre, &mut out).unwrap();
    // The fastest of many frames: on a shared machine the median mostly measures other processes.
    let mut times: Vec<Duration> = (0..100)
        .map(|_| {
            let t = Instant::now();
            p.to_input_tensor(&px, w, h, PixelFormat::Rgba, &pre, &mut out).unwrap();
            t.elapsed()
        })
        .collect();
    times.sort();
    let (per, median) = (times[0], times[50]);
    println!("640x480 RGBA → 224 tensor: {per:?} per frame (fastest of 100; median {median:?})");
    assert!(per < Duration::from_millis(50), "{per:?}");
}
