//! `.onnx` (ONNX protobuf, opset 7+) → graph.
//!
//! ONNX is NCHW; the IR is NHWC. Activations map one to one (an `[1, C, H, W]` value is the IR
//! value `H×W×C`, a `[1, N]` value is `1×1×N`), weights are transposed at load (OIHW → OHWI), and
//! channel axes become the IR's channel ops. The channel shuffle, which ONNX spells
//! Reshape `[1, a, b, H, W]` → Transpose `[0, 2, 1, 3, 4]` → Reshape `[1, C, H, W]`, becomes one
//! `Op::Permute` that the rewrites fold into the next 1×1 conv.
//! The preprocessing comes from the `mobilecnn.*` metadata the tools/ converters write.

use std::collections::HashMap;

use prost::Message;

use super::onnx_proto as pb;
use super::{default_labels, f32s_le, numel, oihw_to_ohwi, same_padding, Imported};
use crate::error::{Error, Result};
use crate::graph::ir::{Op, ValueId};
use crate::graph::Graph;
use crate::kernels::{Activation, Padding, Window};
use crate::preprocess::{ColorOrder, Preprocessing};
use crate::tensor::Shape;

/// ONNX TensorProto data types this importer reads.
const FLOAT: i32 = 1;
const INT64: i32 = 7;

/// Largest NCHW Flatten of an image turned into an NHWC flatten plus a permutation.
const MAX_FLATTEN_PERMUTE: usize = 1 << 22;

/// A constant (initializer or Constant node).
#[derive(Clone, Debug)]
struct Tensor {
    dims: Vec<usize>,
    data: Data,
}

#[derive(Clone, Debug)]
enum Data {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

/// What a named ONNX value is, in IR terms.
#[derive(Clone, Debug)]
enum Val {
    /// An activation: `[1, C, H, W]` (rank 4) or `[1, N]` (rank 2) in the file.
    Act { id: ValueId, rank: usize },
    Const(Tensor),
    /// An activation reshaped to `[1, a, b, H, W]` (first step of a channel shuffle);
    /// `transposed` once the Transpose `[0, 2, 1, 3, 4]` has been seen.
    Grouped { id: ValueId, a: usize, b: usize, transposed: bool },
}

pub fn import(bytes: &[u8]) -> Result<Imported> {
    let model = pb::ModelProto::decode(bytes).map_err(|e| Error::Malformed(format!("not an ONNX model: {e}")))?;
    let graph = model.graph.as_ref().ok_or_else(|| Error::Malformed("ONNX model without a graph".into()))?;
    for op in &model.opset_import {
        if op.domain().is_empty() && op.version() < 7 {
            return Err(Error::Unsupported(format!("ONNX opset {} (7 or newer is needed)", op.version())));
        }
    }
    let meta: HashMap<&str, &str> = model.metadata_props.iter().map(|p| (p.key(), p.value())).collect();
    let mut b = Builder::new(graph, &meta)?;
    for node in &graph.node {
        b.node(node)?;
    }
    let out_name = graph.output.first().ok_or_else(|| Error::Malformed("ONNX graph without outputs".into()))?.name();
    let out = match b.vals.get(out_name) {
        Some(Val::Act { id, rank: 2 }) => *id,
        Some(Val::Act { id, rank: 4 }) if b.g.shape(*id).pixels() == 1 => *id,
        Some(_) => return Err(Error::Unsupported(format!("graph output '{out_name}' is not a [1, N] activation"))),
        None => return Err(Error::Malformed(format!("graph output '{out_name}' is never produced"))),
    };
    b.g.output = out;
    let outputs = b.g.shape(out).len();
    let (label_offset, num_classes) = labels(&meta, outputs)?;
    let preprocessing = preprocessing(&meta, b.g.shape(b.g.input).h)?;
    let architecture = meta.get("mobilecnn.architecture").map(|s| s.to_string());
    Ok(Imported { graph: b.g, architecture, preprocessing, num_classes, label_offset })
}

fn labels(meta: &HashMap<&str, &str>, outputs: usize) -> Result<(usize, usize)> {
    let (mut offset, mut classes) = default_labels(outputs);
    if let Some(v) = meta.get("mobilecnn.label_offset") {
        offset = parse_meta("mobilecnn.label_offset", v)?;
        classes = outputs.checked_sub(offset).ok_or_else(|| Error::Malformed(format!("label offset {offset} ≥ {outputs} outputs")))?;
    }
    if let Some(v) = meta.get("mobilecnn.num_classes") {
        let n: usize = parse_meta("mobilecnn.num_classes", v)?;
        if n != classes {
            return Err(Error::Malformed(format!("metadata says {n} classes, the graph gives {classes} after offset {offset}")));
        }
    }
    Ok((offset, classes))
}

fn parse_meta<T: std::str::FromStr>(key: &str, v: &str) -> Result<T> {
    v.trim().parse().map_err(|_| Error::Malformed(format!("metadata {key} = '{v}' is not a number")))
}

fn parse_triple(key: &str, v: &str) -> Result<[f32; 3]> {
    let vals: Vec<f32> = v.split(',').map(|s| parse_meta(key, s)).collect::<Result<_>>()?;
    <[f32; 3]>::try_from(vals).map_err(|_| Error::Malformed(format!("metadata {key} = '{v}' needs 3 values")))
}

/// The preprocessing from `mobilecnn.*` metadata; `None` when the file has none.
fn preprocessing(meta: &HashMap<&str, &str>, size: usize) -> Result<Option<Preprocessing>> {
    let Some(color) = meta.get("mobilecnn.color_order") else { return Ok(None) };
    let color = match color.to_ascii_uppercase().as_str() {
        "RGB" => ColorOrder::Rgb,
        "BGR" => ColorOrder::Bgr,
        other => return Err(Error::Malformed(format!("metadata mobilecnn.color_order = '{other}'"))),
    };
    let get = |k: &str| meta.get(k).copied().ok_or_else(|| Error::Malformed(format!("metadata {k} missing")));
    let declared: usize = parse_meta("mobilecnn.input_size", get("mobilecnn.input_size")?)?;
    if declared != size {
        return Err(Error::Malformed(format!("metadata input size {declared}, graph input {size}")));
    }
    let scale: f32 = parse_meta("mobilecnn.input_scale", get("mobilecnn.input_scale")?)?;
    let mean = parse_triple("mobilecnn.mean", get("mobilecnn.mean")?)?;
    let std = parse_triple("mobilecnn.std", get("mobilecnn.std")?)?;
    if !scale.is_finite() || mean.iter().any(|m| !m.is_finite()) || std.iter().any(|s| !s.is_finite() || *s == 0.0) {
        return Err(Error::Malformed("metadata normalisation has non-finite or zero values".into()));
    }
    Ok(Some(Preprocessing { size, color, scale, mean, std }))
}

struct Builder {
    g: Graph,
    vals: HashMap<String, Val>,
}

impl Builder {
    fn new(graph: &pb::GraphProto, meta: &HashMap<&str, &str>) -> Result<Builder> {
        let mut vals = HashMap::new();
        for t in &graph.initializer {
            vals.insert(t.name().to_string(), Val::Const(tensor(t)?));
        }
        let input = graph
            .input
            .iter()
            .find(|i| !vals.contains_key(i.name()))
            .ok_or_else(|| Error::Malformed("ONNX graph has no (non-constant) input".into()))?;
        let dims = input_dims(input, meta)?;
        let g = Graph::new(Shape::new(dims[2], dims[3], dims[1]))?;
        vals.insert(input.name().to_string(), Val::Act { id: g.input, rank: 4 });
        Ok(Builder { g, vals })
    }

    fn get(&self, node: &str, name: &str) -> Result<&Val> {
        self.vals.get(name).ok_or_else(|| Error::Malformed(format!("{node}: input '{name}' is not defined before use")))
    }

    /// Input `i` of `n`, which must be an activation.
    fn act(&self, n: &pb::NodeProto, i: usize) -> Result<(ValueId, usize)> {
        let name = node_name(n);
        match self.get(&name, input(n, i)?)? {
            Val::Act { id, rank } => Ok((*id, *rank)),
            _ => Err(Error::Unsupported(format!("{name}: input {i} of {} must be an activation", n.op_type()))),
        }
    }

    /// Input `i` of `n`, which must be a constant; `None` when the input is absent or empty.
    fn constant(&self, n: &pb::NodeProto, i: usize) -> Result<Option<&Tensor>> {
        let Some(name) = n.input.get(i).filter(|s| !s.is_empty()) else { return Ok(None) };
        match self.get(&node_name(n), name)? {
            Val::Const(t) => Ok(Some(t)),
            _ => Err(Error::Unsupported(format!("{}: input {i} of {} must be a constant", node_name(n), n.op_type()))),
        }
    }

    fn required(&self, n: &pb::NodeProto, i: usize) -> Result<&Tensor> {
        self.constant(n, i)?.ok_or_else(|| Error::Malformed(format!("{}: {} needs input {i}", node_name(n), n.op_type())))
    }

    fn define(&mut self, n: &pb::NodeProto, k: usize, v: Val) -> Result<()> {
        let out = n.output.get(k).ok_or_else(|| Error::Malformed(format!("{}: missing output {k}", node_name(n))))?;
        if self.vals.insert(out.clone(), v).is_some() {
            return Err(Error::Malformed(format!("{}: value '{out}' defined twice", node_name(n))));
        }
        Ok(())
    }

    fn push(&mut self, n: &pb::NodeProto, op: Op, inputs: &[ValueId], rank: usize) -> Result<()> {
        let id = self.g.push(node_name(n), op, inputs)?;
        self.define(n, 0, Val::Act { id, rank })
    }

    fn node(&mut self, n: &pb::NodeProto) -> Result<()> {
        if !n.domain().is_empty() && n.domain() != "ai.onnx" {
            return Err(Error::Unsupported(format!("operator {}::{}", n.domain(), n.op_type())));
        }
        match n.op_type() {
            "Conv" => self.conv(n),
            "BatchNormalization" => self.batch_norm(n),
            "Relu" => {
                let (x, rank) = self.act(n, 0)?;
                self.push(n, Op::Act(Activation::Relu), &[x], rank)
            }
            "Clip" => self.clip(n),
            "Add" | "Mul" => self.binary(n),
            "MaxPool" | "AveragePool" => self.pool(n),
            "GlobalAveragePool" => {
                let (x, rank) = self.act(n, 0)?;
                expect_rank(n, rank, 4)?;
                self.push(n, Op::GlobalAvgPool, &[x], 4)
            }
            "Concat" => self.concat(n),
            "Split" => self.split(n),
            "Slice" => self.slice(n),
            "Reshape" => self.reshape(n),
            "Transpose" => self.transpose(n),
            "Flatten" => {
                let (x, rank) = self.act(n, 0)?;
                if attr_i(n, "axis", 1)? != 1 {
                    return Err(Error::Unsupported(format!("{}: Flatten with axis ≠ 1", node_name(n))));
                }
                self.flatten(n, x, rank)
            }
            "Gemm" => self.gemm(n),
            "MatMul" => self.matmul(n),
            "Softmax" => {
                let (x, rank) = self.act(n, 0)?;
                let axis = attr_i(n, "axis", -1)?;
                if rank != 2 || !(axis == 1 || axis == -1) {
                    return Err(Error::Unsupported(format!("{}: Softmax other than over the classes of [1, N]", node_name(n))));
                }
                self.push(n, Op::Softmax, &[x], 2)
            }
            "Identity" | "Dropout" => {
                let v = self.get(&node_name(n), input(n, 0)?)?.clone();
                self.define(n, 0, v)
            }
            "Constant" => {
                let t = n
                    .attribute
                    .iter()
                    .find(|a| a.name() == "value")
                    .and_then(|a| a.t.as_ref())
                    .ok_or_else(|| Error::Unsupported(format!("{}: Constant without a tensor value", node_name(n))))?;
                let t = tensor(t)?;
                self.define(n, 0, Val::Const(t))
            }
            other => Err(Error::Unsupported(format!("ONNX operator {other} (node {})", node_name(n)))),
        }
    }

    fn conv(&mut self, n: &pb::NodeProto) -> Result<()> {
        let (x, rank) = self.act(n, 0)?;
        expect_rank(n, rank, 4)?;
        let s = self.g.shape(x);
        let w = self.required(n, 1)?;
        let [o, ci, kh, kw] = w.dims[..] else {
            return Err(Error::Unsupported(format!("{}: Conv weight of shape {:?} (only 2-D convolutions)", node_name(n), w.dims)));
        };
        let groups = usize_attr(n, "group", 1)?;
        if let Some(k) = attr_ints(n, "kernel_shape")? {
            if k != [kh as i64, kw as i64] {
                return Err(Error::Malformed(format!("{}: kernel_shape {k:?} disagrees with the weight", node_name(n))));
            }
        }
        if groups == 0 || ci.checked_mul(groups) != Some(s.c) {
            return Err(Error::shape(node_name(n), format!("{groups} groups of {ci} channels do not match the input's {}", s.c)));
        }
        let weight = oihw_to_ohwi(w.f32s(n)?, o, ci, kh, kw);
        let bias = self.constant(n, 2)?.map(|t| t.f32s(n).map(<[f32]>::to_vec)).transpose()?;
        let win = window(n, s, kh, kw)?;
        self.g.push(node_name(n), conv_op(win, groups, o, weight, bias), &[x]).and_then(|id| self.define(n, 0, Val::Act { id, rank: 4 }))
    }

    fn batch_norm(&mut self, n: &pb::NodeProto) -> Result<()> {
        let (x, rank) = self.act(n, 0)?;
        if attr_i(n, "training_mode", 0)? != 0 {
            return Err(Error::Unsupported(format!("{}: BatchNormalization in training mode", node_name(n))));
        }
        let eps = attr_f(n, "epsilon", 1e-5)?;
        let p: Vec<Vec<f32>> = (1..5).map(|i| self.required(n, i).and_then(|t| t.f32s(n)).map(<[f32]>::to_vec)).collect::<Result<_>>()?;
        let id = self.g.batch_norm(node_name(n), x, &p[0], &p[1], &p[2], &p[3], eps)?;
        self.define(n, 0, Val::Act { id, rank })
    }

    fn clip(&mut self, n: &pb::NodeProto) -> Result<()> {
        let (x, rank) = self.act(n, 0)?;
        let scalar = |t: Option<&Tensor>| -> Result<Option<f32>> {
            match t {
                None => Ok(None),
                Some(t) => match t.f32s(n)? {
                    [v] => Ok(Some(*v)),
                    _ => Err(Error::Malformed(format!("{}: Clip bound is not a scalar", node_name(n)))),
                },
            }
        };
        // Opset 11+ passes the bounds as inputs, older opsets as attributes.
        let lo = scalar(self.constant(n, 1)?)?.or(attr_opt_f(n, "min")?).unwrap_or(f32::NEG_INFINITY);
        let hi = scalar(self.constant(n, 2)?)?.or(attr_opt_f(n, "max")?).unwrap_or(f32::INFINITY);
        let act = match (lo, hi) {
            (l, h) if l == 0.0 && h == 6.0 => Activation::Relu6,
            (l, h) if l == 0.0 && h == f32::INFINITY => Activation::Relu,
            _ => return Err(Error::Unsupported(format!("{}: Clip to [{lo}, {hi}] (only ReLU and ReLU6)", node_name(n)))),
        };
        self.push(n, Op::Act(act), &[x], rank)
    }

    /// Add of two activations, or Add/Mul of an activation and a per-channel constant.
    fn binary(&mut self, n: &pb::NodeProto) -> Result<()> {
        let name = node_name(n);
        let a = self.get(&name, input(n, 0)?)?.clone();
        let b = self.get(&name, input(n, 1)?)?.clone();
        let add = n.op_type() == "Add";
        match (a, b) {
            (Val::Act { id: x, rank: ra }, Val::Act { id: y, rank: rb }) if add && ra == rb => {
                self.push(n, Op::Add { act: Activation::None }, &[x, y], ra)
            }
            (Val::Act { id, rank }, Val::Const(t)) | (Val::Const(t), Val::Act { id, rank }) => {
                let c = self.g.shape(id).c;
                let v = t.f32s(n)?;
                // Per-channel broadcast only: [C] or [1, C] on [1, C]; [C, 1, 1] or [1, C, 1, 1] on NCHW.
                let trailing = if rank == 4 { &[1, 1][..] } else { &[][..] };
                let lead = t.dims.len().checked_sub(trailing.len() + 1);
                let per_channel = v.len() == c
                    && lead.is_some_and(|l| t.dims[l] == c && t.dims[l + 1..] == *trailing && t.dims[..l].iter().all(|&d| d == 1));
                if !per_channel {
                    return Err(Error::Unsupported(format!("{name}: {} with a constant of shape {:?}", n.op_type(), t.dims)));
                }
                let (scale, shift) = if add { (vec![1.0; c], v.to_vec()) } else { (v.to_vec(), vec![0.0; c]) };
                self.push(n, Op::Affine { scale, shift, act: Activation::None }, &[id], rank)
            }
            _ => Err(Error::Unsupported(format!("{name}: {} of these operands", n.op_type()))),
        }
    }

    fn pool(&mut self, n: &pb::NodeProto) -> Result<()> {
        let (x, rank) = self.act(n, 0)?;
        expect_rank(n, rank, 4)?;
        if n.output.len() > 1 {
            return Err(Error::Unsupported(format!("{}: MaxPool indices output", node_name(n))));
        }
        if attr_i(n, "ceil_mode", 0)? != 0 {
            return Err(Error::Unsupported(format!("{}: pooling with ceil_mode", node_name(n))));
        }
        let k = attr_ints(n, "kernel_shape")?.ok_or_else(|| Error::Malformed(format!("{}: pool without kernel_shape", node_name(n))))?;
        let [kh, kw] = k[..] else { return Err(Error::Unsupported(format!("{}: {}-D pooling", node_name(n), k.len()))) };
        let (kh, kw) = (to_usize(n, kh)?, to_usize(n, kw)?);
        let win = window(n, self.g.shape(x), kh, kw)?;
        let op = if n.op_type() == "MaxPool" {
            Op::MaxPool { win }
        } else {
            Op::AvgPool { win, count_include_pad: attr_i(n, "count_include_pad", 0)? != 0 }
        };
        self.push(n, op, &[x], 4)
    }

    /// Channel axis of a rank-`rank` activation, from an ONNX `axis` (negative counts from the end).
    fn channel_axis(&self, n: &pb::NodeProto, rank: usize, axis: i64) -> Result<()> {
        if axis == 1 || axis == 1 - rank as i64 {
            Ok(())
        } else {
            Err(Error::Unsupported(format!("{}: {} along axis {axis} (only channels)", node_name(n), n.op_type())))
        }
    }

    fn concat(&mut self, n: &pb::NodeProto) -> Result<()> {
        let mut ids = Vec::with_capacity(n.input.len());
        let mut rank = 0;
        for i in 0..n.input.len() {
            let (id, r) = self.act(n, i)?;
            if i > 0 && r != rank {
                return Err(Error::shape(node_name(n), "concat of activations of different ranks"));
            }
            rank = r;
            ids.push(id);
        }
        self.channel_axis(n, rank, attr_i(n, "axis", 1)?)?;
        self.push(n, Op::Concat, &ids, rank)
    }

    fn split(&mut self, n: &pb::NodeProto) -> Result<()> {
        let (x, rank) = self.act(n, 0)?;
        self.channel_axis(n, rank, attr_i(n, "axis", 0)?)?;
        let c = self.g.shape(x).c;
        let sizes: Vec<i64> = match (self.constant(n, 1)?, attr_ints(n, "split")?) {
            (Some(t), _) => t.i64s(n)?.to_vec(),
            (None, Some(s)) => s,
            (None, None) => {
                let k = n.output.len();
                if k == 0 || !c.is_multiple_of(k) {
                    return Err(Error::shape(node_name(n), format!("{c} channels do not split into {k} equal parts")));
                }
                vec![(c / k) as i64; k]
            }
        };
        if sizes.len() != n.output.len() {
            return Err(Error::Malformed(format!("{}: {} split sizes for {} outputs", node_name(n), sizes.len(), n.output.len())));
        }
        let mut start = 0usize;
        for (k, &len) in sizes.iter().enumerate() {
            let len = to_usize(n, len)?;
            let id = self.g.push(format!("{}:{k}", node_name(n)), Op::Slice { start, len }, &[x])?;
            self.define(n, k, Val::Act { id, rank })?;
            start += len;
        }
        if start != c {
            return Err(Error::shape(node_name(n), format!("split sizes add up to {start}, not {c}")));
        }
        Ok(())
    }

    fn slice(&mut self, n: &pb::NodeProto) -> Result<()> {
        let (x, rank) = self.act(n, 0)?;
        let c = self.g.shape(x).c as i64;
        let ints = |i: usize, attr: &str| -> Result<Option<Vec<i64>>> {
            match self.constant(n, i)? {
                Some(t) => Ok(Some(t.i64s(n)?.to_vec())),
                None => attr_ints(n, attr),
            }
        };
        let (starts, ends) = match (ints(1, "starts")?, ints(2, "ends")?) {
            (Some(s), Some(e)) => (s, e),
            _ => return Err(Error::Malformed(format!("{}: Slice without starts and ends", node_name(n)))),
        };
        let axes = ints(3, "axes")?.unwrap_or_else(|| (0..starts.len() as i64).collect());
        let steps = ints(4, "steps")?.unwrap_or_else(|| vec![1; starts.len()]);
        let ([start], [end], [axis], [1]) = (&starts[..], &ends[..], &axes[..], &steps[..]) else {
            return Err(Error::Unsupported(format!("{}: Slice of several axes or with steps", node_name(n))));
        };
        self.channel_axis(n, rank, *axis)?;
        let clamp = |v: i64| if v < 0 { (v.saturating_add(c)).max(0) } else { v.min(c) };
        let (start, end) = (clamp(*start), clamp(*end));
        if end <= start {
            return Err(Error::shape(node_name(n), "empty channel slice"));
        }
        self.push(n, Op::Slice { start: start as usize, len: (end - start) as usize }, &[x], rank)
    }

    fn flatten(&mut self, n: &pb::NodeProto, x: ValueId, rank: usize) -> Result<()> {
        let s = self.g.shape(x);
        if rank == 2 || s.pixels() == 1 {
            return self.define(n, 0, Val::Act { id: x, rank: 2 });
        }
        // NCHW flattening puts a channel's pixels together; the IR's Flatten is NHWC: permute after.
        // (Classifier inputs are far below the bound, which keeps the index table small.)
        if s.len() > MAX_FLATTEN_PERMUTE {
            return Err(Error::TooLarge(format!("{}: flattening {s} (more than {MAX_FLATTEN_PERMUTE} values)", node_name(n))));
        }
        let flat = self.g.push(format!("{}:nhwc", node_name(n)), Op::Flatten, &[x])?;
        let (hw, c) = (s.pixels(), s.c);
        let perm = (0..hw * c).map(|j| (j % hw) * c + j / hw).collect();
        self.push(n, Op::Permute { perm }, &[flat], 2)
    }

    fn reshape(&mut self, n: &pb::NodeProto) -> Result<()> {
        let name = node_name(n);
        let src = self.get(&name, input(n, 0)?)?.clone();
        let target = self.required(n, 1)?.i64s(n)?.to_vec();
        match src {
            Val::Act { id, rank } => {
                let s = self.g.shape(id);
                let from: Vec<usize> = if rank == 4 { vec![1, s.c, s.h, s.w] } else { vec![1, s.len()] };
                let to = reshape_dims(n, &from, &target)?;
                match to[..] {
                    [1, a, b, h, w] if rank == 4 && h == s.h && w == s.w && a * b == s.c => {
                        self.define(n, 0, Val::Grouped { id, a, b, transposed: false })
                    }
                    _ if to == from => self.define(n, 0, Val::Act { id, rank }),
                    // reshape_dims checked that the element counts agree.
                    [1, _] => self.flatten(n, id, rank),
                    [1, _, 1, 1] if rank == 2 => self.define(n, 0, Val::Act { id, rank: 4 }),
                    _ => Err(Error::Unsupported(format!("{name}: Reshape {from:?} → {to:?}"))),
                }
            }
            Val::Grouped { id, a, b, transposed: true } => {
                let s = self.g.shape(id);
                let to = reshape_dims(n, &[1, b, a, s.h, s.w], &target)?;
                if to != [1, s.c, s.h, s.w] {
                    return Err(Error::Unsupported(format!("{name}: Reshape of a transposed channel grouping to {to:?}")));
                }
                // Channel (i, j) of the [a, b] grouping is input channel i·b + j; the transpose
                // puts it at j·a + i.
                let perm = (0..s.c).map(|o| (o % a) * b + o / a).collect();
                self.push(n, Op::Permute { perm }, &[id], 4)
            }
            _ => Err(Error::Unsupported(format!("{name}: Reshape of this value"))),
        }
    }

    fn transpose(&mut self, n: &pb::NodeProto) -> Result<()> {
        let name = node_name(n);
        match self.get(&name, input(n, 0)?)?.clone() {
            Val::Grouped { id, a, b, transposed: false } if attr_ints(n, "perm")?.as_deref() == Some(&[0, 2, 1, 3, 4]) => {
                self.define(n, 0, Val::Grouped { id, a, b, transposed: true })
            }
            _ => Err(Error::Unsupported(format!("{name}: Transpose other than a channel shuffle's"))),
        }
    }

    fn gemm(&mut self, n: &pb::NodeProto) -> Result<()> {
        let (x, rank) = self.act(n, 0)?;
        expect_rank(n, rank, 2)?;
        if attr_i(n, "transA", 0)? != 0 {
            return Err(Error::Unsupported(format!("{}: Gemm with transA", node_name(n))));
        }
        let (alpha, beta) = (attr_f(n, "alpha", 1.0)?, attr_f(n, "beta", 1.0)?);
        let w = self.required(n, 1)?;
        let trans_b = attr_i(n, "transB", 0)? != 0;
        let mut weight = dense_weight(n, w, trans_b)?;
        weight.iter_mut().for_each(|v| *v *= alpha);
        let out = w.dims[if trans_b { 0 } else { 1 }];
        let bias = match self.constant(n, 2)? {
            Some(t) if t.dims.iter().rev().skip(1).all(|&d| d == 1) => Some(t.f32s(n)?.iter().map(|v| v * beta).collect()),
            Some(t) => return Err(Error::Unsupported(format!("{}: Gemm bias of shape {:?}", node_name(n), t.dims))),
            None => None,
        };
        self.push(n, Op::Dense { out, weight, bias, act: Activation::None }, &[x], 2)
    }

    fn matmul(&mut self, n: &pb::NodeProto) -> Result<()> {
        let (x, rank) = self.act(n, 0)?;
        expect_rank(n, rank, 2)?;
        let w = self.required(n, 1)?;
        let weight = dense_weight(n, w, false)?;
        let out = w.dims[1];
        self.push(n, Op::Dense { out, weight, bias: None, act: Activation::None }, &[x], 2)
    }
}

/// A dense weight `[out][in]` from a 2-D constant stored `[in, out]` (or `[out, in]` when `trans`).
fn dense_weight(n: &pb::NodeProto, w: &Tensor, trans: bool) -> Result<Vec<f32>> {
    let [r, c] = w.dims[..] else {
        return Err(Error::Unsupported(format!("{}: dense weight of shape {:?}", node_name(n), w.dims)));
    };
    let v = w.f32s(n)?;
    Ok(if trans { v.to_vec() } else { (0..c).flat_map(|o| (0..r).map(move |i| v[i * c + o])).collect() })
}

fn conv_op(win: Window, groups: usize, cout: usize, weight: Vec<f32>, bias: Option<Vec<f32>>) -> Op {
    Op::Conv(crate::graph::ir::Conv { win, groups, cout, weight, bias, act: Activation::None, input_perm: None })
}

/// Conv/pool geometry from `strides`, `pads`, `auto_pad`, `dilations` on input `s`.
fn window(n: &pb::NodeProto, s: Shape, kh: usize, kw: usize) -> Result<Window> {
    if let Some(d) = attr_ints(n, "dilations")? {
        if d.iter().any(|&v| v != 1) {
            return Err(Error::Unsupported(format!("{}: dilated windows", node_name(n))));
        }
    }
    let (sh, sw) = match attr_ints(n, "strides")?.as_deref() {
        None => (1, 1),
        Some(&[a, b]) => (to_usize(n, a)?, to_usize(n, b)?),
        Some(other) => return Err(Error::Malformed(format!("{}: strides {other:?}", node_name(n)))),
    };
    let auto = n.attribute.iter().find(|a| a.name() == "auto_pad").map(|a| String::from_utf8_lossy(a.s()).into_owned());
    let pad = match auto.as_deref() {
        None | Some("NOTSET") | Some("") => match attr_ints(n, "pads")?.as_deref() {
            None => Padding::default(),
            Some(&[t, l, b, r]) => Padding { top: to_usize(n, t)?, left: to_usize(n, l)?, bottom: to_usize(n, b)?, right: to_usize(n, r)? },
            Some(other) => return Err(Error::Malformed(format!("{}: pads {other:?}", node_name(n)))),
        },
        Some("VALID") => Padding::default(),
        Some(mode @ ("SAME_UPPER" | "SAME_LOWER")) => {
            let (mut top, mut bottom) = same_padding(s.h, kh, sh);
            let (mut left, mut right) = same_padding(s.w, kw, sw);
            if mode == "SAME_LOWER" {
                std::mem::swap(&mut top, &mut bottom);
                std::mem::swap(&mut left, &mut right);
            }
            Padding { top, left, bottom, right }
        }
        Some(other) => return Err(Error::Unsupported(format!("{}: auto_pad {other}", node_name(n)))),
    };
    Ok(Window { kh, kw, stride_h: sh, stride_w: sw, pad })
}

/// ONNX Reshape semantics (0 copies the input dim, one -1 is inferred) → the target dims.
fn reshape_dims(n: &pb::NodeProto, from: &[usize], target: &[i64]) -> Result<Vec<usize>> {
    let total: usize = from.iter().product();
    let mut dims = Vec::with_capacity(target.len());
    let mut infer = None;
    for (k, &d) in target.iter().enumerate() {
        dims.push(match d {
            -1 if infer.is_none() => {
                infer = Some(k);
                1
            }
            0 => *from.get(k).ok_or_else(|| Error::Malformed(format!("{}: Reshape 0 beyond the input rank", node_name(n))))?,
            d if d > 0 => to_usize(n, d)?,
            _ => return Err(Error::Malformed(format!("{}: Reshape to {target:?}", node_name(n)))),
        });
    }
    let known = dims.iter().try_fold(1usize, |p, &d| p.checked_mul(d));
    match (infer, known) {
        (Some(k), Some(p)) if p > 0 && total.is_multiple_of(p) => dims[k] = total / p,
        (None, Some(p)) if p == total => {}
        _ => return Err(Error::shape(node_name(n), format!("cannot reshape {from:?} to {target:?}"))),
    }
    Ok(dims)
}

fn expect_rank(n: &pb::NodeProto, rank: usize, want: usize) -> Result<()> {
    if rank == want {
        Ok(())
    } else {
        Err(Error::Unsupported(format!("{}: {} on a rank-{rank} value (needs rank {want})", node_name(n), n.op_type())))
    }
}

fn node_name(n: &pb::NodeProto) -> String {
    if n.name().is_empty() { format!("{}→{}", n.op_type(), n.output.first().map_or("?", |s| s.as_str())) } else { n.name().to_string() }
}

fn input(n: &pb::NodeProto, i: usize) -> Result<&str> {
    n.input.get(i).map(String::as_str).filter(|s| !s.is_empty()).ok_or_else(|| {
        Error::Malformed(format!("{}: {} is missing input {i}", node_name(n), n.op_type()))
    })
}

fn to_usize(n: &pb::NodeProto, v: i64) -> Result<usize> {
    if (0..=1 << 24).contains(&v) {
        Ok(v as usize)
    } else {
        Err(Error::Malformed(format!("{}: value {v} out of range", node_name(n))))
    }
}

fn attr<'a>(n: &'a pb::NodeProto, name: &str) -> Option<&'a pb::AttributeProto> {
    n.attribute.iter().find(|a| a.name() == name)
}

fn attr_i(n: &pb::NodeProto, name: &str, default: i64) -> Result<i64> {
    Ok(attr(n, name).map_or(default, |a| a.i()))
}

fn usize_attr(n: &pb::NodeProto, name: &str, default: i64) -> Result<usize> {
    to_usize(n, attr_i(n, name, default)?)
}

fn attr_f(n: &pb::NodeProto, name: &str, default: f32) -> Result<f32> {
    Ok(attr_opt_f(n, name)?.unwrap_or(default))
}

fn attr_opt_f(n: &pb::NodeProto, name: &str) -> Result<Option<f32>> {
    match attr(n, name).map(|a| a.f()) {
        Some(v) if !v.is_finite() => Err(Error::Malformed(format!("{}: attribute {name} = {v}", node_name(n)))),
        v => Ok(v),
    }
}

fn attr_ints(n: &pb::NodeProto, name: &str) -> Result<Option<Vec<i64>>> {
    Ok(attr(n, name).map(|a| a.ints.clone()))
}

/// The graph input's `[1, 3, S, S]` dims (a symbolic batch counts as 1).
fn input_dims(input: &pb::ValueInfoProto, meta: &HashMap<&str, &str>) -> Result<[usize; 4]> {
    use pb::tensor_shape_proto::dimension::Value as Dim;
    use pb::type_proto::Value as Type;
    let shape = match input.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(Type::TensorType(t)) => t.shape.as_ref(),
        _ => None,
    };
    let mut dims: Vec<Option<i64>> = shape
        .map(|s| s.dim.iter().map(|d| match &d.value { Some(Dim::DimValue(v)) => Some(*v), _ => None }).collect())
        .unwrap_or_default();
    if dims.is_empty() {
        // No static shape: take the size from the metadata.
        let s: i64 = parse_meta("mobilecnn.input_size", meta.get("mobilecnn.input_size").copied().unwrap_or(""))?;
        dims = vec![Some(1), Some(3), Some(s), Some(s)];
    }
    match dims[..] {
        [None | Some(1), Some(c), Some(h), Some(w)] => {
            let as_dims = [1, c, h, w];
            numel("graph input", &as_dims)?;
            Ok([1, c as usize, h as usize, w as usize])
        }
        _ => Err(Error::Unsupported(format!("graph input '{}' is not [1, C, H, W] with static sizes", input.name()))),
    }
}

fn tensor(t: &pb::TensorProto) -> Result<Tensor> {
    let what = format!("tensor '{}'", t.name());
    if t.data_location() == pb::tensor_proto::DataLocation::External || !t.external_data.is_empty() {
        return Err(Error::Unsupported(format!("{what}: external data files")));
    }
    let n = numel(&what, &t.dims)?;
    let dims = t.dims.iter().map(|&d| d as usize).collect();
    let raw = t.raw_data.as_deref();
    let data = match t.data_type() {
        FLOAT => Data::F32(match raw {
            Some(r) => f32s_le(&what, r, n)?,
            None if t.float_data.len() == n => t.float_data.clone(),
            None => return Err(Error::Malformed(format!("{what}: {} floats for {n} elements", t.float_data.len()))),
        }),
        INT64 => Data::I64(match raw {
            Some(r) if Some(r.len()) == n.checked_mul(8) => {
                r.chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes"))).collect()
            }
            Some(r) => return Err(Error::Malformed(format!("{what}: {} data bytes for {n} int64 values", r.len()))),
            None if t.int64_data.len() == n => t.int64_data.clone(),
            None => return Err(Error::Malformed(format!("{what}: {} int64 values for {n} elements", t.int64_data.len()))),
        }),
        other => return Err(Error::Unsupported(format!("{what}: ONNX data type {other} (float32 and int64 only)"))),
    };
    Ok(Tensor { dims, data })
}

impl Tensor {
    fn f32s(&self, n: &pb::NodeProto) -> Result<&[f32]> {
        match &self.data {
            Data::F32(v) => Ok(v),
            Data::I64(_) => Err(Error::Malformed(format!("{}: expected a float tensor, got int64", node_name(n)))),
        }
    }

    fn i64s(&self, n: &pb::NodeProto) -> Result<&[i64]> {
        match &self.data {
            Data::I64(v) => Ok(v),
            Data::F32(_) => Err(Error::Malformed(format!("{}: expected an int64 tensor, got float", node_name(n)))),
        }
    }
}
