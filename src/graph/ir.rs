//! The IR: values (activations with shapes) and nodes (ops) in topological order.
//! One input (the image tensor, NHWC) and one output. Weights live inside the ops.

use crate::error::{Error, Result};
use crate::kernels::{Activation, Window};
use crate::tensor::Shape;

pub type ValueId = usize;

/// Upper bound on the elements of any activation or weight tensor (1 GiB of f32): larger claims
/// in a model are rejected before anything is allocated.
pub const MAX_TENSOR_ELEMENTS: usize = 1 << 28;

#[derive(Clone, Debug, PartialEq)]
pub struct Conv {
    pub win: Window,
    pub groups: usize,
    pub cout: usize,
    /// OHWI: `[cout][kh][kw][cin / groups]`.
    pub weight: Vec<f32>,
    pub bias: Option<Vec<f32>>,
    pub act: Activation,
    /// A channel shuffle folded into this conv: it reads input channel `perm[i]` as its channel `i`.
    pub input_perm: Option<Vec<usize>>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Conv(Conv),
    /// Per-channel `x * scale + shift` (an inference BatchNorm), then `act`.
    Affine { scale: Vec<f32>, shift: Vec<f32>, act: Activation },
    /// A stand-alone activation (fused into its producer by the rewrites where possible).
    Act(Activation),
    MaxPool { win: Window },
    AvgPool { win: Window, count_include_pad: bool },
    /// Mean over all pixels → 1×1×C.
    GlobalAvgPool,
    /// Two inputs of the same shape; `act(a + b)`.
    Add { act: Activation },
    /// Channel concatenation of all inputs (same H and W).
    Concat,
    /// Channels `start .. start + len` of the input.
    Slice { start: usize, len: usize },
    /// `out[.., j] = in[.., perm[j]]` (a channel shuffle is one such permutation).
    Permute { perm: Vec<usize> },
    /// Fully connected on a 1×1×K input; `weight` is `[out][in]`.
    Dense { out: usize, weight: Vec<f32>, bias: Option<Vec<f32>>, act: Activation },
    Softmax,
    /// H×W×C → 1×1×(H·W·C) (NHWC order, as TFLite reshapes do).
    Flatten,
}

impl Op {
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Conv(c) if c.win.kh == 1 && c.win.kw == 1 => {
                if c.groups > 1 { "conv1x1_grouped" } else { "conv1x1" }
            }
            Op::Conv(c) if c.groups > 1 && c.groups == c.cout => "depthwise",
            Op::Conv(_) => "conv",
            Op::Affine { .. } => "batchnorm",
            Op::Act(_) => "activation",
            Op::MaxPool { .. } => "maxpool",
            Op::AvgPool { .. } => "avgpool",
            Op::GlobalAvgPool => "global_avgpool",
            Op::Add { .. } => "add",
            Op::Concat => "concat",
            Op::Slice { .. } => "slice",
            Op::Permute { .. } => "shuffle",
            Op::Dense { .. } => "dense",
            Op::Softmax => "softmax",
            Op::Flatten => "flatten",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub name: String,
    pub op: Op,
    pub inputs: Vec<ValueId>,
    pub output: ValueId,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    /// Shape of every value, indexed by `ValueId`.
    pub shapes: Vec<Shape>,
    /// Nodes in execution (topological) order; each produces exactly one value.
    pub nodes: Vec<Node>,
    pub input: ValueId,
    pub output: ValueId,
}

impl Graph {
    /// A graph with just its input value; add nodes with [`Graph::push`] or the typed helpers.
    pub fn new(input: Shape) -> Result<Self> {
        check_elements(input.h, input.w, input.c, "input")?;
        Ok(Graph { shapes: vec![input], nodes: Vec::new(), input: 0, output: 0 })
    }

    pub fn shape(&self, v: ValueId) -> Shape {
        self.shapes[v]
    }

    /// Append a node after validating its inputs and inferring its output shape. The new value
    /// becomes the graph's output.
    pub fn push(&mut self, name: impl Into<String>, op: Op, inputs: &[ValueId]) -> Result<ValueId> {
        let name = name.into();
        for &v in inputs {
            if v >= self.shapes.len() {
                return Err(Error::Malformed(format!("{name}: input value {v} does not exist")));
            }
        }
        let shape = infer_shape(&name, &op, &inputs.iter().map(|&v| self.shapes[v]).collect::<Vec<_>>())?;
        let id = self.shapes.len();
        self.shapes.push(shape);
        self.nodes.push(Node { name, op, inputs: inputs.to_vec(), output: id });
        self.output = id;
        Ok(id)
    }

    /// Re-check every node's shapes (after rewrites or when a graph came from outside).
    pub fn validate(&self) -> Result<()> {
        let mut defined = vec![false; self.shapes.len()];
        if self.input >= self.shapes.len() || self.output >= self.shapes.len() {
            return Err(Error::Malformed("graph input/output value out of range".into()));
        }
        defined[self.input] = true;
        for n in &self.nodes {
            for &v in &n.inputs {
                if v >= defined.len() || !defined[v] {
                    return Err(Error::Malformed(format!("{}: input {v} used before it is defined", n.name)));
                }
            }
            let ins: Vec<Shape> = n.inputs.iter().map(|&v| self.shapes[v]).collect();
            let s = infer_shape(&n.name, &n.op, &ins)?;
            if n.output >= self.shapes.len() || self.shapes[n.output] != s || defined[n.output] {
                return Err(Error::Malformed(format!("{}: output value inconsistent", n.name)));
            }
            defined[n.output] = true;
        }
        if !defined[self.output] {
            return Err(Error::Malformed("graph output is never produced".into()));
        }
        Ok(())
    }

    /// Number of nodes reading each value (the graph output counts as one more reader).
    pub fn use_counts(&self) -> Vec<usize> {
        let mut uses = vec![0; self.shapes.len()];
        for n in &self.nodes {
            for &v in &n.inputs {
                uses[v] += 1;
            }
        }
        uses[self.output] += 1;
        uses
    }

    // Typed helpers used by the zoo builders and importers.

    #[allow(clippy::too_many_arguments)]
    pub fn conv(
        &mut self,
        name: impl Into<String>,
        x: ValueId,
        cout: usize,
        win: Window,
        groups: usize,
        weight: Vec<f32>,
        bias: Option<Vec<f32>>,
        act: Activation,
    ) -> Result<ValueId> {
        self.push(name, Op::Conv(Conv { win, groups, cout, weight, bias, act, input_perm: None }), &[x])
    }

    pub fn affine(&mut self, name: impl Into<String>, x: ValueId, scale: Vec<f32>, shift: Vec<f32>, act: Activation) -> Result<ValueId> {
        self.push(name, Op::Affine { scale, shift, act }, &[x])
    }

    /// An inference BatchNorm from its four parameter vectors, as a per-channel affine.
    #[allow(clippy::too_many_arguments)]
    pub fn batch_norm(
        &mut self,
        name: impl Into<String>,
        x: ValueId,
        gamma: &[f32],
        beta: &[f32],
        mean: &[f32],
        var: &[f32],
        eps: f32,
    ) -> Result<ValueId> {
        let name = name.into();
        let c = self.shape(x).c;
        if [gamma.len(), beta.len(), mean.len(), var.len()].iter().any(|&l| l != c) {
            return Err(Error::shape(name, format!("BatchNorm parameters must have {c} entries")));
        }
        let scale: Vec<f32> = (0..c).map(|i| (gamma[i] as f64 / (var[i] as f64 + eps as f64).sqrt()) as f32).collect();
        let shift: Vec<f32> = (0..c).map(|i| (beta[i] as f64 - mean[i] as f64 * scale[i] as f64) as f32).collect();
        self.affine(name, x, scale, shift, Activation::None)
    }
}

fn check_elements(h: usize, w: usize, c: usize, what: &str) -> Result<()> {
    match h.checked_mul(w).and_then(|p| p.checked_mul(c)) {
        Some(n) if n <= MAX_TENSOR_ELEMENTS => Ok(()),
        _ => Err(Error::TooLarge(format!("{what}: {h}x{w}x{c} elements exceed the limit of {MAX_TENSOR_ELEMENTS}"))),
    }
}

/// Output shape of `op` on `inputs`, or a clear error when they do not fit together.
pub fn infer_shape(name: &str, op: &Op, inputs: &[Shape]) -> Result<Shape> {
    let err = |detail: String| Error::shape(name, detail);
    let arity = |n: usize| -> Result<()> {
        if inputs.len() == n { Ok(()) } else { Err(err(format!("expects {n} input(s), got {}", inputs.len()))) }
    };
    let out = match op {
        Op::Conv(c) => {
            arity(1)?;
            let s = inputs[0];
            if c.groups == 0 || c.cout == 0 || s.c % c.groups != 0 || c.cout % c.groups != 0 {
                return Err(err(format!("groups {} must divide input channels {} and output channels {}", c.groups, s.c, c.cout)));
            }
            let expect = c.cout.checked_mul(c.win.kh * c.win.kw).and_then(|v| v.checked_mul(s.c / c.groups));
            if expect != Some(c.weight.len()) {
                return Err(err(format!(
                    "weight has {} values, expected {}x{}x{}x{}",
                    c.weight.len(), c.cout, c.win.kh, c.win.kw, s.c / c.groups
                )));
            }
            if c.bias.as_ref().is_some_and(|b| b.len() != c.cout) {
                return Err(err(format!("bias must have {} values", c.cout)));
            }
            if let Some(p) = &c.input_perm {
                if !is_permutation(p, s.c) {
                    return Err(err(format!("input_perm is not a permutation of {} channels", s.c)));
                }
            }
            let (oh, ow) = c.win.output_size(s.h, s.w).ok_or_else(|| err(format!("window {:?} does not fit input {s}", c.win)))?;
            Shape::new(oh, ow, c.cout)
        }
        Op::Affine { scale, shift, .. } => {
            arity(1)?;
            if scale.len() != inputs[0].c || shift.len() != inputs[0].c {
                return Err(err(format!("per-channel parameters must have {} values", inputs[0].c)));
            }
            inputs[0]
        }
        Op::Act(_) | Op::Softmax => {
            arity(1)?;
            inputs[0]
        }
        Op::MaxPool { win } | Op::AvgPool { win, .. } => {
            arity(1)?;
            let s = inputs[0];
            if win.pad.top >= win.kh || win.pad.bottom >= win.kh || win.pad.left >= win.kw || win.pad.right >= win.kw {
                return Err(err("pool padding must be smaller than the window".into()));
            }
            let (oh, ow) = win.output_size(s.h, s.w).ok_or_else(|| err(format!("window {win:?} does not fit input {s}")))?;
            Shape::new(oh, ow, s.c)
        }
        Op::GlobalAvgPool => {
            arity(1)?;
            if inputs[0].pixels() == 0 {
                return Err(err("global average pool of an empty input".into()));
            }
            Shape::new(1, 1, inputs[0].c)
        }
        Op::Add { .. } => {
            arity(2)?;
            if inputs[0] != inputs[1] {
                return Err(err(format!("operands differ: {} vs {}", inputs[0], inputs[1])));
            }
            inputs[0]
        }
        Op::Concat => {
            if inputs.is_empty() {
                return Err(err("concat of nothing".into()));
            }
            let (h, w) = (inputs[0].h, inputs[0].w);
            if inputs.iter().any(|s| s.h != h || s.w != w) {
                return Err(err("concat inputs differ in height or width".into()));
            }
            Shape::new(h, w, inputs.iter().map(|s| s.c).sum())
        }
        Op::Slice { start, len } => {
            arity(1)?;
            if *len == 0 || start.checked_add(*len).is_none_or(|e| e > inputs[0].c) {
                return Err(err(format!("channels {start}..+{len} outside 0..{}", inputs[0].c)));
            }
            Shape::new(inputs[0].h, inputs[0].w, *len)
        }
        Op::Permute { perm } => {
            arity(1)?;
            if !is_permutation(perm, inputs[0].c) {
                return Err(err(format!("not a permutation of {} channels", inputs[0].c)));
            }
            inputs[0]
        }
        Op::Dense { out, weight, bias, .. } => {
            arity(1)?;
            let s = inputs[0];
            if s.h != 1 || s.w != 1 {
                return Err(err(format!("dense expects a 1x1xK input, got {s}")));
            }
            if out.checked_mul(s.c) != Some(weight.len()) || *out == 0 {
                return Err(err(format!("weight has {} values, expected {out}x{}", weight.len(), s.c)));
            }
            if bias.as_ref().is_some_and(|b| b.len() != *out) {
                return Err(err(format!("bias must have {out} values")));
            }
            Shape::new(1, 1, *out)
        }
        Op::Flatten => {
            arity(1)?;
            Shape::new(1, 1, inputs[0].len())
        }
    };
    check_elements(out.h, out.w, out.c, name)?;
    Ok(out)
}

pub fn is_permutation(p: &[usize], n: usize) -> bool {
    if p.len() != n {
        return false;
    }
    let mut seen = vec![false; n];
    p.iter().all(|&i| i < n && !std::mem::replace(&mut seen[i], true))
}

/// The channel shuffle of ShuffleNet with `groups` groups, as a permutation `out[j] = in[perm[j]]`.
/// `ShuffleOrder::Standard` views channels as (g, c/g) and transposes (the paper, torchvision,
/// Paddle); `ShuffleOrder::Megvii` views them as (c/g, g) and transposes (the Megvii V1 checkpoints).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShuffleOrder {
    Standard,
    Megvii,
}

pub fn shuffle_perm(c: usize, groups: usize, order: ShuffleOrder) -> Result<Vec<usize>> {
    if groups == 0 || c % groups != 0 {
        return Err(Error::Config(format!("channel shuffle: {groups} groups do not divide {c} channels")));
    }
    let m = c / groups;
    Ok(match order {
        // (g, m) -> (m, g): out[i*g + j] = in[j*m + i]
        ShuffleOrder::Standard => (0..c).map(|o| (o % groups) * m + o / groups).collect(),
        // (m, g) -> (g, m): out[j*m + i] = in[i*g + j]
        ShuffleOrder::Megvii => (0..c).map(|o| (o % m) * groups + o / m).collect(),
    })
}
