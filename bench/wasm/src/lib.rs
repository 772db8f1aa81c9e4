//! Benchmark support for mobilecnn: zoo networks planned and timed, their graphs exported for
//! the other runtimes, per-layer kernel throughput, and a same-run SIMD peak.

pub mod export;

use mobilecnn::graph::cost::layer_costs;
use mobilecnn::graph::plan::Plan;
use mobilecnn::graph::rewrite::optimize;
use mobilecnn::graph::Graph;

/// The benchmark's deterministic weights seed and input.
pub const SEED: u64 = 1;

/// `n` inputs in [-1, 1) from a fixed generator (the same in every runtime: JS passes these on).
pub fn input(n: usize) -> Vec<f32> {
    let mut rng = fastrand_lite(0x5eed);
    (0..n).map(|_| rng() * 2.0 - 1.0).collect()
}

/// A tiny xorshift so the input needs no extra dependency.
fn fastrand_lite(mut s: u64) -> impl FnMut() -> f32 {
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// A zoo network: its optimised graph and plan.
pub struct ZooNet {
    pub graph: Graph,
    pub plan: Plan,
    pub macs: u64,
}

impl ZooNet {
    pub fn new(id: &str) -> mobilecnn::Result<ZooNet> {
        let graph = optimize(&mobilecnn::zoo::build(id, SEED)?)?;
        let plan = Plan::new(&graph)?;
        let macs = layer_costs(&graph).iter().map(|c| c.macs).sum();
        Ok(ZooNet { graph, plan, macs })
    }
}

#[cfg(target_arch = "wasm32")]
mod web;
