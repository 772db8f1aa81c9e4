//! `mobilecnn classify` and `mobilecnn eval` run as a user would, with the real model files
//! (./models or $MOBILECNN_MODELS, from tools/fetch-models.sh) and the shared photos.
#![cfg(not(target_arch = "wasm32"))]

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;

mod cli_util;
use cli_util::{mobilecnn, stdout};

/// `../shared/<rel>` next to the checkout or next to the folder of worktrees.
fn shared(rel: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path: PathBuf = [root.join("../shared"), root.join("../../shared")]
        .into_iter()
        .map(|p| p.join(rel))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("../shared/{rel} is missing"));
    path.to_str().unwrap().to_string()
}

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(std::env::var("MOBILECNN_MODELS").unwrap_or_else(|_| "models".into()))
}

#[test]
fn classify_names_the_parrot() {
    let parrot = shared("images/photos/parrot.jpg");
    let text = stdout(&["classify", "mobilenet_v2_1.0_224_quant", &parrot]);
    let first = text.lines().nth(1).unwrap();
    assert!(first.trim_start().starts_with("1. macaw"), "{text}");
    assert_eq!(text.lines().count(), 6, "the image and 5 classes:\n{text}");

    let chelsea = shared("images/photos/skimage_chelsea.png");
    let json: Value = serde_json::from_str(&stdout(&["classify", "mobilenet_v2_1.0_224_quant", &parrot, &chelsea, "--top", "3", "--json"])).unwrap();
    assert_eq!(json["model"], "mobilenet_v2_1.0_224_quant");
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let top = results[0]["predictions"].as_array().unwrap();
    assert_eq!(top.len(), 3);
    assert_eq!((top[0]["label"].as_str(), top[0]["class_index"].as_u64(), top[0]["wnid"].as_str()), (Some("macaw"), Some(88), Some("n01818515")));
    assert!(top[0]["probability"].as_f64().unwrap() > 0.9);
    assert_eq!(results[1]["predictions"][0]["label"], "tiger cat");
}

#[test]
fn classify_takes_a_model_file_path() {
    let file = models_dir().join("shufflenet_v1_g3_0.5x.onnx");
    let coffee = shared("images/photos/skimage_coffee.png");
    let json: Value = serde_json::from_str(&stdout(&["classify", file.to_str().unwrap(), &coffee, "--json", "--top", "1"])).unwrap();
    assert_eq!(json["results"][0]["predictions"][0]["label"], "espresso");
}

#[test]
fn bad_arguments_are_clear_errors() {
    let parrot = shared("images/photos/parrot.jpg");
    let not_an_image = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    for (args, says) in [
        (vec!["classify", "no_such_model", parrot.as_str()], "neither a file nor a catalogue id"),
        (vec!["classify", "mobilenet_v2_1.0_224_quant", "/no/such/photo.png"], "/no/such/photo.png"),
        (vec!["classify", "mobilenet_v2_1.0_224_quant", not_an_image], "Cargo.toml"),
        (vec!["classify", not_an_image, parrot.as_str()], "malformed"),
        (vec!["eval", "mobilenet_v2_1.0_224_quant", "/no/such/folder"], "/no/such/folder"),
    ] {
        let out = mobilecnn(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(err.starts_with("error: ") && err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// The reference's top-1 class for each dev photo.
fn reference_top1(model: &str) -> (Vec<(String, u64, u64)>, f64) {
    let text = std::fs::read_to_string(shared(&format!("reference/{model}/dev_top5.json"))).unwrap();
    let dev: Value = serde_json::from_str(&text).unwrap();
    let images = dev["images"].as_array().unwrap();
    let rows = images
        .iter()
        .map(|i| (i["file"].as_str().unwrap().to_string(), i["label"].as_u64().unwrap(), i["top5"][0][0].as_u64().unwrap()))
        .collect();
    (rows, dev["top1"].as_f64().unwrap())
}

/// Runs `eval --json` and compares with the reference photo by photo: (our top-1, reference top-1
/// on the same photos, photos where both pick the same class, count).
fn eval_against_reference(model: &str, limit: Option<usize>) -> (f64, f64, usize, usize) {
    let folder = shared("images/imagenet-dev");
    let limit_text = limit.map(|n| n.to_string());
    let mut args = vec!["eval", model, folder.as_str(), "--json"];
    if let Some(n) = &limit_text {
        args.extend(["--limit", n.as_str()]);
    }
    let report: Value = serde_json::from_str(&stdout(&args)).unwrap();
    let (reference, _) = reference_top1(model);
    let ours = report["per_image"].as_array().unwrap();
    let n = ours.len();
    assert_eq!(report["images"].as_u64(), Some(n as u64));
    assert_eq!(n, limit.unwrap_or(250));
    let mut reference_correct = 0;
    let mut same = 0;
    for (mine, (file, label, theirs)) in ours.iter().zip(&reference) {
        assert_eq!(mine["file"].as_str(), Some(file.as_str()), "same photos in the same order");
        assert_eq!(mine["label"].as_u64(), Some(*label));
        reference_correct += usize::from(theirs == label);
        same += usize::from(mine["top5"][0][0].as_u64() == Some(*theirs));
    }
    (report["top1"].as_f64().unwrap(), reference_correct as f64 / n as f64, same, n)
}

#[test]
fn eval_on_a_small_subset_agrees_with_the_reference() {
    let (ours, reference, same, n) = eval_against_reference("shufflenet_v2_x0_25", Some(24));
    println!("shufflenet_v2_x0_25 first 24: ours {ours:.3}, reference {reference:.3}, same top-1 on {same}/{n}");
    assert!(same >= 23, "{same}/{n}");
    assert!((ours - reference).abs() <= 1.0 / 24.0 + 1e-9);
}

/// The acceptance condition (top-1 within 2 points of the reference) on the whole dev set for
/// MobileNet V1, ShuffleNet V1 and V2. MobileNet V2 (300 M MACs) takes too long in the test profile on
/// this 2-core machine for the whole set, so it runs on the first 100 photos, compared photo by photo
/// with the reference; its full-set figure comes from `mobilecnn eval` in docs/results.md.
#[test]
fn dev_set_top1_within_two_points_per_architecture() {
    // (model, photos, minimum photos with the reference's top-1). The quantized files run in float with
    // dequantized weights and our JPEG decoder differs slightly, so they agree a little less often.
    let cases = [
        ("mobilenet_v1_0.25_128_quant", None, 230),
        ("shufflenet_v1_g3_0.5x", None, 245),
        ("shufflenet_v2_x0_25", None, 245),
        ("mobilenet_v2_1.0_224_quant", Some(100), 95),
    ];
    for (model, limit, min_same) in cases {
        let t = Instant::now();
        let (ours, reference, same, n) = eval_against_reference(model, limit);
        println!("{model}: top-1 {ours:.3} vs reference {reference:.3} on {n} photos, same top-1 on {same} ({:.1} s)", t.elapsed().as_secs_f64());
        assert!((ours - reference).abs() <= 0.02 + 1e-9, "{model}: {ours} vs {reference}");
        assert!(same >= min_same, "{model}: same top-1 as the reference on only {same}/{n}");
    }
}

/// CRC-32 (PNG's) of `bytes`.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A PNG whose header claims `w`×`h` RGB pixels, followed by no image data.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    png.extend(13u32.to_be_bytes());
    png.extend(&ihdr);
    png.extend(crc32(&ihdr).to_be_bytes());
    png.extend(0u32.to_be_bytes());
    png.extend(b"IEND");
    png.extend(crc32(b"IEND").to_be_bytes());
    png
}

#[test]
fn hostile_image_files_are_errors_not_crashes() {
    let dir = std::env::temp_dir().join(format!("mobilecnn-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let parrot = std::fs::read(shared("images/photos/parrot.jpg")).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("huge.png", png_claiming(100_000, 100_000)),
        ("zero.png", png_claiming(0, 0)),
        ("tall.png", png_claiming(1, 1 << 30)),
        ("truncated.jpg", parrot[..parrot.len() / 3].to_vec()),
        ("header_only.jpg", parrot[..200].to_vec()),
        ("empty.png", Vec::new()),
    ];
    for (name, bytes) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let t = Instant::now();
        let out = mobilecnn(&["classify", "shufflenet_v2_x0_25", path.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        // A decoder may fill a truncated JPEG with grey and succeed; anything else must be a clean error.
        assert!(out.status.success() || err.starts_with("error: "), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert!(t.elapsed().as_secs() < 20, "{name} took {:?}", t.elapsed());
        println!("{name}: {}", if out.status.success() { "decoded".into() } else { err.trim().to_string() });
    }
    std::fs::remove_dir_all(&dir).ok();
}
