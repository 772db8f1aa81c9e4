//! catalogue/models.json's `macs` and `params` are those of the real model files (./models or
//! $MOBILECNN_MODELS, from tools/fetch-models.sh), and each file costs what the zoo's build of the same
//! architecture costs: the importers and the zoo builders agree on every layer that does arithmetic.
#![cfg(not(target_arch = "wasm32"))]

use std::path::{Path, PathBuf};
use std::process::Command;

use mobilecnn::graph::cost::{totals, CostTotals};
use mobilecnn::Model;
use serde_json::Value;

fn catalogue() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalogue/models.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(std::env::var("MOBILECNN_MODELS").unwrap_or_else(|_| "models".into()))
}

fn cost(model: &Model) -> CostTotals {
    totals(&model.layer_costs())
}

/// The zoo id of the same architecture, width and resolution as a catalogue entry.
fn zoo_id(entry: &Value) -> Option<String> {
    let hyper = &entry["hyperparameters"];
    let size = entry["input_size"].as_u64()?;
    let num = |key: &str| hyper[key].as_f64();
    Some(match entry["architecture"].as_str()? {
        "mobilenet_v1" => format!("mobilenet_v1_{:?}_{size}", num("alpha")?),
        "mobilenet_v2" => format!("mobilenet_v2_{:?}_{size}", num("alpha")?),
        "shufflenet_v1" => format!("shufflenet_v1_g{}_{:?}_{size}", num("groups")?, num("scale")?),
        "shufflenet_v2" => format!("shufflenet_v2_{:?}_{size}", num("scale")?),
        _ => return None,
    })
}

/// |a - b| within `percent` % of b.
fn close(a: u64, b: u64, percent: f64) -> bool {
    (a as f64 - b as f64).abs() <= b as f64 * percent / 100.0
}

#[test]
fn catalogue_costs_are_the_files_costs_and_the_zoos() {
    let cat = catalogue();
    let mut checked = Vec::new();
    for entry in cat["models"].as_array().unwrap() {
        let id = entry["id"].as_str().unwrap();
        let path = models_dir().join(entry["file"].as_str().unwrap());
        let Ok(bytes) = std::fs::read(&path) else {
            eprintln!("{id}: {} is missing (bash tools/fetch-models.sh): skipped", path.display());
            continue;
        };
        let file = cost(&Model::from_bytes(&bytes).unwrap_or_else(|e| panic!("{id}: {e}")));
        assert_eq!(entry["macs"].as_u64(), Some(file.macs), "{id}: catalogue macs vs the file's graph");
        assert_eq!(entry["params"].as_u64(), Some(file.params), "{id}: catalogue params vs the file's graph");

        let zoo_id = zoo_id(entry).unwrap_or_else(|| panic!("{id}: no zoo architecture matches"));
        let zoo_model = Model::from_zoo(&zoo_id, 0).unwrap_or_else(|e| panic!("{id} -> {zoo_id}: {e}"));
        let zoo = cost(&zoo_model);
        assert!(close(file.macs, zoo.macs, 1.0), "{id}: {} MACs, zoo {zoo_id}: {}", file.macs, zoo.macs);
        assert!(close(file.params, zoo.params, 1.0), "{id}: {} params, zoo {zoo_id}: {}", file.params, zoo.params);
        // In fact the only difference is the classifier's extra rows: the TFLite files have 1001
        // outputs (a `background` class) where the zoo has 1000.
        let classes = zoo_model.meta().num_classes as u64;
        let extra = entry["num_outputs"].as_u64().unwrap() - classes;
        let head = zoo_model.layer_costs().into_iter().rev().find(|l| l.macs > 0).unwrap();
        let features = head.macs / classes;
        assert_eq!(file.macs, zoo.macs + extra * features, "{id} vs {zoo_id}: MACs beyond the {extra} extra outputs");
        assert_eq!(file.params, zoo.params + extra * (features + 1), "{id} vs {zoo_id}: params beyond the {extra} extra outputs");
        eprintln!("{id}: {} MACs, {} params; zoo {zoo_id}: {} MACs, {} params", file.macs, file.params, zoo.macs, zoo.params);
        checked.push(id.to_string());
    }
    assert!(!checked.is_empty(), "no catalogue model file in {}: run bash tools/fetch-models.sh", models_dir().display());
}

#[test]
fn mobilenet_v2_quant_costs_what_the_zoo_mobilenet_v2_costs() {
    let cat = catalogue();
    let entry = cat["models"].as_array().unwrap().iter().find(|m| m["id"] == "mobilenet_v2_1.0_224_quant").unwrap();
    let zoo = cost(&Model::from_zoo("mobilenet_v2_1.0_224", 0).unwrap());
    assert_eq!(zoo.macs, 300_774_272);
    // The one extra class row of the classifier: 1280 multiply-adds.
    assert_eq!(entry["macs"].as_u64(), Some(zoo.macs + 1280));
}

/// `mobilecnn info <catalogue id or file> --json`, the command tools/make_catalogue.py runs.
#[test]
fn info_reports_a_catalogue_models_costs() {
    let cat = catalogue();
    let entry = cat["models"].as_array().unwrap().iter().find(|m| m["id"] == "shufflenet_v2_x0_25").unwrap();
    let file = models_dir().join(entry["file"].as_str().unwrap());
    for spec in ["shufflenet_v2_x0_25", file.to_str().unwrap()] {
        let out = Command::new(env!("CARGO_BIN_EXE_mobilecnn"))
            .args(["info", spec, "--json"])
            .env("MOBILECNN_MODELS", models_dir())
            .output()
            .unwrap();
        assert!(out.status.success(), "info {spec}: {}", String::from_utf8_lossy(&out.stderr));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["id"], "shufflenet_v2_x0_25");
        assert_eq!(report["source"], "catalogue");
        assert_eq!(report["input"], serde_json::json!([224, 224, 3]));
        assert_eq!(report["totals"]["macs"], entry["macs"], "{spec}");
        assert_eq!(report["totals"]["params"], entry["params"], "{spec}");
        let layer_macs: u64 = report["layers"].as_array().unwrap().iter().map(|l| l["macs"].as_u64().unwrap()).sum();
        assert_eq!(Some(layer_macs), entry["macs"].as_u64());
    }
    // Neither a file, a catalogue id nor a zoo id: a clear error, not a panic.
    let out = Command::new(env!("CARGO_BIN_EXE_mobilecnn")).args(["info", "no_such_model"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("neither a file nor a catalogue id") && err.contains("zoo id"), "{err}");
}
