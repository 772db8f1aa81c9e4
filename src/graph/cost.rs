//! Cost model of a graph, per layer and in total, as the papers count it:
//! - `macs`: multiply-adds of convolutions (`oh·ow·cout·kh·kw·cin/groups`) and dense layers
//!   (`in·out`); everything else (BatchNorm, activations, pools, adds, shuffles) counts 0, as
//!   in the MobileNet and ShuffleNet papers' "mult-adds"/"FLOPs".
//! - `params`: weights plus biases of every op that has them. A BatchNorm layer reports its
//!   scale and shift (2 per channel), but [`totals`] keeps them apart in `batchnorm_params`:
//!   the papers count conv and FC weights only (at inference BatchNorm folds into the conv).
//! - `mac`: memory access cost in elements as ShuffleNet V2 defines it (for a 1×1 conv
//!   `h·w·(c1 + c2) + c1·c2/g`), generalised to every op as elements read plus elements
//!   written plus parameters read. A slice reads only its channels; adds read both operands;
//!   concat and shuffles are counted as the copies they are in an op-by-op execution.
//!
//! With these rules the zoo's totals match the papers (see tests/zoo.rs), and the parameter
//! counts plus `batchnorm_params` match torchvision's and Keras' exactly.

use super::ir::{Graph, Op};
use crate::tensor::Shape;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerCost {
    pub name: String,
    pub kind: &'static str,
    pub out_shape: Shape,
    pub macs: u64,
    pub params: u64,
    pub mac: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CostTotals {
    pub macs: u64,
    /// Conv and dense weights and biases (the papers' parameter count).
    pub params: u64,
    /// BatchNorm scale and shift, not part of `params`.
    pub batchnorm_params: u64,
    pub mac: u64,
}

/// One entry per node, in execution order.
pub fn layer_costs(g: &Graph) -> Vec<LayerCost> {
    g.nodes
        .iter()
        .map(|node| {
            let out = g.shape(node.output);
            let inputs: Vec<Shape> = node.inputs.iter().map(|&v| g.shape(v)).collect();
            // u64 throughout: wide models at high resolution overflow a 32-bit usize (wasm32).
            let len = |s: Shape| s.len() as u64;
            let read: u64 = match &node.op {
                Op::Slice { .. } => len(out),
                _ => inputs.iter().map(|&s| len(s)).sum(),
            };
            let count = |v: &Option<Vec<f32>>| v.as_ref().map_or(0, |b| b.len() as u64);
            let (macs, params) = match &node.op {
                Op::Conv(c) => {
                    let window = (c.win.kh * c.win.kw * (inputs[0].c / c.groups)) as u64;
                    (len(out) * window, c.weight.len() as u64 + count(&c.bias))
                }
                Op::Dense { weight, bias, .. } => (weight.len() as u64, weight.len() as u64 + count(bias)),
                Op::Affine { scale, shift, .. } => (0, (scale.len() + shift.len()) as u64),
                _ => (0, 0),
            };
            LayerCost {
                name: node.name.clone(),
                kind: node.op.kind(),
                out_shape: out,
                macs,
                params,
                mac: read + len(out) + params,
            }
        })
        .collect()
}

pub fn totals(layers: &[LayerCost]) -> CostTotals {
    layers.iter().fold(CostTotals::default(), |mut t, l| {
        t.macs += l.macs;
        t.mac += l.mac;
        if l.kind == "batchnorm" {
            t.batchnorm_params += l.params;
        } else {
            t.params += l.params;
        }
        t
    })
}
