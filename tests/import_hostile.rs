//! Hostile model files: truncated, bit-flipped, with mutated fields (dims, indices, types, ops),
//! absurd sizes, unsupported operators, wrong magic, empty. Each must give an `Error` (or, where
//! the damage leaves a valid model, load) — never a panic, a hang or a huge allocation. Every
//! case runs under a time bound, and a counting allocator fails any test whose largest single
//! allocation exceeds 256 MiB.
#![cfg(not(target_arch = "wasm32"))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mobilecnn::import::onnx_proto as pb;
use mobilecnn::import::tflite_fbs::tflite as fb;
use mobilecnn::{Error, Model};
use planus::ReadAsRoot;
use prost::Message;

/// Records the largest single allocation request of the process.
struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);
const ALLOCATION_LIMIT: usize = 256 << 20;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LARGEST.fetch_max(l.size(), Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        LARGEST.fetch_max(l.size(), Ordering::Relaxed);
        System.alloc_zeroed(l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LARGEST.fetch_max(new, Ordering::Relaxed);
        System.realloc(p, l, new)
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const TFLITE: &str = "mobilenet_v1_0.25_128_quant.tflite";
const TFLITE_INT8: &str = "tf2_mobilenet_v2_1.0_224_ptq.tflite";
const ONNX: &str = "shufflenet_v2_x0_25.onnx";

fn model_bytes(file: &str) -> Vec<u8> {
    let dir = std::env::var_os("MOBILECNN_MODELS").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models"), PathBuf::from);
    let path = dir.join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run tools/fetch-models.sh)", path.display()))
}

/// Loads `bytes` on a worker thread; fails the test if it takes longer than `limit`.
fn load_within(bytes: Vec<u8>, limit: Duration) -> Result<(), Error> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = Model::from_bytes(&bytes).map(|_| ());
        let _ = tx.send(r);
    });
    match rx.recv_timeout(limit) {
        Ok(r) => r,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("loading took longer than {limit:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("loading panicked"),
    }
}

fn load(bytes: Vec<u8>) -> Result<(), Error> {
    load_within(bytes, Duration::from_secs(20))
}

fn assert_allocations_bounded() {
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(largest <= ALLOCATION_LIMIT, "an allocation of {largest} bytes");
}

/// Offsets to cut at: every one in the first `dense` bytes, then `sampled` spread over the file.
fn cut_points(len: usize, dense: usize, sampled: usize, seed: u64) -> Vec<usize> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut cuts: Vec<usize> = (0..dense.min(len)).collect();
    cuts.extend((0..sampled).map(|_| rng.usize(0..len)));
    cuts.extend([len - 1, len / 2]);
    cuts
}

#[test]
fn empty_and_wrong_magic() {
    assert!(matches!(Model::from_bytes(&[]), Err(Error::Malformed(_))));
    for junk in [&b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..], b"GIF89a", b"\0\0\0\0", b"TFL3TFL3TFL3"] {
        assert!(load(junk.to_vec()).is_err(), "{junk:?}");
    }
    // A TFLite file whose identifier is damaged is not taken for TFLite, and not for ONNX either.
    let mut t = model_bytes(TFLITE);
    t[4..8].copy_from_slice(b"TFL2");
    assert!(matches!(load(t), Err(Error::Malformed(_))));
    // An ONNX file with the TFLite identifier at offset 4 is read as TFLite and rejected.
    let mut o = model_bytes(ONNX);
    o[4..8].copy_from_slice(b"TFL3");
    assert!(matches!(load(o), Err(Error::Malformed(_))));
    assert_allocations_bounded();
}

#[test]
fn truncated_tflite_files_are_errors() {
    let bytes = model_bytes(TFLITE);
    // The Coral files carry a zip archive (labels) after the flatbuffer; cutting into it leaves
    // the model whole.
    let flatbuffer_end = bytes.windows(4).position(|w| w == b"PK\x03\x04").unwrap_or(bytes.len());
    let start = Instant::now();
    for cut in cut_points(flatbuffer_end, 1024, 300, 1) {
        let r = load(bytes[..cut].to_vec());
        assert!(r.is_err(), "{TFLITE} cut at {cut} of {} loaded", bytes.len());
    }
    for cut in cut_points(bytes.len(), 0, 20, 5) {
        let _ = load(bytes[..cut].to_vec());
    }
    assert_allocations_bounded();
    eprintln!("tflite truncations: {:?}", start.elapsed());
}

#[test]
fn truncated_onnx_files_are_errors() {
    let bytes = model_bytes(ONNX);
    // A protobuf cut right after the graph is a valid model without metadata: the fields after
    // the graph (opset, metadata) are the only ones whose loss can go unnoticed.
    let m = pb::ModelProto::decode(&bytes[..]).unwrap();
    let after_graph = pb::ModelProto { opset_import: m.opset_import.clone(), metadata_props: m.metadata_props.clone(), ..Default::default() };
    let graph_end = bytes.len() - after_graph.encoded_len();
    for cut in cut_points(bytes.len(), 1024, 300, 2) {
        let r = load(bytes[..cut].to_vec());
        if cut < graph_end {
            assert!(r.is_err(), "{ONNX} cut at {cut} of {} loaded", bytes.len());
        }
    }
    assert_allocations_bounded();
}

#[test]
fn random_byte_flips_never_panic() {
    for (file, seed) in [(TFLITE, 3), (ONNX, 4)] {
        let bytes = model_bytes(file);
        let mut rng = fastrand::Rng::with_seed(seed);
        let (mut ok, mut err) = (0, 0);
        for _ in 0..120 {
            let mut b = bytes.clone();
            // Flip bytes in the first 4 KiB (headers, tables, offsets) as often as elsewhere.
            for _ in 0..rng.usize(1..8) {
                let i = if rng.bool() { rng.usize(0..4096.min(b.len())) } else { rng.usize(0..b.len()) };
                b[i] ^= 1 << rng.u8(0..8);
            }
            match load(b) {
                Ok(()) => ok += 1,
                Err(_) => err += 1,
            }
        }
        eprintln!("{file}: {ok} flipped files still load (weights changed), {err} rejected");
    }
    assert_allocations_bounded();
}

// --- TFLite field mutations, through the generated tables: decode, change one field, re-encode.

fn tflite_model(file: &str) -> fb::Model {
    let bytes = model_bytes(file);
    fb::Model::try_from(fb::ModelRef::read_as_root(&bytes).unwrap()).unwrap()
}

fn encode_tflite(m: &fb::Model) -> Vec<u8> {
    let mut b = planus::Builder::new().finish(m, Some(*b"TFL3")).to_vec();
    // planus 1.3 writes the file identifier in front of the root offset (which it makes relative
    // to its own position, 4); FlatBuffers and TFLite put the offset at 0 and the identifier at 4.
    assert_eq!(b[..4], *b"TFL3");
    let root = u32::from_le_bytes(b[4..8].try_into().unwrap()) + 4;
    b[..4].copy_from_slice(&root.to_le_bytes());
    b[4..8].copy_from_slice(b"TFL3");
    b
}

fn mutate_tflite(file: &str, f: impl FnOnce(&mut fb::Model)) -> Result<(), Error> {
    let mut m = tflite_model(file);
    f(&mut m);
    load(encode_tflite(&m))
}

fn sg(m: &mut fb::Model) -> &mut fb::SubGraph {
    &mut m.subgraphs.as_mut().unwrap()[0]
}

fn tensors(m: &mut fb::Model) -> &mut Vec<fb::Tensor> {
    sg(m).tensors.as_mut().unwrap()
}

fn ops(m: &mut fb::Model) -> &mut Vec<fb::Operator> {
    sg(m).operators.as_mut().unwrap()
}

/// Index of the weight tensor of the first operator (its input 1).
fn first_weight(m: &mut fb::Model) -> usize {
    ops(m)[0].inputs.as_ref().unwrap()[1] as usize
}

#[test]
fn tflite_reencoded_unchanged_still_matches() {
    // The mutation harness itself is sound: re-encoding without a change gives a working model.
    assert!(mutate_tflite(TFLITE, |_| {}).is_ok());
    assert!(mutate_tflite(TFLITE_INT8, |_| {}).is_ok());
}

#[test]
fn tflite_absurd_dimensions_are_too_large() {
    // 10^12 elements claimed by a weight tensor.
    let r = mutate_tflite(TFLITE, |m| {
        let w = first_weight(m);
        tensors(m)[w].shape = Some(vec![100, 100_000, 100_000, 1]);
    });
    assert!(matches!(r, Err(Error::TooLarge(_))), "{r:?}");
    // And by the input.
    let r = mutate_tflite(TFLITE, |m| {
        let i = sg(m).inputs.as_ref().unwrap()[0] as usize;
        tensors(m)[i].shape = Some(vec![1, 1_000_000, 1_000_000, 3]);
    });
    assert!(matches!(r, Err(Error::TooLarge(_))), "{r:?}");
    // An input that fits the element limit but whose activations would not fit the arena.
    let r = mutate_tflite(TFLITE, |m| {
        let i = sg(m).inputs.as_ref().unwrap()[0] as usize;
        tensors(m)[i].shape = Some(vec![1, 8000, 8000, 3]);
    });
    assert!(matches!(r, Err(Error::TooLarge(_)) | Err(Error::Shape { .. })), "{r:?}");
    let r = mutate_tflite(TFLITE, |m| {
        let w = first_weight(m);
        tensors(m)[w].shape = Some(vec![8, -3, 3, 3]);
    });
    assert!(matches!(r, Err(Error::Malformed(_))), "{r:?}");
    // A depthwise weight with no channels (and no data).
    let r = mutate_tflite(TFLITE, |m| {
        let w = ops(m)[1].inputs.as_ref().unwrap()[1] as usize;
        tensors(m)[w].shape = Some(vec![1, 3, 3, 0]);
        let b = tensors(m)[w].buffer as usize;
        m.buffers.as_mut().unwrap()[b].data = Some(vec![]);
    });
    assert!(matches!(r, Err(Error::Shape { .. })), "{r:?}");
    assert_allocations_bounded();
}

#[test]
fn tflite_indices_out_of_range_are_malformed() {
    type Mutation = Box<dyn FnOnce(&mut fb::Model)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("buffer index", Box::new(|m| {
            let w = first_weight(m);
            tensors(m)[w].buffer = 1_000_000;
        })),
        ("operator input", Box::new(|m| ops(m)[3].inputs.as_mut().unwrap()[0] = 1_000_000)),
        ("operator output", Box::new(|m| ops(m)[3].outputs.as_mut().unwrap()[0] = -5)),
        ("opcode index", Box::new(|m| ops(m)[0].opcode_index = 999)),
        ("graph input", Box::new(|m| sg(m).inputs = Some(vec![77_777]))),
        ("graph output", Box::new(|m| sg(m).outputs = Some(vec![-1]))),
        ("weight bytes", Box::new(|m| {
            let w = first_weight(m);
            let b = tensors(m)[w].buffer as usize;
            let data = m.buffers.as_mut().unwrap()[b].data.as_mut().unwrap();
            data.truncate(data.len() / 2);
        })),
        ("input used before computed", Box::new(|m| ops(m).swap(0, 1))),
        ("no subgraphs", Box::new(|m| m.subgraphs = Some(vec![]))),
        ("per-channel scales", Box::new(|m| {
            let w = first_weight(m);
            let q = tensors(m)[w].quantization.as_mut().unwrap();
            q.scale = Some(vec![0.1, 0.2, 0.3]);
            q.zero_point = Some(vec![0, 0, 0]);
        })),
        ("stride 0", Box::new(|m| {
            if let Some(fb::BuiltinOptions::Conv2DOptions(o)) = &mut ops(m)[0].builtin_options {
                o.stride_h = 0;
            }
        })),
    ];
    for (what, f) in cases {
        let r = mutate_tflite(TFLITE, f);
        eprintln!("{what}: {r:?}");
        assert!(matches!(r, Err(Error::Malformed(_))), "{what}: {r:?}");
    }
    assert_allocations_bounded();
}

#[test]
fn tflite_unsupported_ops_and_types() {
    let r = mutate_tflite(TFLITE, |m| {
        let c = ops(m)[0].opcode_index as usize;
        let code = &mut m.operator_codes.as_mut().unwrap()[c];
        code.builtin_code = 28; // TANH
        code.deprecated_builtin_code = 28;
    });
    assert!(matches!(&r, Err(Error::Unsupported(s)) if s.contains("TANH")), "{r:?}");
    let r = mutate_tflite(TFLITE, |m| {
        let c = ops(m)[0].opcode_index as usize;
        m.operator_codes.as_mut().unwrap()[c].builtin_code = 100_000; // newer than this runtime
    });
    assert!(matches!(r, Err(Error::Unsupported(_))), "{r:?}");
    let r = mutate_tflite(TFLITE, |m| {
        let w = first_weight(m);
        tensors(m)[w].type_ = 5; // STRING
    });
    assert!(matches!(r, Err(Error::Unsupported(_))), "{r:?}");
    let r = mutate_tflite(TFLITE, |m| {
        if let Some(fb::BuiltinOptions::Conv2DOptions(o)) = &mut ops(m)[0].builtin_options {
            o.fused_activation_function = fb::ActivationFunctionType::Tanh;
        }
    });
    assert!(matches!(r, Err(Error::Unsupported(_))), "{r:?}");
    let r = mutate_tflite(TFLITE, |m| ops(m)[0].builtin_options = None);
    assert!(matches!(r, Err(Error::Malformed(_))), "{r:?}");
    assert_allocations_bounded();
}

// --- ONNX field mutations, through the generated messages.

fn onnx_model() -> pb::ModelProto {
    pb::ModelProto::decode(&model_bytes(ONNX)[..]).unwrap()
}

fn mutate_onnx(f: impl FnOnce(&mut pb::ModelProto)) -> Result<(), Error> {
    let mut m = onnx_model();
    f(&mut m);
    load(m.encode_to_vec())
}

fn graph(m: &mut pb::ModelProto) -> &mut pb::GraphProto {
    m.graph.as_mut().unwrap()
}

fn node<'a>(m: &'a mut pb::ModelProto, op: &str) -> &'a mut pb::NodeProto {
    graph(m).node.iter_mut().find(|n| n.op_type() == op).unwrap()
}

fn initializer<'a>(m: &'a mut pb::ModelProto, name: &str) -> &'a mut pb::TensorProto {
    graph(m).initializer.iter_mut().find(|t| t.name() == name).unwrap()
}

fn first_conv_weight(m: &mut pb::ModelProto) -> String {
    node(m, "Conv").input[1].clone()
}

#[test]
fn onnx_reencoded_unchanged_still_loads() {
    assert!(mutate_onnx(|_| {}).is_ok());
}

#[test]
fn onnx_absurd_dimensions_are_too_large() {
    let r = mutate_onnx(|m| {
        let w = first_conv_weight(m);
        initializer(m, &w).dims = vec![1_000_000, 1_000_000, 1, 1];
    });
    assert!(matches!(r, Err(Error::TooLarge(_))), "{r:?}");
    let r = mutate_onnx(|m| {
        use pb::tensor_shape_proto::{dimension::Value, Dimension};
        let input = &mut graph(m).input[0];
        if let Some(pb::type_proto::Value::TensorType(t)) = input.r#type.as_mut().and_then(|t| t.value.as_mut()) {
            let dims = &mut t.shape.as_mut().unwrap().dim;
            dims[2] = Dimension { value: Some(Value::DimValue(1_000_000)) };
            dims[3] = Dimension { value: Some(Value::DimValue(1_000_000)) };
        }
        m.metadata_props.clear();
    });
    assert!(matches!(r, Err(Error::TooLarge(_))), "{r:?}");
    // Every tensor fits the per-tensor limit (the input is 8000×8000×3), but the input and the
    // first conv's output together exceed the plan's 1 GiB arena limit.
    let mut m = pb::ModelProto::decode(&model_bytes("keras_mobilenet_v1_0.25_224.onnx")[..]).unwrap();
    {
        use pb::tensor_shape_proto::{dimension::Value, Dimension};
        let input = &mut graph(&mut m).input[0];
        if let Some(pb::type_proto::Value::TensorType(t)) = input.r#type.as_mut().and_then(|t| t.value.as_mut()) {
            let dims = &mut t.shape.as_mut().unwrap().dim;
            dims[2] = Dimension { value: Some(Value::DimValue(8000)) };
            dims[3] = Dimension { value: Some(Value::DimValue(8000)) };
        }
        m.metadata_props.clear();
    }
    let r = load(m.encode_to_vec());
    assert!(matches!(&r, Err(Error::TooLarge(s)) if s.contains("activations")), "{r:?}");
    // An NCHW flatten of a large image (its permutation table would be huge).
    let r = mutate_onnx(|m| {
        use pb::tensor_shape_proto::{dimension::Value, Dimension};
        let input = &mut graph(m).input[0];
        if let Some(pb::type_proto::Value::TensorType(t)) = input.r#type.as_mut().and_then(|t| t.value.as_mut()) {
            let dims = &mut t.shape.as_mut().unwrap().dim;
            dims[2] = Dimension { value: Some(Value::DimValue(1200)) };
            dims[3] = Dimension { value: Some(Value::DimValue(1200)) };
        }
        m.metadata_props.clear();
        graph(m).node.retain(|n| matches!(n.op_type(), "Flatten" | "Gemm"));
        node(m, "Flatten").input[0] = "input".into();
    });
    assert!(matches!(r, Err(Error::TooLarge(_))), "{r:?}");
    let r = mutate_onnx(|m| {
        let w = first_conv_weight(m);
        initializer(m, &w).dims[0] = -24;
    });
    assert!(matches!(r, Err(Error::Malformed(_))), "{r:?}");
    assert_allocations_bounded();
}

#[test]
fn onnx_bad_fields_are_clear_errors() {
    type Mutation = Box<dyn FnOnce(&mut pb::ModelProto)>;
    let malformed: Vec<(&str, Mutation)> = vec![
        ("weight bytes", Box::new(|m| {
            let w = first_conv_weight(m);
            let t = initializer(m, &w);
            let raw = t.raw_data.as_mut().unwrap();
            raw.truncate(raw.len() - 4);
        })),
        ("undefined input", Box::new(|m| node(m, "Relu").input[0] = "nowhere".into())),
        ("no graph", Box::new(|m| m.graph = None)),
        ("no output", Box::new(|m| graph(m).output.clear())),
        ("metadata mean", Box::new(|m| {
            m.metadata_props.iter_mut().find(|p| p.key() == "mobilecnn.mean").unwrap().value = Some("0.5,0.5".into());
        })),
        ("metadata classes", Box::new(|m| {
            m.metadata_props.iter_mut().find(|p| p.key() == "mobilecnn.num_classes").unwrap().value = Some("1001".into());
        })),
        ("value defined twice", Box::new(|m| {
            let out = graph(m).node[0].output[0].clone();
            graph(m).node[1].output[0] = out;
        })),
    ];
    for (what, f) in malformed {
        let r = mutate_onnx(f);
        eprintln!("{what}: {r:?}");
        assert!(matches!(r, Err(Error::Malformed(_))), "{what}: {r:?}");
    }
    let unsupported: Vec<(&str, Mutation)> = vec![
        ("unknown op", Box::new(|m| node(m, "Relu").op_type = Some("Tanh".into()))),
        ("custom domain", Box::new(|m| node(m, "Relu").domain = Some("com.example".into()))),
        ("double weights", Box::new(|m| {
            let w = first_conv_weight(m);
            initializer(m, &w).data_type = Some(11);
        })),
        ("external data", Box::new(|m| {
            let w = first_conv_weight(m);
            initializer(m, &w).data_location = Some(1);
        })),
        ("plain transpose", Box::new(|m| {
            let t = node(m, "Transpose");
            t.attribute[0].ints = vec![0, 1, 2, 4, 3];
        })),
        ("clip to 0..1", Box::new(|m| {
            let n = node(m, "Relu");
            n.op_type = Some("Clip".into());
            n.attribute.push(pb::AttributeProto { name: Some("max".into()), f: Some(1.0), r#type: Some(1), ..Default::default() });
        })),
        ("old opset", Box::new(|m| m.opset_import[0].version = Some(5))),
    ];
    for (what, f) in unsupported {
        let r = mutate_onnx(f);
        eprintln!("{what}: {r:?}");
        assert!(matches!(r, Err(Error::Unsupported(_))), "{what}: {r:?}");
    }
    let r = mutate_onnx(|m| {
        let g = node(m, "Conv").attribute.iter_mut().find(|a| a.name() == "group").unwrap();
        g.i = Some(7);
    });
    assert!(matches!(r, Err(Error::Shape { .. })), "{r:?}");
    assert_allocations_bounded();
}

