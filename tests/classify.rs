//! Labels, softmax, top-k, and classification through a model's own preprocessing.
#![cfg(not(target_arch = "wasm32"))]

use std::path::{Path, PathBuf};

use mobilecnn::classify::{class_of_wnid, classify, labels, predictions, softmax, top_k, Classifier};
use mobilecnn::preprocess::PixelFormat;
use mobilecnn::{Error, Model};

#[test]
fn labels_are_the_1000_imagenet_classes_in_order() {
    let l = labels();
    assert_eq!(l.len(), 1000);
    assert_eq!((l[0].wnid, l[0].name, l[0].names), ("n01440764", "tench", "tench, Tinca tinca"));
    assert_eq!(l[88].name, "macaw");
    assert_eq!(l[934].name, "hotdog");
    assert_eq!(l[999].name, "toilet tissue");
    for w in l.windows(2) {
        assert!(w[0].wnid < w[1].wnid, "sorted and unique: {} {}", w[0].wnid, w[1].wnid);
    }
    for label in l {
        assert!(label.wnid.len() == 9 && label.wnid.starts_with('n'), "{label:?}");
        assert!(!label.name.is_empty() && !label.name.contains(','), "{label:?}");
    }
    assert_eq!(class_of_wnid("n01440764"), Some(0));
    assert_eq!(class_of_wnid("n15075141"), Some(999));
    assert_eq!(class_of_wnid("n00000000"), None);
}

#[test]
fn labels_equal_the_reference_list() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(reference) = [root.join("../shared"), root.join("../../shared")]
        .into_iter()
        .map(|p| p.join("reference/imagenet_classes.txt"))
        .find(|p| p.is_file())
    else {
        panic!("../shared/reference/imagenet_classes.txt is missing");
    };
    let text = std::fs::read_to_string(reference).unwrap();
    let ours: Vec<String> = labels().iter().map(|l| format!("{}\t{}", l.wnid, l.names)).collect();
    let theirs: Vec<&str> = text.lines().collect();
    assert_eq!(ours, theirs);
}

#[test]
fn softmax_is_stable_and_sums_to_one() {
    let logits = [1000.0f32, 1001.0, 999.0, -1e30];
    let p = softmax(&logits);
    assert!(p.iter().all(|v| v.is_finite()));
    assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    // Same as a float64 softmax of the shifted logits.
    let e: Vec<f64> = [1.0f64, 2.0, 0.0].iter().map(|v| v.exp()).collect();
    let s: f64 = e.iter().sum();
    for (i, v) in e.iter().enumerate() {
        assert!((p[i] as f64 - v / s).abs() < 1e-6);
    }
    assert_eq!(p[3], 0.0);
    // Shifting every logit changes nothing.
    let shifted: Vec<f32> = [1.0f32, 2.0, 0.0].to_vec();
    let q = softmax(&shifted);
    for i in 0..3 {
        assert!((p[i] - q[i]).abs() < 1e-6);
    }
    assert!(softmax(&[]).is_empty());
    assert_eq!(softmax(&[5.0]), [1.0]);
}

#[test]
fn top_k_orders_by_value_then_index() {
    let v = [0.1f32, 0.5, f32::NAN, 0.3, 0.5, 0.05];
    assert_eq!(top_k(&v, 3), [(1, 0.5), (4, 0.5), (3, 0.3)]);
    assert_eq!(top_k(&v, 0), []);
    let all = top_k(&v, 100);
    assert_eq!(all.len(), 6);
    assert_eq!(all[5].0, 2, "NaN ranks last");
    assert!(top_k(&[], 5).is_empty());
    // Agrees with a full sort on random data.
    let mut rng = fastrand::Rng::with_seed(1);
    let v: Vec<f32> = (0..1000).map(|_| rng.f32()).collect();
    let mut sorted: Vec<usize> = (0..1000).collect();
    sorted.sort_by(|&a, &b| v[b].total_cmp(&v[a]));
    let top: Vec<usize> = top_k(&v, 5).into_iter().map(|(i, _)| i).collect();
    assert_eq!(top, sorted[..5]);
}

#[test]
fn predictions_carry_labels() {
    let mut p = vec![0.0f32; 1000];
    p[88] = 0.9;
    p[934] = 0.05;
    let top = predictions(&p, 2);
    assert_eq!((top[0].class_index, top[0].wnid.as_str(), top[0].label.as_str()), (88, "n01818515", "macaw"));
    assert_eq!(top[1].label, "hotdog");
    assert_eq!(top[0].probability, 0.9);
    // A zoo model may have more classes than there are labels.
    let mut p = vec![0.0f32; 1200];
    p[1100] = 1.0;
    assert_eq!(predictions(&p, 1)[0].label, "class 1100");
}

#[test]
fn a_model_without_preprocessing_is_a_config_error() {
    let mut model = Model::from_zoo("mobilenet_v1_0.25_128", 0).unwrap();
    let px = vec![0u8; 8 * 8 * 4];
    assert!(matches!(classify(&mut model, &px, 8, 8, PixelFormat::Rgba, 5), Err(Error::Config(_))));
}

fn models_dir() -> PathBuf {
    let dir = std::env::var("MOBILECNN_MODELS").unwrap_or_else(|_| "models".into());
    Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)
}

fn load(file: &str) -> Model {
    let path = models_dir().join(file);
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run bash tools/setup-python.sh && bash tools/fetch-models.sh)", path.display()));
    Model::from_bytes(&bytes).unwrap()
}

fn photo(name: &str) -> (Vec<u8>, usize, usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = [root.join("../shared/images/photos"), root.join("../../shared/images/photos")]
        .into_iter()
        .map(|p| p.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("../shared/images/photos/{name} is missing"));
    let img = image::open(path).unwrap().to_rgba8();
    let (w, h) = img.dimensions();
    (img.into_raw(), w as usize, h as usize)
}

#[test]
fn the_tflite_background_class_is_dropped() {
    let model = load("mobilenet_v2_1.0_224_quant.tflite");
    assert_eq!((model.meta().num_classes, model.meta().label_offset), (1000, 1));
    assert!(model.meta().preprocessing.is_some(), "the TFLite importer supplies the quantized input's preprocessing");
}

#[test]
fn real_models_name_real_photos() {
    // (model file, photo, expected top-1 label) — the reference's top-1 for these photos.
    let cases = [
        ("mobilenet_v2_1.0_224_quant.tflite", "parrot.jpg", "macaw"),
        ("mobilenet_v2_1.0_224_quant.tflite", "skimage_coffee.png", "espresso"),
        ("shufflenet_v2_x0_25.onnx", "skimage_chelsea.png", "tiger cat"),
        ("shufflenet_v1_g3_0.5x.onnx", "parrot.jpg", "macaw"),
        ("mobilenet_v1_0.25_128_quant.tflite", "cat.png", "Egyptian cat"),
    ];
    let mut classifier = Classifier::new();
    for (file, name, want) in cases {
        let mut model = load(file);
        let (px, w, h) = photo(name);
        let top = classifier.classify(&mut model, &px, w, h, PixelFormat::Rgba, 5).unwrap();
        assert_eq!(top.len(), 5);
        assert_eq!(top[0].label, want, "{file} {name}: {top:?}");
        assert!(top.windows(2).all(|p| p[0].probability >= p[1].probability));
        let total: f32 = model.probabilities().iter().sum();
        assert!((0.98..1.0001).contains(&total), "{file}: probabilities sum to {total}");
        // The one-shot function gives the same answer.
        assert_eq!(classify(&mut model, &px, w, h, PixelFormat::Rgba, 5).unwrap(), top);
    }
}

/// Pixels → our preprocessing → model → probabilities, against the reference's `probs.bin` for the PNG
/// photos (whose input bytes we reproduce exactly): checks colour order, normalisation and the label
/// offset end to end. Tolerances from ../shared/reference/README.md (quantized files run in float).
#[test]
fn the_whole_pipeline_matches_the_reference_probabilities() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = [root.join("../shared"), root.join("../../shared")].into_iter().find(|p| p.is_dir()).unwrap();
    let catalogue: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("catalogue/models.json")).unwrap()).unwrap();
    let photos = ["skimage_astronaut", "skimage_chelsea", "skimage_coffee", "skimage_rocket", "cat", "grace_hopper"];
    let mut classifier = Classifier::new();
    for entry in catalogue["models"].as_array().unwrap() {
        let (id, file) = (entry["id"].as_str().unwrap(), entry["file"].as_str().unwrap());
        let quantized = file.ends_with(".tflite");
        let mut model = load(file);
        let mut worst = 0.0f32;
        let mut same_top1 = 0;
        for name in photos {
            let (px, w, h) = photo(&format!("{name}.png"));
            let top = classifier.classify(&mut model, &px, w, h, PixelFormat::Rgba, 1).unwrap();
            let bytes = std::fs::read(shared.join("reference").join(id).join(format!("{name}.probs.bin"))).unwrap();
            let reference: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
            let ours = model.probabilities();
            assert_eq!(ours.len(), reference.len());
            worst = ours.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(worst, f32::max);
            same_top1 += usize::from(top[0].class_index == top_k(&reference, 1)[0].0);
        }
        println!("{id:30} max |p - p_ref| {worst:.2e}, same top-1 on {same_top1}/6");
        let (bound, min_same) = if quantized { (0.3, 5) } else { (1e-4, 6) };
        assert!(worst <= bound, "{id}: {worst}");
        assert!(same_top1 >= min_same, "{id}: {same_top1}/6");
    }
}
