//! The ten real model files against the reference runtimes' probabilities on the exact same input
//! tensors (`../shared/reference`, see its README for the tolerances):
//! - float models: max |Δp| ≤ 1e-4 per class and the same top-1 wherever the reference's
//!   top-1/top-2 margin exceeds 1e-4;
//! - quantized TFLite run in float (dequantized weights): every photo within 0.3, ≥ 7 of 8 top-1.
//!
//! `MOBILECNN_MODELS` (default `./models`, filled by `tools/fetch-models.sh`) and
//! `MOBILECNN_REFERENCE` (default `../shared/reference`) locate the files. A missing file fails the
//! test: these are the tests that say the importers work.
#![cfg(not(target_arch = "wasm32"))]

use std::path::PathBuf;

use mobilecnn::preprocess::ColorOrder;
use mobilecnn::{Model, ModelFormat};
use serde_json::Value;

const PHOTOS: [&str; 8] =
    ["skimage_astronaut", "skimage_chelsea", "skimage_coffee", "skimage_rocket", "cat", "parrot", "hot_dog", "grace_hopper"];

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn models_dir() -> PathBuf {
    std::env::var_os("MOBILECNN_MODELS").map_or_else(|| crate_root().join("models"), PathBuf::from)
}

fn reference_dir() -> PathBuf {
    std::env::var_os("MOBILECNN_REFERENCE").map_or_else(|| crate_root().join("../shared/reference"), PathBuf::from)
}

fn read(path: PathBuf) -> Vec<u8> {
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run tools/fetch-models.sh?)", path.display()))
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
}

fn top1(p: &[f32]) -> usize {
    (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap()
}

/// Top-1/top-2 margin of `p`.
fn margin(p: &[f32]) -> f32 {
    let mut s = p.to_vec();
    s.sort_by(|a, b| b.total_cmp(a));
    s[0] - s[1]
}

/// How the reference turned `input.bin` bytes into the model's float input (the manifest's
/// `normalisation`, in float32 and in the same order of operations).
enum Normalisation {
    /// Quantized TFLite input: `(x - zero_point) * scale`.
    Dequantize { scale: f32, zero_point: f32 },
    /// `x / 127.5 - 1` (Keras MobileNet).
    Keras,
    /// `x` as float (Megvii ShuffleNet V1, BGR).
    Raw,
    /// `(x / 255 - mean[c]) / std[c]` (Paddle ShuffleNet V2).
    ImageNet,
}

impl Normalisation {
    fn apply(&self, bytes: &[u8]) -> Vec<f32> {
        const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
        const STD: [f32; 3] = [0.229, 0.224, 0.225];
        bytes
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                let x = b as f32;
                match self {
                    Normalisation::Dequantize { scale, zero_point } => (x - zero_point) * scale,
                    Normalisation::Keras => x / 127.5 - 1.0,
                    Normalisation::Raw => x,
                    Normalisation::ImageNet => (x / 255.0 - MEAN[i % 3]) / STD[i % 3],
                }
            })
            .collect()
    }
}

struct Case {
    reference: &'static str,
    file: &'static str,
    architecture: &'static str,
    quantized: bool,
}

const CASES: [Case; 10] = [
    Case { reference: "mobilenet_v1_0.25_128_quant", file: "mobilenet_v1_0.25_128_quant.tflite", architecture: "mobilenet_v1", quantized: true },
    Case { reference: "mobilenet_v1_0.5_160_quant", file: "mobilenet_v1_0.5_160_quant.tflite", architecture: "mobilenet_v1", quantized: true },
    Case { reference: "mobilenet_v1_0.75_192_quant", file: "mobilenet_v1_0.75_192_quant.tflite", architecture: "mobilenet_v1", quantized: true },
    Case { reference: "mobilenet_v2_1.0_224_quant", file: "mobilenet_v2_1.0_224_quant.tflite", architecture: "mobilenet_v2", quantized: true },
    Case { reference: "tf2_mobilenet_v2_1.0_224_ptq", file: "tf2_mobilenet_v2_1.0_224_ptq.tflite", architecture: "mobilenet_v2", quantized: true },
    Case { reference: "keras_mobilenet_v1_0.25_224", file: "keras_mobilenet_v1_0.25_224.onnx", architecture: "mobilenet_v1", quantized: false },
    Case { reference: "shufflenet_v1_g3_0.5x", file: "shufflenet_v1_g3_0.5x.onnx", architecture: "shufflenet_v1", quantized: false },
    Case { reference: "shufflenet_v1_g8_0.5x", file: "shufflenet_v1_g8_0.5x.onnx", architecture: "shufflenet_v1", quantized: false },
    Case { reference: "shufflenet_v2_x0_25", file: "shufflenet_v2_x0_25.onnx", architecture: "shufflenet_v2", quantized: false },
    Case { reference: "shufflenet_v2_x0_33", file: "shufflenet_v2_x0_33.onnx", architecture: "shufflenet_v2", quantized: false },
];

fn normalisation(case: &Case, manifest: &Value) -> Normalisation {
    let q = &manifest["input"]["quantization"];
    if !q.is_null() {
        return Normalisation::Dequantize {
            scale: q["scale"].as_f64().unwrap() as f32,
            zero_point: q["zero_point"].as_f64().unwrap() as f32,
        };
    }
    match case.reference {
        r if r.starts_with("keras") => Normalisation::Keras,
        r if r.starts_with("shufflenet_v1") => Normalisation::Raw,
        r if r.starts_with("shufflenet_v2") => Normalisation::ImageNet,
        r => panic!("no normalisation for {r}"),
    }
}

struct Outcome {
    max_diff: f32,
    top1_agree: usize,
}

fn check(case: &Case) -> Outcome {
    let dir = reference_dir().join(case.reference);
    let manifest: Value = serde_json::from_slice(&read(dir.join("manifest.json"))).unwrap();
    let norm = normalisation(case, &manifest);
    let mut model = Model::from_bytes(&read(models_dir().join(case.file))).unwrap_or_else(|e| panic!("{}: {e}", case.file));
    let meta = model.meta().clone();
    let size = manifest["input"]["input_bin"]["shape_hwc"][0].as_u64().unwrap() as usize;
    assert_eq!(meta.input_size, size, "{}", case.file);
    assert_eq!(meta.num_classes, 1000);
    assert_eq!(meta.label_offset, manifest["output"]["label_offset"].as_u64().unwrap() as usize);
    assert_eq!(meta.format, if case.file.ends_with(".tflite") { ModelFormat::Tflite } else { ModelFormat::Onnx });
    let pre = meta.preprocessing.clone().unwrap_or_else(|| panic!("{}: the file declares no preprocessing", case.file));
    assert_eq!(pre.size, size);
    assert_eq!(meta.architecture.as_deref(), Some(case.architecture), "{}", case.file);
    let want_color = if case.reference.starts_with("shufflenet_v1") { ColorOrder::Bgr } else { ColorOrder::Rgb };
    assert_eq!(pre.color, want_color, "{}", case.file);

    let (mut max_diff, mut top1_agree) = (0.0f32, 0);
    for photo in PHOTOS {
        let bytes = read(dir.join(format!("{photo}.input.bin")));
        let want = f32s(&read(dir.join(format!("{photo}.probs.bin"))));
        let input = norm.apply(&bytes);
        // The preprocessing the file declares gives the same tensor (up to float rounding).
        for (i, (&b, &x)) in bytes.iter().zip(&input).enumerate() {
            let c = i % 3;
            let from_meta = (b as f32 * pre.scale - pre.mean[c]) / pre.std[c];
            assert!((from_meta - x).abs() < 1e-4, "{}: declared preprocessing gives {from_meta} for byte {b}, reference {x}", case.file);
        }
        let got = model.run(&input).unwrap();
        assert_eq!(got.len(), want.len());
        let diff = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        max_diff = max_diff.max(diff);
        let same = top1(got) == top1(&want);
        top1_agree += same as usize;
        if case.quantized {
            assert!(diff <= 0.3, "{} {photo}: max |Δp| {diff} > 0.3", case.file);
        } else {
            assert!(diff <= 1e-4, "{} {photo}: max |Δp| {diff} > 1e-4", case.file);
            assert!(same || margin(&want) <= 1e-4, "{} {photo}: top-1 {} vs reference {}", case.file, top1(got), top1(&want));
        }
    }
    if case.quantized {
        assert!(top1_agree >= 7, "{}: top-1 agrees on {top1_agree}/8", case.file);
    }
    println!("{:<32} max |Δp| {max_diff:.2e}  top-1 {top1_agree}/8", case.reference);
    Outcome { max_diff, top1_agree }
}

macro_rules! reference_test {
    ($name:ident, $index:expr) => {
        #[test]
        fn $name() {
            let o = check(&CASES[$index]);
            assert!(o.max_diff.is_finite() && o.top1_agree <= 8);
        }
    };
}

reference_test!(mobilenet_v1_025_128_quant, 0);
reference_test!(mobilenet_v1_05_160_quant, 1);
reference_test!(mobilenet_v1_075_192_quant, 2);
reference_test!(mobilenet_v2_10_224_quant, 3);
reference_test!(tf2_mobilenet_v2_10_224_ptq, 4);
reference_test!(keras_mobilenet_v1_025_224, 5);
reference_test!(shufflenet_v1_g3_05x, 6);
reference_test!(shufflenet_v1_g8_05x, 7);
reference_test!(shufflenet_v2_x025, 8);
reference_test!(shufflenet_v2_x033, 9);
