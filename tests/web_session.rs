//! The wasm surface's logic (`web::session`), natively: loading, classifying RGBA frames with timings,
//! profiles whose totals are the sums of their layers, and the stable error codes JS callers see.

use std::sync::Mutex;
use std::path::Path;

use mobilecnn::web::session::{error_code, error_message, PreprocessingOptions, Session};
use mobilecnn::Error;

/// A clock that advances 1 ms per reading, so timings are positive and deterministic.
fn ticking() -> impl Fn() -> f64 + Sync {
    let t = Mutex::new(0.0);
    move || {
        let mut t = t.lock().unwrap();
        *t += 1.0;
        *t
    }
}

fn grey_rgba(w: usize, h: usize) -> Vec<u8> {
    (0..w * h * 4).map(|i| if i % 4 == 3 { 255 } else { (i * 7 % 251) as u8 }).collect()
}

fn model_file(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run tools/fetch-models.sh)", path.display()))
}

/// scikit-image's coffee photo, 180×120 RGBA (tests/data/README.md).
const COFFEE: &[u8] = include_bytes!("data/coffee_180x120.rgba");

#[test]
fn zoo_session_classifies_and_profiles() {
    let mut s = Session::from_zoo("mobilenet_v1_0.25_96").unwrap();
    let meta = s.meta();
    assert_eq!((meta.format, meta.input_size, meta.num_classes, meta.label_offset), ("zoo", 96, 1000, 0));
    assert!(meta.macs > 0 && meta.params > 0 && meta.weight_bytes > 0 && meta.arena_bytes > 0);
    let rgba = grey_rgba(160, 120);
    let out = s.classify_rgba(&rgba, 160, 120, 5, &ticking()).unwrap();
    assert_eq!(out.predictions.len(), 5);
    assert!(out.predictions.windows(2).all(|w| w[0].probability >= w[1].probability));
    assert!(out.predictions.iter().all(|p| (0.0..=1.0).contains(&p.probability) && p.class_index < 1000));
    assert!(out.predictions.iter().all(|p| p.wnid.starts_with('n') && !p.label.is_empty()));
    assert_eq!((out.timings.preprocess_ms, out.timings.inference_ms), (1.0, 1.0));

    let profile = s.profile_rgba(&rgba, 160, 120, &ticking()).unwrap();
    assert!(!profile.layers.is_empty());
    assert_eq!(profile.totals.macs, meta.macs);
    assert_eq!(profile.totals.params, meta.params);
    assert_eq!(profile.totals.mac, profile.layers.iter().map(|l| l.mac).sum::<u64>());
    assert_eq!(profile.totals.ms, profile.layers.iter().map(|l| l.ms).sum::<f64>());
    assert!(profile.layers.iter().any(|l| l.op == "conv" && l.macs > 0), "{:?}", profile.layers.first());
}

#[test]
fn bad_inputs_are_input_errors() {
    let mut s = Session::from_zoo("shufflenet_v2_0.5_64").unwrap();
    let clock = ticking();
    let rgba = grey_rgba(10, 10);
    for top in [0, 1001] {
        let e = s.classify_rgba(&rgba, 10, 10, top, &clock).err().unwrap();
        assert_eq!(error_code(&e), "input", "topK {top}: {e}");
    }
    let e = s.classify_rgba(&rgba[..399], 10, 10, 5, &clock).err().unwrap();
    assert_eq!(error_code(&e), "input", "{e}");
    let e = Session::from_zoo("resnet_50").err().unwrap();
    assert!(error_message(&e).starts_with("input: "), "{}", error_message(&e));
}

#[test]
fn bad_model_bytes_are_malformed() {
    for bytes in [&b""[..], b"not a model at all", &[0u8; 64]] {
        let e = Session::from_bytes(bytes, None).err().unwrap();
        assert_eq!(error_code(&e), "malformed", "{e}");
        assert!(error_message(&e).starts_with("malformed: "));
    }
    // A TFLite header with nothing behind it.
    let e = Session::from_bytes(b"\x10\0\0\0TFL3\0\0\0\0", None).err().unwrap();
    assert_eq!(error_code(&e), "malformed", "{e}");
}

#[test]
fn error_codes_cover_every_variant() {
    let cases = [
        (Error::Malformed("x".into()), "malformed: x"),
        (Error::Unsupported("op".into()), "unsupported: op"),
        (Error::TooLarge("big".into()), "too-large: big"),
        (Error::Input("bad".into()), "input: bad"),
        (Error::Config("cfg".into()), "input: cfg"),
    ];
    for (e, message) in cases {
        assert_eq!(error_message(&e), message);
    }
    assert!(error_message(&Error::shape("conv", "3 vs 4")).starts_with("malformed: shape mismatch in conv"));
}

#[test]
fn real_model_classifies_a_photo() {
    let mut s = Session::from_bytes(&model_file("mobilenet_v1_0.25_128_quant.tflite"), None).unwrap();
    let meta = s.meta();
    assert_eq!((meta.format, meta.input_size, meta.num_classes, meta.label_offset), ("tflite", 128, 1000, 1));
    let out = s.classify_rgba(COFFEE, 180, 120, 3, &ticking()).unwrap();
    assert_eq!(out.predictions[0].label, "espresso", "{:?}", out.predictions);
    assert_eq!(out.predictions[0].wnid, "n07920052");
}

#[test]
fn caller_preprocessing_replaces_the_files() {
    let bytes = model_file("mobilenet_v1_0.25_128_quant.tflite");
    // BGR instead of RGB: a different input, so (almost surely) different probabilities.
    let bgr = PreprocessingOptions { color_order: "BGR".into(), input_scale: 1.0, mean: [128.0; 3], std: [128.0; 3] };
    let mut swapped = Session::from_bytes(&bytes, Some(&bgr)).unwrap();
    assert_eq!(swapped.meta().preprocessing.as_ref().unwrap().color_order, "BGR");
    let mut plain = Session::from_bytes(&bytes, None).unwrap();
    let a = plain.classify_rgba(COFFEE, 180, 120, 1, &ticking()).unwrap();
    let b = swapped.classify_rgba(COFFEE, 180, 120, 1, &ticking()).unwrap();
    assert_ne!(a.predictions[0].probability, b.predictions[0].probability);
    let bad = PreprocessingOptions { color_order: "RGBA".into(), ..bgr };
    let e = Session::from_bytes(&bytes, Some(&bad)).err().unwrap();
    assert_eq!(error_code(&e), "input");
}
