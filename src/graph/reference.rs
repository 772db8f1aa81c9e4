//! The oracle: runs a graph op by op with the naive loops of `kernels::naive`, one dense tensor
//! per value, no rewrites and no views. Graph tests and importers compare the fast plan with it.

use super::ir::{Graph, Op};
use crate::error::{Error, Result};
use crate::kernels::naive;
use crate::tensor::Shape;

/// Runs `g` on `input` (NHWC, the graph's input shape) and returns the output value, flattened.
pub fn run_reference(g: &Graph, input: &[f32]) -> Result<Vec<f32>> {
    g.validate()?;
    let in_shape = g.shape(g.input);
    if input.len() != in_shape.len() {
        return Err(Error::Input(format!("input has {} values, the graph expects {in_shape} = {}", input.len(), in_shape.len())));
    }
    // Values are dropped after their last reader so whole networks fit in memory.
    let mut remaining_uses = g.use_counts();
    let mut values: Vec<Option<Vec<f32>>> = vec![None; g.shapes.len()];
    values[g.input] = Some(input.to_vec());
    for node in &g.nodes {
        let ins: Vec<&[f32]> = node.inputs.iter().map(|&v| values[v].as_deref().expect("validated graph")).collect();
        let shapes: Vec<Shape> = node.inputs.iter().map(|&v| g.shape(v)).collect();
        let out = run_op(&node.op, &ins, &shapes);
        debug_assert_eq!(out.len(), g.shape(node.output).len());
        values[node.output] = Some(out);
        for &v in &node.inputs {
            remaining_uses[v] -= 1;
            if remaining_uses[v] == 0 {
                values[v] = None;
            }
        }
    }
    Ok(values[g.output].take().expect("validated graph produces its output"))
}

/// One op on dense inputs whose shapes `validate` has already checked.
fn run_op(op: &Op, ins: &[&[f32]], shapes: &[Shape]) -> Vec<f32> {
    let (x, s) = (ins[0], shapes[0]);
    match op {
        Op::Conv(c) => {
            let permuted;
            let x = match &c.input_perm {
                Some(perm) => {
                    permuted = naive::permute_channels(x, s.c, perm);
                    &permuted
                }
                None => x,
            };
            naive::conv2d(x, s, &c.weight, c.bias.as_deref(), c.cout, c.groups, &c.win, c.act).0
        }
        Op::Affine { scale, shift, act } => naive::channel_affine(x, s.c, scale, shift, *act),
        Op::Act(act) => x.iter().map(|&v| act.apply(v)).collect(),
        Op::MaxPool { win } => naive::max_pool(x, s, win).0,
        Op::AvgPool { win, count_include_pad } => naive::avg_pool(x, s, win, *count_include_pad).0,
        Op::GlobalAvgPool => naive::global_avg_pool(x, s),
        Op::Add { act } => naive::add(x, ins[1], *act),
        Op::Concat => {
            let total: usize = shapes.iter().map(|s| s.c).sum();
            let mut out = Vec::with_capacity(s.pixels() * total);
            for p in 0..s.pixels() {
                for (part, ps) in ins.iter().zip(shapes) {
                    out.extend_from_slice(&part[p * ps.c..(p + 1) * ps.c]);
                }
            }
            out
        }
        Op::Slice { start, len } => x.chunks_exact(s.c).flat_map(|px| &px[*start..start + len]).copied().collect(),
        Op::Permute { perm } => naive::permute_channels(x, s.c, perm),
        Op::Dense { out, weight, bias, act } => naive::dense(x, weight, bias.as_deref(), *out, *act),
        Op::Softmax => naive::softmax(x),
        Op::Flatten => x.to_vec(),
    }
}
