//! The `mobilecnn zoo` and `mobilecnn info` subcommands, run as a user would (natively).
#![cfg(not(target_arch = "wasm32"))]


use mobilecnn::graph::cost::{layer_costs, totals};
use serde_json::Value;

mod cli_util;
use cli_util::{mobilecnn, stdout};

#[test]
fn zoo_lists_every_model() {
    let text = stdout(&["zoo"]);
    assert!(text.starts_with("id"), "{text}");
    for &id in mobilecnn::zoo::ids() {
        assert!(text.lines().any(|l| l.split_whitespace().next() == Some(id)), "{id} missing:\n{text}");
    }
    let v1 = text.lines().find(|l| l.starts_with("mobilenet_v1_1.0_224")).unwrap();
    assert_eq!(v1.split_whitespace().collect::<Vec<_>>(), ["mobilenet_v1_1.0_224", "224", "568.740", "4.210", "34.642"]);
}

#[test]
fn zoo_json_matches_the_library() {
    let list: Value = serde_json::from_str(&stdout(&["zoo", "--json"])).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), mobilecnn::zoo::ids().len());
    for entry in list {
        let id = entry["id"].as_str().unwrap();
        let t = totals(&layer_costs(&mobilecnn::zoo::build(id, 0).unwrap()));
        assert_eq!(entry["macs"].as_u64(), Some(t.macs), "{id}");
        assert_eq!(entry["params"].as_u64(), Some(t.params), "{id}");
        assert_eq!(entry["mac"].as_u64(), Some(t.mac), "{id}");
    }
}

#[test]
fn info_reports_every_layer() {
    let id = "shufflenet_v2_0.5";
    let graph = mobilecnn::zoo::build(id, 0).unwrap();
    let report: Value = serde_json::from_str(&stdout(&["info", id, "--json"])).unwrap();
    let layers = report["layers"].as_array().unwrap();
    assert_eq!(layers.len(), graph.nodes.len());
    assert_eq!(layers.last().unwrap()["output"], serde_json::json!([1, 1, 1000]));
    let share: f64 = layers.iter().map(|l| l["macs_percent"].as_f64().unwrap()).sum();
    assert!((share - 100.0).abs() < 1e-6, "shares sum to {share}");
    let macs: u64 = layers.iter().map(|l| l["macs"].as_u64().unwrap()).sum();
    assert_eq!(report["totals"]["macs"].as_u64(), Some(macs));

    let text = stdout(&["info", "mobilenet_v1_0.35_96"]);
    assert!(text.lines().any(|l| l.starts_with("conv_pw_13 ")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("total ")), "{text}");
}

#[test]
fn info_rejects_unknown_ids() {
    let out = mobilecnn(&["info", "resnet50"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown zoo id 'resnet50'"), "{err}");
}
