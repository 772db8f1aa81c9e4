//! ONNX allows several spellings of the same network. Each test rewrites a real converted file
//! (through the generated messages) into another spelling — Slice instead of Split, MatMul + Add
//! instead of Gemm, Clip instead of Relu, Reshape instead of Flatten, Reshape targets with 0 and
//! −1, auto_pad instead of explicit pads, a trailing Softmax, Identity nodes — and checks that
//! the importer gives the same probabilities as for the original file.
#![cfg(not(target_arch = "wasm32"))]

use std::path::PathBuf;

use mobilecnn::import::onnx_proto as pb;
use mobilecnn::{Model, OutputKind};
use prost::Message;

fn model_bytes(file: &str) -> Vec<u8> {
    let dir = std::env::var_os("MOBILECNN_MODELS").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models"), PathBuf::from);
    std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e} (run tools/fetch-models.sh)"))
}

fn probabilities(bytes: &[u8]) -> (Vec<f32>, OutputKind) {
    let mut m = Model::from_bytes(bytes).unwrap();
    let mut rng = fastrand::Rng::with_seed(11);
    let x: Vec<f32> = (0..m.input_len()).map(|_| rng.f32() * 2.0 - 1.0).collect();
    let kind = m.meta().output;
    (m.run(&x).unwrap().to_vec(), kind)
}

/// Rewrites `file` with `f` and compares the probabilities with the original's.
fn same_as_original(file: &str, f: impl FnOnce(&mut pb::GraphProto)) -> OutputKind {
    let bytes = model_bytes(file);
    let (want, _) = probabilities(&bytes);
    let mut m = pb::ModelProto::decode(&bytes[..]).unwrap();
    let before = m.graph.as_ref().unwrap().node.len();
    f(m.graph.as_mut().unwrap());
    assert_ne!(m.graph.as_ref().unwrap().node.len(), 0);
    let (got, kind) = probabilities(&m.encode_to_vec());
    let diff = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(diff < 1e-5, "{file}: max |Δp| {diff} after the rewrite ({before} nodes before)");
    assert!(want.iter().copied().fold(0.0, f32::max) > 2.0 / want.len() as f32, "the comparison is not degenerate");
    kind
}

fn ints(name: &str, v: &[i64]) -> pb::TensorProto {
    pb::TensorProto { name: Some(name.into()), dims: vec![v.len() as i64], data_type: Some(7), int64_data: v.to_vec(), ..Default::default() }
}

fn node(op: &str, inputs: &[&str], output: &str, attribute: Vec<pb::AttributeProto>) -> pb::NodeProto {
    pb::NodeProto {
        op_type: Some(op.into()),
        name: Some(output.into()),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute,
        ..Default::default()
    }
}

fn attr_str(name: &str, v: &str) -> pb::AttributeProto {
    pb::AttributeProto { name: Some(name.into()), s: Some(v.as_bytes().to_vec()), r#type: Some(3), ..Default::default() }
}

/// Replaces every node for which `f` returns Some with the returned nodes.
fn replace(g: &mut pb::GraphProto, mut f: impl FnMut(&pb::NodeProto, &mut Vec<pb::TensorProto>) -> Option<Vec<pb::NodeProto>>) {
    let mut nodes = Vec::new();
    let mut inits = Vec::new();
    let mut replaced = 0;
    for n in std::mem::take(&mut g.node) {
        match f(&n, &mut inits) {
            Some(new) => {
                replaced += 1;
                nodes.extend(new);
            }
            None => nodes.push(n),
        }
    }
    assert!(replaced > 0, "nothing was rewritten");
    g.node = nodes;
    g.initializer.extend(inits);
}

fn initializer<'a>(g: &'a pb::GraphProto, name: &str) -> &'a pb::TensorProto {
    g.initializer.iter().find(|t| t.name() == name).unwrap()
}

fn i64s(t: &pb::TensorProto) -> Vec<i64> {
    if t.int64_data.is_empty() {
        t.raw_data().chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap())).collect()
    } else {
        t.int64_data.clone()
    }
}

#[test]
fn split_as_slices() {
    same_as_original("shufflenet_v2_x0_25.onnx", |g| {
        let sizes: Vec<(String, Vec<i64>)> =
            g.node.iter().filter(|n| n.op_type() == "Split").map(|n| (n.name().to_string(), i64s(initializer(g, &n.input[1])))).collect();
        replace(g, |n, inits| {
            let (_, s) = sizes.iter().find(|(name, _)| name == n.name())?;
            let mut start = 0;
            let mut out = Vec::new();
            for (k, &len) in s.iter().enumerate() {
                let p = format!("{}.slice{k}", n.name());
                inits.push(ints(&format!("{p}.starts"), &[start]));
                // The last slice runs to "the end" as exporters write it.
                inits.push(ints(&format!("{p}.ends"), &[if k + 1 == s.len() { i64::MAX } else { start + len }]));
                inits.push(ints(&format!("{p}.axes"), &[1]));
                let mut slice = node("Slice", &[&n.input[0], &format!("{p}.starts"), &format!("{p}.ends"), &format!("{p}.axes")], &n.output[k], vec![]);
                slice.name = Some(p);
                out.push(slice);
                start += len;
            }
            Some(out)
        });
    });
}

#[test]
fn split_into_equal_parts_without_sizes() {
    same_as_original("shufflenet_v2_x0_33.onnx", |g| {
        replace(g, |n, _| {
            (n.op_type() == "Split").then(|| {
                let mut s = n.clone();
                s.input.truncate(1);
                vec![s]
            })
        });
    });
}

#[test]
fn gemm_as_matmul_and_add() {
    // Paddle's classifier is stored [in, out]: Gemm without transB is MatMul, its bias an Add.
    same_as_original("shufflenet_v2_x0_25.onnx", |g| {
        replace(g, |n, _| {
            (n.op_type() == "Gemm").then(|| {
                let mm = format!("{}.matmul", n.output[0]);
                vec![node("MatMul", &[&n.input[0], &n.input[1]], &mm, vec![]), node("Add", &[&mm, &n.input[2]], &n.output[0], vec![])]
            })
        });
    });
}

#[test]
fn relu_as_clip_and_identities() {
    same_as_original("shufflenet_v1_g3_0.5x.onnx", |g| {
        g.initializer.push(pb::TensorProto { name: Some("zero".into()), data_type: Some(1), float_data: vec![0.0], ..Default::default() });
        replace(g, |n, _| {
            (n.op_type() == "Relu").then(|| {
                let mid = format!("{}.pre", n.output[0]);
                // Clip with a min and no max (opset 11+ inputs), behind an Identity.
                vec![node("Identity", &[&n.input[0]], &mid, vec![]), node("Clip", &[&mid, "zero", ""], &n.output[0], vec![])]
            })
        });
    });
}

#[test]
fn flatten_as_reshape_and_shuffle_targets_with_minus_one() {
    same_as_original("shufflenet_v1_g8_0.5x.onnx", |g| {
        let targets: Vec<(String, Vec<i64>)> =
            g.node.iter().filter(|n| n.op_type() == "Reshape").map(|n| (n.name().to_string(), i64s(initializer(g, &n.input[1])))).collect();
        let mut k = 0;
        replace(g, |n, inits| match n.op_type() {
            "Flatten" => {
                inits.push(ints("flat_shape", &[1, -1]));
                Some(vec![node("Reshape", &[&n.input[0], "flat_shape"], &n.output[0], vec![])])
            }
            "Reshape" => {
                let (_, t) = targets.iter().find(|(name, _)| name == n.name())?;
                k += 1;
                let name = format!("target_{k}");
                // [1, g, c/g, H, W] as [0, g, -1, H, W] (0 copies the input's dim 0); the way back
                // to [1, C, H, W] as [1, -1, H, W].
                let new = if t.len() == 5 { vec![0, t[1], -1, t[3], t[4]] } else { vec![1, -1, t[2], t[3]] };
                inits.push(ints(&name, &new));
                Some(vec![node("Reshape", &[&n.input[0], &name], &n.output[0], vec![])])
            }
            _ => None,
        });
    });
}

#[test]
fn explicit_pads_as_auto_pad() {
    // Keras' first conv pads TF-style [0, 0, 1, 1] for 3×3/2 on 224: SAME_UPPER.
    same_as_original("keras_mobilenet_v1_0.25_224.onnx", |g| {
        let mut done = false;
        replace(g, |n, _| {
            if done || n.op_type() != "Conv" {
                return None;
            }
            done = true;
            let mut c = n.clone();
            c.attribute.retain(|a| a.name() != "pads");
            c.attribute.push(attr_str("auto_pad", "SAME_UPPER"));
            Some(vec![c])
        });
    });
}

#[test]
fn trailing_softmax_makes_probabilities() {
    let kind = same_as_original("keras_mobilenet_v1_0.25_224.onnx", |g| {
        let out = g.output[0].name().to_string();
        let logits = format!("{out}.logits");
        for n in &mut g.node {
            for o in &mut n.output {
                if *o == out {
                    o.clone_from(&logits);
                }
            }
        }
        g.node.push(node("Softmax", &[&logits], &out, vec![]));
    });
    assert_eq!(kind, OutputKind::Probabilities);
}
