//! In the browser (wasm-bindgen-test, SIMD128 kernels): one real model file per architecture, on
//! the exact reference input tensors of two photos, against the reference probabilities with the
//! tolerances of `../shared/reference/README.md` (the native twin, tests/reference.rs, covers all
//! ten files and all eight photos). The files are compiled in: run `tools/fetch-models.sh` first;
//! `MOBILECNN_MODELS` / `MOBILECNN_REFERENCE` (see .cargo/config.toml) locate them at build time.
#![cfg(target_arch = "wasm32")]

use mobilecnn::Model;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

macro_rules! model {
    ($file:literal) => {
        include_bytes!(concat!(env!("MOBILECNN_MODELS"), "/", $file))
    };
}

macro_rules! photo {
    ($dir:literal, $photo:literal) => {
        (
            $photo,
            &include_bytes!(concat!(env!("MOBILECNN_REFERENCE"), "/", $dir, "/", $photo, ".input.bin"))[..],
            &include_bytes!(concat!(env!("MOBILECNN_REFERENCE"), "/", $dir, "/", $photo, ".probs.bin"))[..],
        )
    };
}

fn top1(p: &[f32]) -> usize {
    (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap()
}

/// Runs `file` on each photo's input bytes (normalised with the preprocessing the file declares,
/// which tests/reference.rs checks against the reference's) and compares with the reference.
fn check(name: &str, file: &[u8], photos: &[(&str, &[u8], &[u8])], tolerance: f32) {
    let mut model = Model::from_bytes(file).unwrap_or_else(|e| panic!("{name}: {e}"));
    let pre = model.meta().preprocessing.clone().expect("declared preprocessing");
    for (photo, input, probs) in photos {
        let x: Vec<f32> = input.iter().enumerate().map(|(i, &b)| (b as f32 * pre.scale - pre.mean[i % 3]) / pre.std[i % 3]).collect();
        let want: Vec<f32> = probs.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
        let got = model.run(&x).unwrap();
        let diff = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(diff <= tolerance, "{name} {photo}: max |Δp| {diff} > {tolerance}");
        assert_eq!(top1(got), top1(&want), "{name} {photo}: top-1");
    }
}

#[wasm_bindgen_test]
fn mobilenet_v1_tflite_uint8() {
    let photos = [photo!("mobilenet_v1_0.25_128_quant", "cat"), photo!("mobilenet_v1_0.25_128_quant", "skimage_coffee")];
    check("mobilenet_v1_0.25_128_quant", model!("mobilenet_v1_0.25_128_quant.tflite"), &photos, 0.3);
}

#[wasm_bindgen_test]
fn mobilenet_v1_onnx_float() {
    let photos = [photo!("keras_mobilenet_v1_0.25_224", "cat"), photo!("keras_mobilenet_v1_0.25_224", "parrot")];
    check("keras_mobilenet_v1_0.25_224", model!("keras_mobilenet_v1_0.25_224.onnx"), &photos, 1e-4);
}

#[wasm_bindgen_test]
fn mobilenet_v2_tflite_int8_per_channel() {
    let photos = [photo!("tf2_mobilenet_v2_1.0_224_ptq", "cat"), photo!("tf2_mobilenet_v2_1.0_224_ptq", "hot_dog")];
    check("tf2_mobilenet_v2_1.0_224_ptq", model!("tf2_mobilenet_v2_1.0_224_ptq.tflite"), &photos, 0.3);
}

#[wasm_bindgen_test]
fn shufflenet_v1_onnx() {
    let photos = [photo!("shufflenet_v1_g3_0.5x", "cat"), photo!("shufflenet_v1_g3_0.5x", "skimage_rocket")];
    check("shufflenet_v1_g3_0.5x", model!("shufflenet_v1_g3_0.5x.onnx"), &photos, 1e-4);
}

#[wasm_bindgen_test]
fn shufflenet_v2_onnx() {
    let photos = [photo!("shufflenet_v2_x0_25", "cat"), photo!("shufflenet_v2_x0_25", "grace_hopper")];
    check("shufflenet_v2_x0_25", model!("shufflenet_v2_x0_25.onnx"), &photos, 1e-4);
}
