//! The wasm API surface in a real browser (`wasm-pack test --headless --chrome`): load a real model
//! from bytes, classify an RGBA photo, bad bytes → an Error whose message starts with its code,
//! free (drop) releases the model, zoo models profile.
#![cfg(target_arch = "wasm32")]

use mobilecnn::web::{build_info, thread_count, WasmModel};
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const MODEL: &[u8] = include_bytes!("../models/mobilenet_v1_0.25_128_quant.tflite");
/// scikit-image's coffee photo, 180×120 RGBA (tests/data/README.md).
const COFFEE: &[u8] = include_bytes!("data/coffee_180x120.rgba");

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Prediction {
    label: String,
    wnid: String,
    class_index: usize,
    probability: f32,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Timings {
    preprocess_ms: f64,
    inference_ms: f64,
}

#[derive(Deserialize, Debug)]
struct Classification {
    predictions: Vec<Prediction>,
    timings: Timings,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Meta {
    format: String,
    input_size: usize,
    num_classes: usize,
    label_offset: usize,
    macs: u64,
}

#[derive(Deserialize, Debug)]
struct Layer {
    macs: u64,
    ms: f64,
}

#[derive(Deserialize, Debug)]
struct Totals {
    macs: u64,
    ms: f64,
}

#[derive(Deserialize, Debug)]
struct Profile {
    layers: Vec<Layer>,
    totals: Totals,
}

#[derive(Deserialize, Debug)]
struct BuildInfo {
    simd: bool,
}

fn from_js<T: for<'de> Deserialize<'de>>(v: JsValue) -> T {
    serde_wasm_bindgen::from_value(v).expect("the shape documented in docs/api.md")
}

fn error_message(e: wasm_bindgen::JsError) -> String {
    let v: JsValue = e.into();
    let err: js_sys::Error = v.dyn_into().expect("a JS Error object");
    err.message().into()
}

#[wasm_bindgen_test]
fn loads_from_bytes_and_classifies_a_photo() {
    let mut model = WasmModel::from_bytes(MODEL, JsValue::UNDEFINED).map_err(error_message).unwrap();
    let meta: Meta = from_js(model.meta().unwrap());
    assert_eq!((meta.format.as_str(), meta.input_size, meta.num_classes, meta.label_offset), ("tflite", 128, 1000, 1));
    let out: Classification = from_js(model.classify_rgba(COFFEE, 180, 120, 5).map_err(error_message).unwrap());
    assert_eq!(out.predictions.len(), 5);
    let top = &out.predictions[0];
    assert_eq!((top.label.as_str(), top.wnid.as_str(), top.class_index), ("espresso", "n07920052", 967), "{out:?}");
    assert!(top.probability > 0.3 && top.probability <= 1.0, "{top:?}");
    assert!(out.timings.preprocess_ms >= 0.0 && out.timings.inference_ms > 0.0, "{:?}", out.timings);
}

#[wasm_bindgen_test]
fn bad_model_bytes_are_an_error_with_a_code() {
    for bytes in [&b"not a model"[..], &[], &MODEL[..1000]] {
        let message = error_message(WasmModel::from_bytes(bytes, JsValue::UNDEFINED).err().expect("an error"));
        assert!(message.starts_with("malformed: "), "{message}");
    }
    let message = error_message(WasmModel::from_zoo("no_such_net").err().unwrap());
    assert!(message.starts_with("input: "), "{message}");
}

#[wasm_bindgen_test]
fn wrong_pixels_are_input_errors() {
    let mut model = WasmModel::from_zoo("mobilenet_v1_0.25_64").unwrap();
    let message = error_message(model.classify_rgba(&COFFEE[..100], 180, 120, 5).err().unwrap());
    assert!(message.starts_with("input: "), "{message}");
    let message = error_message(model.classify_rgba(COFFEE, 180, 120, 0).err().unwrap());
    assert!(message.starts_with("input: "), "{message}");
}

#[wasm_bindgen_test]
fn freeing_models_returns_their_memory() {
    let memory = || wasm_bindgen::memory().unchecked_into::<js_sys::WebAssembly::Memory>().buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length();
    // The first cycles may grow the heap once; after that, load + free must reuse it.
    for _ in 0..2 {
        drop(WasmModel::from_bytes(MODEL, JsValue::UNDEFINED).unwrap());
    }
    let settled = memory();
    for _ in 0..5 {
        let mut model = WasmModel::from_bytes(MODEL, JsValue::UNDEFINED).unwrap();
        model.classify_rgba(COFFEE, 180, 120, 1).unwrap();
        drop(model); // what JS `free()` does
    }
    assert_eq!(memory(), settled, "memory grew across load/free cycles");
}

#[wasm_bindgen_test]
fn zoo_model_profiles_every_layer() {
    let mut model = WasmModel::from_zoo("shufflenet_v2_0.5_96").unwrap();
    let meta: Meta = from_js(model.meta().unwrap());
    let profile: Profile = from_js(model.profile(COFFEE, 180, 120).map_err(error_message).unwrap());
    assert!(profile.layers.len() > 10);
    assert_eq!(profile.totals.macs, meta.macs);
    assert_eq!(profile.totals.macs, profile.layers.iter().map(|l| l.macs).sum::<u64>());
    assert!((profile.totals.ms - profile.layers.iter().map(|l| l.ms).sum::<f64>()).abs() < 1e-9);
    assert!(profile.totals.ms > 0.0);
}

#[wasm_bindgen_test]
fn build_info_says_simd() {
    let info: BuildInfo = from_js(build_info().unwrap());
    assert!(info.simd);
    // These tests run the single-thread build.
    assert_eq!(thread_count(), 1);
}
