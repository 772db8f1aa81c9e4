//! Equivalence-preserving rewrites that remove whole passes over activations before planning:
//! BatchNorm (`Affine`) folded into the preceding Conv/Dense, stand-alone activations fused into
//! their producer, channel permutations moved down to and folded into the convs that read them,
//! no-ops and unused nodes dropped.

use super::ir::{Conv, Graph, Node, Op, ValueId};
use crate::error::Result;
use crate::kernels::Activation;
use crate::tensor::Shape;

/// Returns a graph computing the same output as `g` with fewer nodes, values renumbered compactly.
pub fn optimize(g: &Graph) -> Result<Graph> {
    g.validate()?;
    let mut work = Work { nodes: g.nodes.clone(), output: g.output, shapes: g.shapes.clone() };
    // Each rewrite removes a node or moves a permute later, so this terminates.
    while work.drop_no_op() || work.fold_affine() || work.fuse_activation() || work.sink_permute() || work.fold_permute() {}
    work.rebuild(g)
}

/// `outer(inner(x))` as one activation (every pair of these clamps composes to one of them).
pub fn compose(inner: Activation, outer: Activation) -> Activation {
    match (inner, outer) {
        (a, Activation::None) | (Activation::None, a) => a,
        (Activation::Relu, Activation::Relu) => Activation::Relu,
        _ => Activation::Relu6,
    }
}

struct Work {
    nodes: Vec<Node>,
    output: ValueId,
    /// Shape of every value; rewrites keep a value's shape (new values are appended).
    shapes: Vec<Shape>,
}

impl Work {
    fn use_counts(&self) -> Vec<usize> {
        let mut uses = vec![0; self.shapes.len()];
        for n in &self.nodes {
            for &v in &n.inputs {
                uses[v] += 1;
            }
        }
        uses[self.output] += 1;
        uses
    }

    fn producer(&self, v: ValueId) -> Option<usize> {
        self.nodes.iter().position(|n| n.output == v)
    }

    /// Every reader of `old` (and the graph output) reads `new` instead.
    fn replace_uses(&mut self, old: ValueId, new: ValueId) {
        for n in &mut self.nodes {
            n.inputs.iter_mut().filter(|v| **v == old).for_each(|v| *v = new);
        }
        if self.output == old {
            self.output = new;
        }
    }

    /// Removes node `i`; its readers read `replacement` instead.
    fn remove_node(&mut self, i: usize, replacement: ValueId) {
        let old = self.nodes.remove(i).output;
        self.replace_uses(old, replacement);
    }

    /// Nodes nothing reads, identity permutes, `Act(None)`, flattens of 1×1×C and identity
    /// `input_perm`s.
    fn drop_no_op(&mut self) -> bool {
        let uses = self.use_counts();
        if let Some(i) = self.nodes.iter().rposition(|n| uses[n.output] == 0) {
            self.nodes.remove(i);
            return true;
        }
        for n in &mut self.nodes {
            if let Op::Conv(c) = &mut n.op {
                if c.input_perm.as_deref().is_some_and(is_identity) {
                    c.input_perm = None;
                    return true;
                }
            }
        }
        let found = self.nodes.iter().position(|n| match &n.op {
            Op::Permute { perm } => is_identity(perm),
            Op::Act(Activation::None) => true,
            Op::Flatten => self.shapes[n.inputs[0]].pixels() == 1,
            _ => false,
        });
        match found {
            Some(i) => {
                let input = self.nodes[i].inputs[0];
                self.remove_node(i, input);
                true
            }
            None => false,
        }
    }

    /// `Affine` right after a Conv/Dense without activation whose output nothing else reads:
    /// scale that producer's weights and bias per output channel.
    fn fold_affine(&mut self) -> bool {
        let uses = self.use_counts();
        for i in 0..self.nodes.len() {
            let Op::Affine { scale, shift, act } = &self.nodes[i].op else { continue };
            let x = self.nodes[i].inputs[0];
            if uses[x] != 1 {
                continue;
            }
            let Some(p) = self.producer(x) else { continue };
            let (scale, shift, act) = (scale.clone(), shift.clone(), *act);
            let folded = match &mut self.nodes[p].op {
                Op::Conv(c) if c.act == Activation::None => {
                    scale_rows(&mut c.weight, &mut c.bias, c.cout, &scale, &shift);
                    c.act = act;
                    true
                }
                Op::Dense { out, weight, bias, act: a } if *a == Activation::None => {
                    scale_rows(weight, bias, *out, &scale, &shift);
                    *a = act;
                    true
                }
                _ => false,
            };
            if folded {
                self.remove_node(i, x);
                return true;
            }
        }
        false
    }

    /// A stand-alone activation after an op with an activation epilogue whose output nothing
    /// else reads: compose it into that epilogue.
    fn fuse_activation(&mut self) -> bool {
        let uses = self.use_counts();
        for i in 0..self.nodes.len() {
            let Op::Act(outer) = self.nodes[i].op else { continue };
            let x = self.nodes[i].inputs[0];
            if uses[x] != 1 {
                continue;
            }
            let Some(p) = self.producer(x) else { continue };
            let epilogue = match &mut self.nodes[p].op {
                Op::Conv(Conv { act, .. }) | Op::Dense { act, .. } | Op::Add { act } | Op::Affine { act, .. } => act,
                _ => continue,
            };
            *epilogue = compose(*epilogue, outer);
            self.remove_node(i, x);
            return true;
        }
        false
    }

    /// Moves a `Permute` below a per-channel op that is its only reader (re-indexing that op's
    /// parameters), so it reaches a conv that can absorb it: in ShuffleNet V1 the shuffle sits
    /// before a depthwise conv, and the grouped 1×1 conv after it can read the shuffle for free.
    fn sink_permute(&mut self) -> bool {
        let uses = self.use_counts();
        for i in 0..self.nodes.len() {
            let Op::Permute { perm } = &self.nodes[i].op else { continue };
            let perm = perm.clone();
            let (src, out) = (self.nodes[i].inputs[0], self.nodes[i].output);
            if uses[out] != 1 {
                continue;
            }
            let Some(r) = self.nodes.iter().position(|n| n.inputs.contains(&out)) else { continue };
            let mut inverse = vec![0; perm.len()];
            for (j, &p) in perm.iter().enumerate() {
                inverse[p] = j;
            }
            // Source channel s becomes permuted channel inverse[s], so it takes that channel's parameters.
            let reindex = |v: &[f32], per: usize| -> Vec<f32> {
                inverse.iter().flat_map(|&j| v[j * per..(j + 1) * per].iter().copied()).collect()
            };
            match &mut self.nodes[r].op {
                Op::Affine { scale, shift, .. } => {
                    *scale = reindex(scale, 1);
                    *shift = reindex(shift, 1);
                }
                Op::Act(_) | Op::MaxPool { .. } | Op::AvgPool { .. } => {}
                Op::Conv(c) if c.input_perm.is_none() && c.groups == perm.len() && c.cout == perm.len() => {
                    c.weight = reindex(&c.weight, c.win.kh * c.win.kw);
                    c.bias = c.bias.as_deref().map(|b| reindex(b, 1));
                }
                _ => continue,
            }
            // src → reader → y → permute → y2, and the former readers of y read y2.
            let y = self.nodes[r].output;
            let y2 = self.shapes.len();
            self.shapes.push(self.shapes[y]);
            self.replace_uses(y, y2);
            self.nodes[r].inputs[0] = src;
            let mut permute = self.nodes.remove(i);
            permute.inputs[0] = y;
            permute.output = y2;
            self.nodes.insert(r, permute);
            return true;
        }
        false
    }

    /// A `Permute` read only by convs and permutes: each reader takes the permute's input through
    /// a composed permutation instead.
    fn fold_permute(&mut self) -> bool {
        let uses = self.use_counts();
        for i in 0..self.nodes.len() {
            let Op::Permute { perm } = &self.nodes[i].op else { continue };
            let (src, out) = (self.nodes[i].inputs[0], self.nodes[i].output);
            let absorbs = |n: &Node| n.inputs[0] == out && matches!(n.op, Op::Conv(_) | Op::Permute { .. });
            let readers = self.nodes.iter().filter(|n| absorbs(n)).count();
            if readers == 0 || readers != uses[out] {
                continue;
            }
            let perm = perm.clone();
            // A reader's channel j was permuted channel q[j], i.e. source channel perm[q[j]].
            let composed = |q: &[usize]| q.iter().map(|&j| perm[j]).collect::<Vec<_>>();
            for n in self.nodes.iter_mut().filter(|n| n.inputs[0] == out) {
                match &mut n.op {
                    Op::Conv(c) => c.input_perm = Some(c.input_perm.as_deref().map_or_else(|| perm.clone(), composed)),
                    Op::Permute { perm: q } => *q = composed(q),
                    _ => {}
                }
            }
            self.remove_node(i, src);
            return true;
        }
        false
    }

    /// A fresh graph from the surviving nodes: values renumbered in execution order and every
    /// shape re-inferred (which also re-checks the rewrites).
    fn rebuild(self, original: &Graph) -> Result<Graph> {
        let mut g = Graph::new(original.shape(original.input))?;
        let mut new_id = vec![usize::MAX; self.shapes.len()];
        new_id[original.input] = g.input;
        for n in self.nodes {
            let inputs: Vec<ValueId> = n.inputs.iter().map(|&v| new_id[v]).collect();
            new_id[n.output] = g.push(n.name, n.op, &inputs)?;
        }
        g.output = new_id[self.output];
        Ok(g)
    }
}

fn is_identity(perm: &[usize]) -> bool {
    perm.iter().enumerate().all(|(i, &p)| i == p)
}

/// `weight` is `[rows][..]` (output channel outermost): row `o` becomes `scale[o] * row` and its
/// bias `scale[o] * bias[o] + shift[o]`.
fn scale_rows(weight: &mut [f32], bias: &mut Option<Vec<f32>>, rows: usize, scale: &[f32], shift: &[f32]) {
    let per_row = weight.len() / rows;
    for (row, &s) in weight.chunks_exact_mut(per_row).zip(scale) {
        row.iter_mut().for_each(|w| *w *= s);
    }
    let b = bias.get_or_insert_with(|| vec![0.0; rows]);
    for ((b, &s), &t) in b.iter_mut().zip(scale).zip(shift) {
        *b = *b * s + t;
    }
}
