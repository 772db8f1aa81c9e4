//! Small random graphs with the structures of the four architectures (conv+BN+activation chains,
//! channel shuffles before grouped 1×1 convs, ShuffleNet V2 split/concat units, MobileNet V2
//! residuals), shared by the graph test files.
#![allow(dead_code)]

use mobilecnn::graph::ir::{shuffle_perm, ShuffleOrder};
use mobilecnn::graph::{Graph, Op, ValueId};
use mobilecnn::kernels::{Activation, Padding, Window};
use mobilecnn::{Result, Shape};

pub struct Builder {
    pub g: Graph,
    pub rng: fastrand::Rng,
    pub count: usize,
}

impl Builder {
    pub fn new(seed: u64, input: Shape) -> Self {
        Builder { g: Graph::new(input).unwrap(), rng: fastrand::Rng::with_seed(seed), count: 0 }
    }

    pub fn values(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| (self.rng.f32() * 2.0 - 1.0) * scale).collect()
    }

    fn name(&mut self, what: &str) -> String {
        self.count += 1;
        format!("{what}{}", self.count)
    }

    pub fn c(&self, v: ValueId) -> usize {
        self.g.shape(v).c
    }

    pub fn conv(&mut self, x: ValueId, cout: usize, win: Window, groups: usize, bias: bool) -> ValueId {
        let cin_g = self.c(x) / groups;
        // Scaled like He initialisation so activations stay O(1) through deep chains.
        let fan_in = (win.kh * win.kw * cin_g) as f32;
        let weight = self.values(cout * win.kh * win.kw * cin_g, (3.0 / fan_in).sqrt());
        let bias = bias.then(|| self.values(cout, 0.2));
        let name = self.name("conv");
        self.g.conv(name, x, cout, win, groups, weight, bias, Activation::None).unwrap()
    }

    /// A BatchNorm with random statistics, then an optional separate activation node.
    pub fn bn(&mut self, x: ValueId, act: Activation) -> ValueId {
        let c = self.c(x);
        let gamma: Vec<f32> = (0..c).map(|_| 0.5 + self.rng.f32()).collect();
        let beta = self.values(c, 0.3);
        let mean = self.values(c, 0.3);
        let var: Vec<f32> = (0..c).map(|_| 0.5 + self.rng.f32()).collect();
        let name = self.name("bn");
        let y = self.g.batch_norm(name, x, &gamma, &beta, &mean, &var, 1e-5).unwrap();
        self.act(y, act)
    }

    pub fn conv_with_perm(&mut self, x: ValueId, cout: usize, win: Window, groups: usize, perm: Vec<usize>) -> ValueId {
        let y = self.conv(x, cout, win, groups, true);
        if let Some(Op::Conv(c)) = self.g.nodes.last_mut().map(|n| &mut n.op) {
            c.input_perm = Some(perm);
        }
        y
    }

    pub fn act(&mut self, x: ValueId, act: Activation) -> ValueId {
        if act == Activation::None {
            return x;
        }
        let name = self.name(act.name());
        self.g.push(name, Op::Act(act), &[x]).unwrap()
    }

    pub fn conv_bn(&mut self, x: ValueId, cout: usize, win: Window, groups: usize, act: Activation) -> ValueId {
        let y = self.conv(x, cout, win, groups, false);
        self.bn(y, act)
    }

    pub fn dw(&mut self, x: ValueId, stride: usize, act: Activation) -> ValueId {
        let c = self.c(x);
        self.conv_bn(x, c, Window::square(3, stride, 1), c, act)
    }

    pub fn pw(&mut self, x: ValueId, cout: usize, groups: usize, act: Activation) -> ValueId {
        self.conv_bn(x, cout, Window::square(1, 1, 0), groups, act)
    }

    pub fn op(&mut self, what: &str, op: Op, inputs: &[ValueId]) -> ValueId {
        let name = self.name(what);
        self.g.push(name, op, inputs).unwrap()
    }

    pub fn shuffle(&mut self, x: ValueId, groups: usize, order: ShuffleOrder) -> ValueId {
        let perm = shuffle_perm(self.c(x), groups, order).unwrap();
        self.op("shuffle", Op::Permute { perm }, &[x])
    }

    pub fn slice(&mut self, x: ValueId, start: usize, len: usize) -> ValueId {
        self.op("slice", Op::Slice { start, len }, &[x])
    }

    /// Global pool, flatten, dense classifier with a BatchNorm, softmax.
    pub fn head(&mut self, x: ValueId, classes: usize, softmax: bool) -> ValueId {
        let p = self.op("pool", Op::GlobalAvgPool, &[x]);
        let f = self.op("flatten", Op::Flatten, &[p]);
        let k = self.c(f);
        let weight = self.values(classes * k, (3.0 / k as f32).sqrt());
        let bias = Some(self.values(classes, 0.1));
        let d = self.op("fc", Op::Dense { out: classes, weight, bias, act: Activation::None }, &[f]);
        let d = self.bn(d, Activation::None);
        if softmax { self.op("softmax", Op::Softmax, &[d]) } else { d }
    }

    pub fn finish(self) -> Graph {
        self.g
    }

    pub fn input(&mut self) -> Vec<f32> {
        let n = self.g.shape(self.g.input).len();
        self.values(n, 1.0)
    }
}

/// MobileNet V1/V2-like: stem conv, depthwise-separable blocks, an inverted residual, head.
pub fn mobilenet_like(seed: u64, h: usize, w: usize) -> (Graph, Vec<f32>) {
    let mut b = Builder::new(seed, Shape::new(h, w, 3));
    let x = b.conv_bn(0, 10, Window::square(3, 2, 1), 1, Activation::Relu6);
    let x = b.dw(x, 1, Activation::Relu);
    let x = b.pw(x, 14, 1, Activation::Relu6);
    // Inverted residual: expand, depthwise, project (no activation), add.
    let e = b.pw(x, 42, 1, Activation::Relu6);
    let e = b.dw(e, 1, Activation::Relu6);
    let p = b.pw(e, 14, 1, Activation::None);
    let x = b.op("add", Op::Add { act: Activation::None }, &[x, p]);
    // Relu after Relu6 and a relu on an add: both must fuse correctly.
    let x = b.act(x, Activation::Relu);
    let x = b.dw(x, 2, Activation::Relu6);
    let x = b.act(x, Activation::Relu);
    let x = b.pw(x, 18, 1, Activation::Relu);
    b.head(x, 7, true);
    let input = b.input();
    (b.finish(), input)
}

/// ShuffleNet V1-like: grouped 1×1 → shuffle → depthwise → grouped 1×1, residual add (stride 1)
/// and avg-pool concat (stride 2).
pub fn shufflenet_v1_like(seed: u64, h: usize, w: usize, groups: usize, order: ShuffleOrder) -> (Graph, Vec<f32>) {
    let mut b = Builder::new(seed, Shape::new(h, w, 3));
    let c = 6 * groups;
    let x = b.conv_bn(0, c, Window::square(3, 2, 1), 1, Activation::Relu);
    let x = b.op("maxpool", Op::MaxPool { win: Window::square(3, 2, 1) }, &[x]);
    // Stride-2 unit: concat(avgpool(x), branch(x)).
    let m = b.pw(x, 2 * groups, groups, Activation::Relu);
    let m = b.shuffle(m, groups, order);
    let m = b.dw(m, 2, Activation::None);
    let m = b.pw(m, c, groups, Activation::None);
    let s = b.op("avgpool", Op::AvgPool { win: Window::square(3, 2, 1), count_include_pad: true }, &[x]);
    let x = b.op("concat", Op::Concat, &[s, m]);
    let x = b.act(x, Activation::Relu);
    // Stride-1 unit with residual.
    let c2 = b.c(x);
    let m = b.pw(x, 3 * groups, groups, Activation::Relu);
    let m = b.shuffle(m, groups, order);
    let m = b.dw(m, 1, Activation::None);
    let m = b.pw(m, c2, groups, Activation::None);
    let x = b.op("add", Op::Add { act: Activation::Relu }, &[x, m]);
    b.head(x, 5, false);
    let input = b.input();
    (b.finish(), input)
}

/// ShuffleNet V2-like: stride-2 unit (two branches, concat, shuffle) then stride-1 units
/// (split in halves, branch on one half, concat, shuffle).
pub fn shufflenet_v2_like(seed: u64, h: usize, w: usize, order: ShuffleOrder) -> (Graph, Vec<f32>) {
    let mut b = Builder::new(seed, Shape::new(h, w, 3));
    let x = b.conv_bn(0, 6, Window::square(3, 2, 1), 1, Activation::Relu);
    let x = b.op("maxpool", Op::MaxPool { win: Window::square(3, 2, 1) }, &[x]);
    let half = 5;
    let l = b.dw(x, 2, Activation::None);
    let l = b.pw(l, half, 1, Activation::Relu);
    let r = b.pw(x, half, 1, Activation::Relu);
    let r = b.dw(r, 2, Activation::None);
    let r = b.pw(r, half, 1, Activation::Relu);
    let x = b.op("concat", Op::Concat, &[l, r]);
    let mut x = b.shuffle(x, 2, order);
    for _ in 0..2 {
        let keep = b.slice(x, 0, half);
        let r = b.slice(x, half, half);
        let r = b.pw(r, half, 1, Activation::Relu);
        let r = b.dw(r, 1, Activation::None);
        let r = b.pw(r, half, 1, Activation::Relu);
        let c = b.op("concat", Op::Concat, &[keep, r]);
        x = b.shuffle(c, 2, order);
    }
    let x = b.pw(x, 16, 1, Activation::Relu);
    b.head(x, 9, true);
    let input = b.input();
    (b.finish(), input)
}

/// Odds and ends: a permute read by several convs (ungrouped and grouped 1×1, and a 3×3),
/// permute of a permute, dense without bias, a graph output that is a slice.
pub fn permutes_and_views(seed: u64, h: usize, w: usize) -> (Graph, Vec<f32>) {
    let mut b = Builder::new(seed, Shape::new(h, w, 12));
    let p = b.shuffle(0, 3, ShuffleOrder::Standard);
    let a = b.pw(p, 9, 1, Activation::Relu);
    let g = b.pw(p, 6, 3, Activation::None);
    // Grouped, neither 1×1 nor depthwise, asymmetric window and padding.
    let win = Window { kh: 3, kw: 2, stride_h: 1, stride_w: 1, pad: Padding { top: 1, left: 0, bottom: 1, right: 1 } };
    let k = b.conv_bn(p, 6, win, 2, Activation::Relu);
    let k = b.op("avgpool", Op::AvgPool { win: Window::square(3, 1, 1), count_include_pad: false }, &[k]);
    let x = b.op("concat", Op::Concat, &[a, g, k]);
    let q = b.shuffle(x, 3, ShuffleOrder::Megvii);
    let q = b.shuffle(q, 7, ShuffleOrder::Standard);
    let y = b.pw(q, 6, 3, Activation::Relu6);
    b.slice(y, 1, 4);
    let input = b.input();
    (b.finish(), input)
}

pub fn assert_close(got: &[f32], want: &[f32], rel: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
    for (i, (&a, &b)) in got.iter().zip(want).enumerate() {
        assert!(a.is_finite(), "{what}: output {i} is {a}");
        assert!((a - b).abs() <= rel * (scale + b.abs()), "{what}: output {i}: got {a}, want {b} (max |want| {scale})");
    }
}

pub fn with_result<T>(r: Result<T>, what: &str) -> T {
    r.unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Concats that cannot all be written in place: a part computed from another part, the same part
/// twice, the graph input as a part, a concat of a concat, a part also read elsewhere; convs that
/// carry an `input_perm` themselves (depthwise, 3×3, grouped 1×1 with and without progressions).
pub fn concat_conflicts(seed: u64, h: usize, w: usize) -> (Graph, Vec<f32>) {
    let mut b = Builder::new(seed, Shape::new(h, w, 5));
    let a = b.conv(0, 6, Window::square(3, 1, 1), 1, true);
    let d = b.conv(a, 3, Window::square(1, 1, 0), 1, true);
    let dense_like = b.op("concat", Op::Concat, &[a, d, a, 0]);
    let e = b.op("relu", Op::Act(Activation::Relu), &[a]);
    let nested = b.op("concat", Op::Concat, &[dense_like, e]);
    let back = b.slice(nested, 3, 6);
    let sum = b.op("add", Op::Add { act: Activation::None }, &[back, a]);
    let x = b.op("concat", Op::Concat, &[sum, nested]);
    let c = b.c(x);
    let reversed: Vec<usize> = (0..c).rev().collect();
    let dw = b.conv_with_perm(x, c, Window::square(3, 2, 1), c, reversed.clone());
    let k3 = b.conv_with_perm(x, 4, Window::square(3, 2, 0), 1, reversed);
    // Groups of a shuffle (a progression each), then of a random permutation (gathered first).
    let c3 = c - c % 3;
    let part = b.slice(x, 0, c3);
    let g1 = b.conv_with_perm(part, 6, Window::square(1, 1, 0), 3, shuffle_perm(c3, 3, ShuffleOrder::Megvii).unwrap());
    let mut random: Vec<usize> = (0..6).collect();
    b.rng.shuffle(&mut random);
    let g2 = b.conv_with_perm(g1, 6, Window::square(1, 1, 0), 3, random);
    let pooled: Vec<ValueId> = [dw, k3, g2].iter().map(|&v| b.op("pool", Op::GlobalAvgPool, &[v])).collect();
    b.op("concat", Op::Concat, &pooled);
    let input = b.input();
    (b.finish(), input)
}
