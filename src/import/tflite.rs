//! `.tflite` (TFLite flatbuffer) → graph, executed in float.
//!
//! TFLite is NHWC like the IR: conv weights are already OHWI, depthwise weights `[1, kh, kw, C]`
//! are transposed to the IR's `[C][kh][kw][1]`. Quantized weights and biases (uint8 per-tensor,
//! int8 per-channel, int32 biases) are dequantized at load, `real = scale · (q − zero_point)`;
//! quantized activations run in float, so QUANTIZE / DEQUANTIZE of an activation are identities.
//! A PAD in front of a convolution becomes that convolution's padding (Keras-built files pad this
//! way before stride-2 convolutions). The input tensor's quantization gives the preprocessing.

use planus::ReadAsRoot;

use super::tflite_fbs::tflite as fb;
use super::{default_labels, f32s_le, numel, tf_window, Imported};
use crate::error::{Error, Result};
use crate::graph::ir::{Conv, Op, ValueId};
use crate::graph::Graph;
use crate::kernels::{Activation, Padding, Window};
use crate::preprocess::{ColorOrder, Preprocessing};
use crate::tensor::Shape;

// BuiltinOperator codes (schema.fbs).
const ADD: i32 = 0;
const AVERAGE_POOL_2D: i32 = 1;
const CONCATENATION: i32 = 2;
const CONV_2D: i32 = 3;
const DEPTHWISE_CONV_2D: i32 = 4;
const DEQUANTIZE: i32 = 6;
const FULLY_CONNECTED: i32 = 9;
const MAX_POOL_2D: i32 = 17;
const RELU: i32 = 19;
const RELU6: i32 = 21;
const RESHAPE: i32 = 22;
const SOFTMAX: i32 = 25;
const PAD: i32 = 34;
const MEAN: i32 = 40;
const SQUEEZE: i32 = 43;
const QUANTIZE: i32 = 114;

// TensorType codes (schema.fbs).
const FLOAT32: i8 = 0;
const FLOAT16: i8 = 1;
const INT32: i8 = 2;
const UINT8: i8 = 3;
const INT8: i8 = 9;

fn malformed(e: planus::Error) -> Error {
    Error::Malformed(format!("TFLite flatbuffer: {e}"))
}

/// Shorthand for the planus accessors' errors.
trait Fb<T> {
    fn fb(self) -> Result<T>;
}

impl<T> Fb<T> for planus::Result<T> {
    fn fb(self) -> Result<T> {
        self.map_err(malformed)
    }
}

/// An activation tensor of the file, in IR terms.
#[derive(Clone, Copy, Debug)]
enum Val {
    /// Not produced by any operator so far (a constant, or not yet computed).
    Unset,
    /// `[1, H, W, C]` (rank 4) or `[1, N]` (rank 2).
    Act { id: ValueId, rank: usize },
    /// An activation with zero padding still to be applied by the convolution that reads it.
    Padded { id: ValueId, pad: Padding },
}

/// A constant tensor, dequantized.
struct Const {
    dims: Vec<usize>,
    data: Vec<f32>,
}

pub fn import(bytes: &[u8]) -> Result<Imported> {
    let model = fb::ModelRef::read_as_root(bytes).fb()?;
    let subgraphs = model.subgraphs().fb()?.ok_or_else(|| Error::Malformed("TFLite model without subgraphs".into()))?;
    let sg = subgraphs.get(0).ok_or_else(|| Error::Malformed("TFLite model without subgraphs".into()))?.fb()?;
    let tensors = sg.tensors().fb()?.ok_or_else(|| Error::Malformed("TFLite subgraph without tensors".into()))?;
    let mut b = Builder {
        model,
        tensors,
        vals: vec![Val::Unset; tensors.len()],
        folded: Vec::new(),
        g: None,
    };
    let inputs = sg.inputs().fb()?.map(|v| v.iter().collect::<Vec<i32>>()).unwrap_or_default();
    let [input] = inputs[..] else {
        return Err(Error::Unsupported(format!("TFLite graph with {} inputs (one image input expected)", inputs.len())));
    };
    let preprocessing = b.input(input)?;
    let ops = sg.operators().fb()?.ok_or_else(|| Error::Malformed("TFLite subgraph without operators".into()))?;
    for op in ops.iter() {
        b.operator(op.fb()?)?;
    }
    let outputs = sg.outputs().fb()?.map(|v| v.iter().collect::<Vec<i32>>()).unwrap_or_default();
    let [output] = outputs[..] else {
        return Err(Error::Unsupported(format!("TFLite graph with {} outputs (one expected)", outputs.len())));
    };
    let out = match b.val(output)? {
        Val::Act { id, .. } => id,
        _ => return Err(Error::Malformed("the TFLite graph output is never computed".into())),
    };
    let mut g = b.g.take().expect("input() created the graph");
    if g.shape(out).pixels() != 1 {
        return Err(Error::Unsupported(format!("TFLite graph output {} is not a vector of scores", g.shape(out))));
    }
    g.output = out;
    let (label_offset, num_classes) = default_labels(g.shape(out).len());
    let architecture = architecture(&b);
    Ok(Imported { graph: g, architecture, preprocessing, num_classes, label_offset })
}

/// The family, when the converter's tensor names tell it (`MobilenetV1/...`, `mobilenetv2_1.00_224/...`).
fn architecture(b: &Builder<'_>) -> Option<String> {
    let names = (0..b.vals.len()).filter_map(|i| b.tensors.get(i)?.ok()?.name().ok()?.map(str::to_ascii_lowercase));
    for name in names.take(64) {
        for (pattern, arch) in [("mobilenetv1", "mobilenet_v1"), ("mobilenet_v1", "mobilenet_v1"), ("mobilenetv2", "mobilenet_v2"), ("mobilenet_v2", "mobilenet_v2")] {
            if name.contains(pattern) {
                return Some(arch.to_string());
            }
        }
    }
    None
}

struct Builder<'a> {
    model: fb::ModelRef<'a>,
    tensors: planus::Vector<'a, planus::Result<fb::TensorRef<'a>>>,
    vals: Vec<Val>,
    /// Constants computed at load (DEQUANTIZE of a constant), by tensor index.
    folded: Vec<(usize, Const)>,
    g: Option<Graph>,
}

impl<'a> Builder<'a> {
    fn index(&self, t: i32) -> Result<usize> {
        usize::try_from(t)
            .ok()
            .filter(|&i| i < self.vals.len())
            .ok_or_else(|| Error::Malformed(format!("tensor index {t} outside 0..{}", self.vals.len())))
    }

    fn tensor(&self, t: i32) -> Result<fb::TensorRef<'a>> {
        let i = self.index(t)?;
        self.tensors.get(i).expect("index checked").fb()
    }

    fn val(&self, t: i32) -> Result<Val> {
        Ok(self.vals[self.index(t)?])
    }

    fn name(&self, t: i32) -> String {
        match self.tensor(t).and_then(|t| t.name().fb()) {
            Ok(Some(n)) if !n.is_empty() => n.to_string(),
            _ => format!("tensor_{t}"),
        }
    }

    fn graph(&mut self) -> &mut Graph {
        self.g.as_mut().expect("input() created the graph")
    }

    /// Creates the graph from the input tensor `[1, H, W, C]`; returns the preprocessing its
    /// quantization implies (float inputs have none).
    fn input(&mut self, t: i32) -> Result<Option<Preprocessing>> {
        let tensor = self.tensor(t)?;
        let dims = shape(&tensor)?;
        let [1, h, w, c] = dims[..] else {
            return Err(Error::Unsupported(format!("TFLite input of shape {dims:?} (expected [1, H, W, C])")));
        };
        let g = Graph::new(Shape::new(h, w, c))?;
        let i = self.index(t)?;
        self.vals[i] = Val::Act { id: g.input, rank: 4 };
        self.g = Some(g);
        let ty = tensor.type_().fb()?;
        let (mean, std) = match ty {
            FLOAT32 => return Ok(None),
            UINT8 | INT8 => {
                let (scales, zps, _) = quantization(&tensor)?.ok_or_else(|| Error::Malformed("quantized input without scale".into()))?;
                let ([scale], [zp]) = (&scales[..], &zps[..]) else {
                    return Err(Error::Unsupported("per-channel quantized input".into()));
                };
                // Bytes x are fed as q = x (uint8) or q = x − 128 (int8): real = (x − mean) / std.
                let shift = if ty == INT8 { 128.0 } else { 0.0 };
                (*zp as f32 + shift, 1.0 / scale)
            }
            other => return Err(Error::Unsupported(format!("TFLite input of tensor type {other}"))),
        };
        Ok(Some(Preprocessing { size: h, color: ColorOrder::Rgb, scale: 1.0, mean: [mean; 3], std: [std; 3] }))
    }

    /// A constant input, dequantized to f32.
    fn constant(&self, t: i32) -> Result<Const> {
        let i = self.index(t)?;
        if let Some((_, c)) = self.folded.iter().find(|(k, _)| *k == i) {
            return Ok(Const { dims: c.dims.clone(), data: c.data.clone() });
        }
        let what = format!("tensor '{}'", self.name(t));
        let tensor = self.tensor(t)?;
        if tensor.sparsity().fb()?.is_some() {
            return Err(Error::Unsupported(format!("{what}: sparse tensors")));
        }
        let dims = shape(&tensor)?;
        let n = dims.iter().product::<usize>();
        let buffers = self.model.buffers().fb()?.ok_or_else(|| Error::Malformed("TFLite model without buffers".into()))?;
        let bi = tensor.buffer().fb()? as usize;
        let buffer = buffers.get(bi).ok_or_else(|| Error::Malformed(format!("{what}: buffer {bi} of {}", buffers.len())))?.fb()?;
        let bytes = buffer.data().fb()?.unwrap_or(&[]);
        if bytes.is_empty() && n > 0 {
            return Err(Error::Unsupported(format!("{what}: a weight computed at run time or stored outside the flatbuffer")));
        }
        let ty = tensor.type_().fb()?;
        let raw: Vec<f32> = match ty {
            FLOAT32 => f32s_le(&what, bytes, n)?,
            FLOAT16 => {
                if Some(bytes.len()) != n.checked_mul(2) {
                    return Err(Error::Malformed(format!("{what}: {} bytes for {n} float16 values", bytes.len())));
                }
                bytes.chunks_exact(2).map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]]))).collect()
            }
            UINT8 | INT8 => {
                if bytes.len() != n {
                    return Err(Error::Malformed(format!("{what}: {} bytes for {n} 8-bit values", bytes.len())));
                }
                bytes.iter().map(|&b| if ty == INT8 { b as i8 as f32 } else { b as f32 }).collect()
            }
            INT32 => {
                if Some(bytes.len()) != n.checked_mul(4) {
                    return Err(Error::Malformed(format!("{what}: {} bytes for {n} int32 values", bytes.len())));
                }
                bytes.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32).collect()
            }
            other => return Err(Error::Unsupported(format!("{what}: tensor type {other}"))),
        };
        let data = match (ty, quantization(&tensor)?) {
            (FLOAT32 | FLOAT16, _) => raw,
            (_, Some(q)) => dequantize(&what, &dims, raw, q)?,
            (INT32, None) => raw,
            (_, None) => return Err(Error::Malformed(format!("{what}: 8-bit weights without quantization parameters"))),
        };
        Ok(Const { dims, data })
    }

    /// Integer values of a constant int32 tensor (shapes, paddings, axes).
    fn ints(&self, t: i32) -> Result<Vec<i64>> {
        let tensor = self.tensor(t)?;
        if tensor.type_().fb()? != INT32 || quantization(&tensor)?.is_some() {
            return Err(Error::Unsupported(format!("tensor '{}': expected plain int32 values", self.name(t))));
        }
        Ok(self.constant(t)?.data.iter().map(|&v| v as i64).collect())
    }

    /// Input `t` as an activation (not padded).
    fn act(&self, t: i32, op: &str) -> Result<(ValueId, usize)> {
        match self.val(t)? {
            Val::Act { id, rank } => Ok((id, rank)),
            Val::Padded { .. } => Err(Error::Unsupported(format!("{op}: PAD in front of it (only convolutions take padding)"))),
            Val::Unset => Err(Error::Malformed(format!("{op}: input '{}' is used before it is computed", self.name(t)))),
        }
    }

    fn define(&mut self, t: i32, v: Val) -> Result<()> {
        let i = self.index(t)?;
        if !matches!(self.vals[i], Val::Unset) {
            return Err(Error::Malformed(format!("tensor '{}' is computed twice", self.name(t))));
        }
        self.vals[i] = v;
        Ok(())
    }

    fn push(&mut self, out: i32, op: Op, inputs: &[ValueId], rank: usize) -> Result<()> {
        let name = self.name(out);
        let id = self.graph().push(name, op, inputs)?;
        self.define(out, Val::Act { id, rank })
    }

    /// Appends a stand-alone activation after `id` unless `act` is None.
    fn then_act(&mut self, out: i32, op: Op, inputs: &[ValueId], act: Activation, rank: usize) -> Result<()> {
        if act == Activation::None {
            return self.push(out, op, inputs, rank);
        }
        let name = self.name(out);
        let id = self.graph().push(format!("{name}:pre_act"), op, inputs)?;
        self.push(out, Op::Act(act), &[id], rank)
    }

    fn operator(&mut self, op: fb::OperatorRef<'a>) -> Result<()> {
        let codes = self.model.operator_codes().fb()?.ok_or_else(|| Error::Malformed("TFLite model without operator codes".into()))?;
        let ci = op.opcode_index().fb()? as usize;
        let code = codes.get(ci).ok_or_else(|| Error::Malformed(format!("operator code {ci} of {}", codes.len())))?.fb()?;
        // Files before schema 3a only set the deprecated byte; newer ones set both (TFLite takes the max).
        let builtin = code.builtin_code().fb()?.max(code.deprecated_builtin_code().fb()? as i32);
        let ins: Vec<i32> = op.inputs().fb()?.map(|v| v.iter().collect()).unwrap_or_default();
        let outs: Vec<i32> = op.outputs().fb()?.map(|v| v.iter().collect()).unwrap_or_default();
        let [out] = outs[..] else {
            return Err(Error::Unsupported(format!("TFLite operator {builtin} with {} outputs", outs.len())));
        };
        let name = self.name(out);
        let input = |k: usize| -> Result<i32> {
            ins.get(k).copied().filter(|&t| t >= 0).ok_or_else(|| Error::Malformed(format!("{name}: operator {builtin} lacks input {k}")))
        };
        let options = || -> Result<fb::BuiltinOptionsRef<'a>> {
            op.builtin_options().fb()?.ok_or_else(|| Error::Malformed(format!("{name}: operator {builtin} without options")))
        };
        match builtin {
            CONV_2D | DEPTHWISE_CONV_2D => self.conv(builtin == DEPTHWISE_CONV_2D, &name, &ins, out, options()?),
            AVERAGE_POOL_2D | MAX_POOL_2D => {
                let (x, _) = self.act(input(0)?, &name)?;
                let fb::BuiltinOptionsRef::Pool2DOptions(o) = options()? else { return Err(wrong_options(&name)) };
                let s = self.graph().shape(x);
                let (kh, kw) = (positive(&name, o.filter_height().fb()?)?, positive(&name, o.filter_width().fb()?)?);
                let (sh, sw) = (positive(&name, o.stride_h().fb()?)?, positive(&name, o.stride_w().fb()?)?);
                let win = tf_window(s.h, s.w, kh, kw, sh, sw, o.padding().fb()? == fb::Padding::Same);
                let pool = if builtin == MAX_POOL_2D { Op::MaxPool { win } } else { Op::AvgPool { win, count_include_pad: false } };
                let act = activation(&name, o.fused_activation_function().fb()?)?;
                self.then_act(out, pool, &[x], act, 4)
            }
            ADD => {
                let (a, ra) = self.act(input(0)?, &name)?;
                let (b, rb) = self.act(input(1)?, &name)?;
                let fb::BuiltinOptionsRef::AddOptions(o) = options()? else { return Err(wrong_options(&name)) };
                if ra != rb {
                    return Err(Error::Unsupported(format!("{name}: ADD with broadcasting")));
                }
                let act = activation(&name, o.fused_activation_function().fb()?)?;
                self.push(out, Op::Add { act }, &[a, b], ra)
            }
            CONCATENATION => {
                let fb::BuiltinOptionsRef::ConcatenationOptions(o) = options()? else { return Err(wrong_options(&name)) };
                let mut ids = Vec::with_capacity(ins.len());
                let mut rank = 0;
                for &t in &ins {
                    let (id, r) = self.act(t, &name)?;
                    rank = r;
                    ids.push(id);
                }
                let axis = o.axis().fb()?;
                if !(axis == -1 || axis == rank as i32 - 1) {
                    return Err(Error::Unsupported(format!("{name}: CONCATENATION along axis {axis} (only channels)")));
                }
                let act = activation(&name, o.fused_activation_function().fb()?)?;
                self.then_act(out, Op::Concat, &ids, act, rank)
            }
            RESHAPE | SQUEEZE => self.reshape(&name, input(0)?, out),
            SOFTMAX => {
                let (x, rank) = self.act(input(0)?, &name)?;
                if let Ok(fb::BuiltinOptionsRef::SoftmaxOptions(o)) = options() {
                    if o.beta().fb()? != 1.0 {
                        return Err(Error::Unsupported(format!("{name}: SOFTMAX with beta ≠ 1")));
                    }
                }
                if self.graph().shape(x).pixels() != 1 {
                    return Err(Error::Unsupported(format!("{name}: SOFTMAX over an image (only over a vector)")));
                }
                self.push(out, Op::Softmax, &[x], rank)
            }
            FULLY_CONNECTED => self.fully_connected(&name, &ins, out, options()?),
            PAD => {
                let (x, _) = self.act(input(0)?, &name)?;
                let p = self.ints(input(1)?)?;
                let [0, 0, t, b, l, r, 0, 0] = p[..] else {
                    return Err(Error::Unsupported(format!("{name}: PAD {p:?} (only height and width)")));
                };
                let v = |v: i64| usize::try_from(v).ok().filter(|&v| v <= 1 << 16).ok_or_else(|| Error::Malformed(format!("{name}: padding {v}")));
                let pad = Padding { top: v(t)?, bottom: v(b)?, left: v(l)?, right: v(r)? };
                self.define(out, Val::Padded { id: x, pad })
            }
            MEAN => {
                let (x, rank) = self.act(input(0)?, &name)?;
                let mut axes = self.ints(input(1)?)?;
                axes.sort_unstable();
                if rank != 4 || axes != [1, 2] {
                    return Err(Error::Unsupported(format!("{name}: MEAN over axes {axes:?} (only height and width)")));
                }
                let keep = match options() {
                    Ok(fb::BuiltinOptionsRef::ReducerOptions(o)) => o.keep_dims().fb()?,
                    _ => false,
                };
                self.push(out, Op::GlobalAvgPool, &[x], if keep { 4 } else { 2 })
            }
            RELU | RELU6 => {
                let (x, rank) = self.act(input(0)?, &name)?;
                self.push(out, Op::Act(if builtin == RELU { Activation::Relu } else { Activation::Relu6 }), &[x], rank)
            }
            QUANTIZE | DEQUANTIZE => {
                let t = input(0)?;
                match self.val(t)? {
                    // In float execution a (re)quantization of an activation changes nothing.
                    v @ (Val::Act { .. } | Val::Padded { .. }) => self.define(out, v),
                    Val::Unset => {
                        let c = self.constant(t)?;
                        let i = self.index(out)?;
                        self.folded.push((i, c));
                        Ok(())
                    }
                }
            }
            other => Err(Error::Unsupported(format!("TFLite operator {} (code {other}) in {name}", op_name(other)))),
        }
    }

    fn conv(&mut self, depthwise: bool, name: &str, ins: &[i32], out: i32, options: fb::BuiltinOptionsRef<'a>) -> Result<()> {
        let x_t = *ins.first().ok_or_else(|| Error::Malformed(format!("{name}: convolution without input")))?;
        let (x, pad) = match self.val(x_t)? {
            Val::Act { id, rank: 4 } => (id, Padding::default()),
            Val::Padded { id, pad } => (id, pad),
            _ => return Err(Error::Malformed(format!("{name}: convolution input is not an image"))),
        };
        let s = self.graph().shape(x);
        let padded = Shape::new(s.h + pad.top + pad.bottom, s.w + pad.left + pad.right, s.c);
        let w_t = *ins.get(1).ok_or_else(|| Error::Malformed(format!("{name}: convolution without weights")))?;
        let w = self.constant(w_t)?;
        let bias = match ins.get(2) {
            Some(&t) if t >= 0 => Some(self.constant(t)?.data),
            _ => None,
        };
        let [d0, kh, kw, d3] = w.dims[..] else {
            return Err(Error::Malformed(format!("{name}: weights of shape {:?}", w.dims)));
        };
        let (same, strides, dilations, act) = match options {
            fb::BuiltinOptionsRef::Conv2DOptions(o) if !depthwise => (
                o.padding().fb()? == fb::Padding::Same,
                (o.stride_h().fb()?, o.stride_w().fb()?),
                (o.dilation_h_factor().fb()?, o.dilation_w_factor().fb()?),
                o.fused_activation_function().fb()?,
            ),
            fb::BuiltinOptionsRef::DepthwiseConv2DOptions(o) if depthwise => (
                o.padding().fb()? == fb::Padding::Same,
                (o.stride_h().fb()?, o.stride_w().fb()?),
                (o.dilation_h_factor().fb()?, o.dilation_w_factor().fb()?),
                o.fused_activation_function().fb()?,
            ),
            _ => return Err(wrong_options(name)),
        };
        if dilations != (1, 1) {
            return Err(Error::Unsupported(format!("{name}: dilated convolution")));
        }
        let (sh, sw) = (positive(name, strides.0)?, positive(name, strides.1)?);
        let mut win: Window = tf_window(padded.h, padded.w, kh, kw, sh, sw, same);
        win.pad.top += pad.top;
        win.pad.bottom += pad.bottom;
        win.pad.left += pad.left;
        win.pad.right += pad.right;
        let act = activation(name, act)?;
        let (cout, groups, weight) = if depthwise {
            // [1, kh, kw, cout] → [cout][kh][kw][1]; output channel o reads input channel o / multiplier.
            if d0 != 1 || s.c == 0 || d3 == 0 || !d3.is_multiple_of(s.c) {
                return Err(Error::shape(name, format!("depthwise weights {:?} on {} channels", w.dims, s.c)));
            }
            let cout = d3;
            let mut t = vec![0.0; w.data.len()];
            for (p, chunk) in w.data.chunks_exact(cout).enumerate() {
                for (o, &v) in chunk.iter().enumerate() {
                    t[o * kh * kw + p] = v;
                }
            }
            (cout, s.c, t)
        } else {
            // OHWI already; grouped when the weights see fewer channels than the input has.
            if d3 == 0 || !s.c.is_multiple_of(d3) {
                return Err(Error::shape(name, format!("weights {:?} on {} channels", w.dims, s.c)));
            }
            (d0, s.c / d3, w.data)
        };
        let conv = Conv { win, groups, cout, weight, bias, act, input_perm: None };
        self.push(out, Op::Conv(conv), &[x], 4)
    }

    fn fully_connected(&mut self, name: &str, ins: &[i32], out: i32, options: fb::BuiltinOptionsRef<'a>) -> Result<()> {
        let fb::BuiltinOptionsRef::FullyConnectedOptions(o) = options else { return Err(wrong_options(name)) };
        if o.weights_format().fb()? != 0 {
            return Err(Error::Unsupported(format!("{name}: shuffled FULLY_CONNECTED weights")));
        }
        let x_t = *ins.first().ok_or_else(|| Error::Malformed(format!("{name}: no input")))?;
        let (mut x, _) = self.act(x_t, name)?;
        if self.graph().shape(x).pixels() != 1 {
            // TFLite flattens the input row-major (NHWC), as the IR's Flatten does.
            x = self.graph().push(format!("{name}:flatten"), Op::Flatten, &[x])?;
        }
        let w = self.constant(*ins.get(1).ok_or_else(|| Error::Malformed(format!("{name}: no weights")))?)?;
        let [outn, _] = w.dims[..] else { return Err(Error::Malformed(format!("{name}: weights of shape {:?}", w.dims))) };
        let bias = match ins.get(2) {
            Some(&t) if t >= 0 => Some(self.constant(t)?.data),
            _ => None,
        };
        let act = activation(name, o.fused_activation_function().fb()?)?;
        self.push(out, Op::Dense { out: outn, weight: w.data, bias, act }, &[x], 2)
    }

    /// RESHAPE / SQUEEZE, from the output tensor's static shape.
    fn reshape(&mut self, name: &str, x_t: i32, out: i32) -> Result<()> {
        let (x, _) = self.act(x_t, name)?;
        let s = self.graph().shape(x);
        let to = shape(&self.tensor(out)?)?;
        if to.iter().product::<usize>() != s.len() {
            return Err(Error::shape(name, format!("reshape of {s} to {to:?}")));
        }
        match to[..] {
            [1, h, w, c] if Shape::new(h, w, c) == s => self.define(out, Val::Act { id: x, rank: 4 }),
            [1, _] | [_] if s.pixels() == 1 => self.define(out, Val::Act { id: x, rank: 2 }),
            [1, _] | [_] => self.push(out, Op::Flatten, &[x], 2),
            [1, 1, 1, _] => self.push(out, Op::Flatten, &[x], 4),
            _ => Err(Error::Unsupported(format!("{name}: reshape of {s} to {to:?}"))),
        }
    }
}

/// A tensor's static shape, every dim checked.
fn shape(t: &fb::TensorRef<'_>) -> Result<Vec<usize>> {
    let dims: Vec<i64> = t.shape().fb()?.map(|v| v.iter().map(i64::from).collect()).unwrap_or_default();
    if dims.len() > 8 {
        return Err(Error::Unsupported(format!("tensor of rank {}", dims.len())));
    }
    numel("TFLite tensor", &dims)?;
    Ok(dims.iter().map(|&d| d as usize).collect())
}

/// A tensor's quantization: scales, zero points, and the dimension they run along.
type Quantization = (Vec<f32>, Vec<i64>, i32);

/// `None` when the tensor has no quantization.
fn quantization(t: &fb::TensorRef<'_>) -> Result<Option<Quantization>> {
    let Some(q) = t.quantization().fb()? else { return Ok(None) };
    let scales: Vec<f32> = q.scale().fb()?.map(|v| v.iter().collect()).unwrap_or_default();
    if scales.is_empty() {
        return Ok(None);
    }
    if q.details().fb()?.is_some() {
        return Err(Error::Unsupported("custom quantization".into()));
    }
    let zps: Vec<i64> = q.zero_point().fb()?.map(|v| v.iter().collect()).unwrap_or_default();
    let zps = if zps.is_empty() { vec![0; scales.len()] } else { zps };
    if zps.len() != scales.len() || scales.iter().any(|s| !s.is_finite()) {
        return Err(Error::Malformed("quantization scales and zero points do not match".into()));
    }
    Ok(Some((scales, zps, q.quantized_dimension().fb()?)))
}

/// `real = scale · (q − zero_point)`, per tensor or per channel along `dim`.
fn dequantize(what: &str, dims: &[usize], mut q: Vec<f32>, (scales, zps, dim): Quantization) -> Result<Vec<f32>> {
    if scales.len() == 1 {
        let (s, z) = (scales[0], zps[0] as f32);
        q.iter_mut().for_each(|v| *v = (*v - z) * s);
        return Ok(q);
    }
    let d = usize::try_from(dim).ok().filter(|&d| d < dims.len() && dims[d] == scales.len()).ok_or_else(|| {
        Error::Malformed(format!("{what}: {} scales along dimension {dim} of {dims:?}", scales.len()))
    })?;
    let inner: usize = dims[d + 1..].iter().product();
    for (i, v) in q.iter_mut().enumerate() {
        let c = (i / inner.max(1)) % scales.len();
        *v = (*v - zps[c] as f32) * scales[c];
    }
    Ok(q)
}

fn activation(name: &str, a: fb::ActivationFunctionType) -> Result<Activation> {
    match a {
        fb::ActivationFunctionType::None => Ok(Activation::None),
        fb::ActivationFunctionType::Relu => Ok(Activation::Relu),
        fb::ActivationFunctionType::Relu6 => Ok(Activation::Relu6),
        other => Err(Error::Unsupported(format!("{name}: fused activation {other:?}"))),
    }
}

fn positive(name: &str, v: i32) -> Result<usize> {
    usize::try_from(v).ok().filter(|&v| (1..=1 << 16).contains(&v)).ok_or_else(|| Error::Malformed(format!("{name}: size or stride {v}")))
}

fn wrong_options(name: &str) -> Error {
    Error::Malformed(format!("{name}: operator options of the wrong kind"))
}

/// Names of common operators for error messages.
fn op_name(code: i32) -> &'static str {
    match code {
        14 => "LOGISTIC",
        18 => "MUL",
        23 => "RESIZE_BILINEAR",
        28 => "TANH",
        32 => "CUSTOM",
        39 => "TRANSPOSE",
        41 => "SUB",
        42 => "DIV",
        49 => "SPLIT",
        60 => "PADV2",
        65 => "SLICE",
        98 => "LEAKY_RELU",
        117 => "HARD_SWISH",
        _ => "",
    }
}

/// IEEE half → single precision.
fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let frac = (h & 0x3ff) as u32;
    let bits = match exp {
        0 if frac == 0 => sign,
        0 => {
            // Subnormal: normalise.
            let shift = frac.leading_zeros() - 21;
            sign | ((113 - shift) << 23) | (((frac << shift) & 0x3ff) << 13)
        }
        0x1f => sign | 0x7f80_0000 | (frac << 13),
        _ => sign | ((exp + 112) << 23) | (frac << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::f16_to_f32;

    #[test]
    fn half_precision_values() {
        assert_eq!(f16_to_f32(0x0000), 0.0);
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24)); // smallest subnormal
        assert_eq!(f16_to_f32(0x03ff), 1023.0 * 2f32.powi(-24)); // largest subnormal
        assert_eq!(f16_to_f32(0x0200), 2f32.powi(-15));
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
    }
}
