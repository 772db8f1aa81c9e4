//! Shared machinery of the builders: a [`Graph`] plus a seeded generator for weights, and an
//! estimate of every value's mean square so that random BatchNorm statistics are *plausible*
//! (a trained BatchNorm divides by the variance it saw; ours divides by the variance it would
//! see), which keeps activations O(1) through residual stacks of any depth.

use crate::error::{Error, Result};
use crate::graph::ir::{shuffle_perm, ShuffleOrder};
use crate::graph::{Graph, Op, ValueId};
use crate::kernels::{Activation, Window};
use crate::tensor::Shape;

use super::Head;

/// BatchNorm epsilon of the reference implementations (TF uses 1e-3, PyTorch/Paddle 1e-5; either
/// is negligible next to the variances set here).
const BN_EPS: f32 = 1e-5;

/// Smallest and largest input side the builders accept: below 32 the five stride-2 stages run
/// out of pixels; above 1024 nothing mobile is meant to run.
pub const MIN_RESOLUTION: usize = 32;
pub const MAX_RESOLUTION: usize = 1024;

fn check_resolution(resolution: usize) -> Result<()> {
    if (MIN_RESOLUTION..=MAX_RESOLUTION).contains(&resolution) {
        Ok(())
    } else {
        Err(Error::Config(format!("input resolution {resolution} outside {MIN_RESOLUTION}..={MAX_RESOLUTION}")))
    }
}

pub struct Net {
    graph: Graph,
    rng: fastrand::Rng,
    /// Estimated statistics of each value, indexed by `ValueId`.
    stats: Vec<Stats>,
}

/// What the builders track of an activation to set BatchNorm statistics.
#[derive(Clone, Copy)]
struct Stats {
    /// Mean square.
    power: f32,
    /// Produced by a rectifier: a further ReLU keeps all of its power, not half.
    nonnegative: bool,
}

impl Stats {
    const ZERO_MEAN_UNIT: Stats = Stats { power: 1.0, nonnegative: false };

    fn zero_mean(power: f32) -> Stats {
        Stats { power, nonnegative: false }
    }

    /// Power that survives a rectifier: about half of a zero-mean signal, all of a non-negative one.
    fn rectified_power(self) -> f32 {
        if self.nonnegative { self.power } else { self.power / 2.0 }
    }
}

impl Net {
    /// A square RGB input of `resolution` pixels, assumed normalised to unit variance.
    pub fn new(resolution: usize, seed: u64) -> Result<Net> {
        check_resolution(resolution)?;
        let graph = Graph::new(Shape::new(resolution, resolution, 3))?;
        Ok(Net { graph, rng: fastrand::Rng::with_seed(seed), stats: vec![Stats::ZERO_MEAN_UNIT] })
    }

    pub fn input(&self) -> ValueId {
        self.graph.input
    }

    pub fn shape(&self, v: ValueId) -> Shape {
        self.graph.shape(v)
    }

    fn push(&mut self, name: String, op: Op, inputs: &[ValueId], stats: Stats) -> Result<ValueId> {
        let v = self.graph.push(name, op, inputs)?;
        self.stats.push(stats);
        Ok(v)
    }

    /// `n` values uniform in `[lo, hi)`.
    fn uniform(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| lo + (hi - lo) * self.rng.f32()).collect()
    }

    /// He-initialised weights: zero-mean uniform with standard deviation `sqrt(2 / fan_in)`.
    fn he_weights(&mut self, n: usize, fan_in: usize) -> Vec<f32> {
        let half_width = (6.0 / fan_in as f32).sqrt();
        self.uniform(n, -half_width, half_width)
    }

    /// Conv (no bias, as in all four reference implementations) → BatchNorm → activation.
    /// The activation is a separate node so the rewrites have something to fuse.
    pub fn conv_bn(
        &mut self,
        name: &str,
        x: ValueId,
        cout: usize,
        win: Window,
        groups: usize,
        act: Activation,
    ) -> Result<ValueId> {
        let cin = self.shape(x).c;
        if groups == 0 || cin % groups != 0 {
            return Err(Error::Config(format!("{name}: {groups} groups do not divide {cin} input channels")));
        }
        let fan_in = win.kh * win.kw * cin / groups;
        let weight = self.he_weights(cout * fan_in, fan_in);
        let conv = self.graph.conv(name, x, cout, win, groups, weight, None, Activation::None)?;
        // E[y²] = fan_in · Var(w) · E[x²] = 2 · E[x²] for zero-mean He weights.
        self.stats.push(Stats::zero_mean(2.0 * self.stats[x].power));
        let y = self.batch_norm(&format!("{name}/bn"), conv)?;
        self.act(&format!("{name}/{}", act.name()), y, act)
    }

    /// A BatchNorm whose running variance is the estimated variance of its input (jittered), so
    /// its output has roughly unit variance; gamma, beta and mean are small random perturbations.
    fn batch_norm(&mut self, name: &str, x: ValueId) -> Result<ValueId> {
        let c = self.shape(x).c;
        let power = self.stats[x].power;
        let gamma = self.uniform(c, 0.8, 1.2);
        let beta = self.uniform(c, -0.1, 0.1);
        let spread = 0.1 * power.sqrt();
        let mean = self.uniform(c, -spread, spread);
        let var: Vec<f32> = self.uniform(c, 0.8, 1.25).into_iter().map(|j| j * power).collect();
        let y = self.graph.batch_norm(name, x, &gamma, &beta, &mean, &var, BN_EPS)?;
        self.stats.push(Stats::ZERO_MEAN_UNIT);
        Ok(y)
    }

    /// A stand-alone activation; `Activation::None` adds nothing.
    pub fn act(&mut self, name: &str, x: ValueId, act: Activation) -> Result<ValueId> {
        if act == Activation::None {
            return Ok(x);
        }
        let stats = Stats { power: self.stats[x].rectified_power(), nonnegative: true };
        self.push(name.into(), Op::Act(act), &[x], stats)
    }

    pub fn add(&mut self, name: &str, a: ValueId, b: ValueId, act: Activation) -> Result<ValueId> {
        let (sa, sb) = (self.stats[a], self.stats[b]);
        // Treats the operands as uncorrelated; a rectifier removes half of each zero-mean one.
        let stats = if act == Activation::None {
            Stats { power: sa.power + sb.power, nonnegative: sa.nonnegative && sb.nonnegative }
        } else {
            Stats { power: sa.rectified_power() + sb.rectified_power(), nonnegative: true }
        };
        self.push(name.into(), Op::Add { act }, &[a, b], stats)
    }

    pub fn concat(&mut self, name: &str, parts: &[ValueId]) -> Result<ValueId> {
        let channels: usize = parts.iter().map(|&v| self.shape(v).c).sum();
        let weighted: f32 = parts.iter().map(|&v| self.stats[v].power * self.shape(v).c as f32).sum();
        let nonnegative = parts.iter().all(|&v| self.stats[v].nonnegative);
        let stats = Stats { power: weighted / channels.max(1) as f32, nonnegative };
        self.push(name.into(), Op::Concat, parts, stats)
    }

    pub fn slice(&mut self, name: &str, x: ValueId, start: usize, len: usize) -> Result<ValueId> {
        self.push(name.into(), Op::Slice { start, len }, &[x], self.stats[x])
    }

    pub fn shuffle(&mut self, name: &str, x: ValueId, groups: usize, order: ShuffleOrder) -> Result<ValueId> {
        let perm = shuffle_perm(self.shape(x).c, groups, order)?;
        self.push(name.into(), Op::Permute { perm }, &[x], self.stats[x])
    }

    pub fn max_pool(&mut self, name: &str, x: ValueId, win: Window) -> Result<ValueId> {
        self.push(name.into(), Op::MaxPool { win }, &[x], self.stats[x])
    }

    pub fn avg_pool(&mut self, name: &str, x: ValueId, win: Window, count_include_pad: bool) -> Result<ValueId> {
        self.push(name.into(), Op::AvgPool { win, count_include_pad }, &[x], self.stats[x])
    }

    pub fn global_avg_pool(&mut self, name: &str, x: ValueId) -> Result<ValueId> {
        self.push(name.into(), Op::GlobalAvgPool, &[x], self.stats[x])
    }

    /// The classifier: a fully connected layer to `classes` logits (LeCun-scaled, it feeds no
    /// rectifier), then the softmax when the head asks for probabilities.
    pub fn classifier(mut self, x: ValueId, classes: usize, bias: bool, head: Head) -> Result<Graph> {
        let k = self.shape(x).c;
        let half_width = (3.0 / k as f32).sqrt();
        let weight = self.uniform(classes * k, -half_width, half_width);
        let bias = bias.then(|| self.uniform(classes, -0.1, 0.1));
        let logits = self.push("logits".into(), Op::Dense { out: classes, weight, bias, act: Activation::None }, &[x], self.stats[x])?;
        if head == Head::Softmax {
            self.push("softmax".into(), Op::Softmax, &[logits], Stats { power: 1.0, nonnegative: true })?;
        }
        Ok(self.graph)
    }
}

/// TensorFlow's `SAME` padding for a square `k`×`k` window with `stride` on an `h`×`w` input:
/// output `ceil(in / stride)`, the odd pixel of padding at the bottom/right.
pub fn same_window(k: usize, stride: usize, input: Shape) -> Window {
    let pad = |n: usize| {
        let out = n.div_ceil(stride);
        ((out - 1) * stride + k).saturating_sub(n)
    };
    let (ph, pw) = (pad(input.h), pad(input.w));
    let mut win = Window::square(k, stride, 0);
    win.pad.top = ph / 2;
    win.pad.bottom = ph - ph / 2;
    win.pad.left = pw / 2;
    win.pad.right = pw - pw / 2;
    win
}
