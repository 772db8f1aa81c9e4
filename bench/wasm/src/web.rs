//! The wasm surface the bench page's worker calls.

use core::arch::wasm32::*;
use std::hint::black_box;

use mobilecnn::graph::cost::layer_costs;
use wasm_bindgen::prelude::*;

use crate::ZooNet;

#[cfg(feature = "threads")]
pub use wasm_bindgen_rayon::init_thread_pool;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance)]
    fn now() -> f64;
}

fn err(e: mobilecnn::Error) -> JsError {
    JsError::new(&e.to_string())
}

/// Threads the plan splits layers across (1 in the single-thread build).
#[wasm_bindgen]
pub fn threads() -> usize {
    #[cfg(feature = "threads")]
    return rayon::current_num_threads();
    #[cfg(not(feature = "threads"))]
    1
}

/// The benchmark input for `n` values (the same for every runtime).
#[wasm_bindgen]
pub fn bench_input(n: usize) -> Vec<f32> {
    crate::input(n)
}

#[wasm_bindgen]
pub struct Net(ZooNet);

#[wasm_bindgen]
impl Net {
    #[wasm_bindgen(constructor)]
    pub fn new(id: &str) -> Result<Net, JsError> {
        ZooNet::new(id).map(Net).map_err(err)
    }

    pub fn macs(&self) -> f64 {
        self.0.macs as f64
    }

    /// `[h, w, c]` of the input.
    pub fn input_shape(&self) -> Vec<u32> {
        let s = self.0.plan.input_shape();
        vec![s.h as u32, s.w as u32, s.c as u32]
    }

    pub fn run(&mut self, input: &[f32]) -> Result<Vec<f32>, JsError> {
        self.0.plan.run(input).map(<[f32]>::to_vec).map_err(err)
    }

    /// Per-layer profile, fastest of `runs`: JSON `[{name, kind, macs, ms}]` in node order.
    pub fn profile(&mut self, input: &[f32], runs: u32) -> Result<String, JsError> {
        let mut best: Vec<f64> = vec![f64::INFINITY; self.0.graph.nodes.len()];
        for _ in 0..runs.max(1) {
            let times = self.0.plan.run_profiled(input, &now).map_err(err)?;
            for (b, t) in best.iter_mut().zip(&times) {
                *b = b.min(t.ms);
            }
        }
        let rows: Vec<String> = layer_costs(&self.0.graph)
            .iter()
            .zip(&best)
            .map(|(c, ms)| {
                let s = c.out_shape;
                format!(
                    "{{\"name\":{:?},\"kind\":\"{}\",\"out\":[{},{},{}],\"macs\":{},\"ms\":{ms}}}",
                    c.name, c.kind, s.h, s.w, s.c, c.macs
                )
            })
            .collect();
        Ok(format!("[{}]", rows.join(",")))
    }

    pub fn graph_json(&self) -> String {
        crate::export::export(&self.0.graph).0
    }

    pub fn weights(&self) -> Vec<f32> {
        crate::export::export(&self.0.graph).1
    }
}

/// Accumulators of the peak loop: six add chains cover a 3-cycle add latency on two add pipes
/// (Zen 3); with six weights, the multiplier and `one`, 14 vectors fit the 16 x86-64 registers.
const PEAK_CHAINS: usize = 6;

/// GFLOP/s of a register-only f32x4 multiply + add loop shaped like a GEMM micro-kernel
/// (`acc[j] += x · w[j]`, no loads): the ceiling for kernels built from f32x4 multiply + add
/// pairs (no fused multiply-add) in this browser, on this core. `x` runs its own `x · 1` chain
/// so the products cannot be hoisted out of the loop; that multiply counts as a flop too. Best
/// of 30 short bursts, so a shared, busy machine's time slicing does not hide it (the per-layer
/// times it is compared with are also best-of-several, of similar length).
#[wasm_bindgen]
pub fn peak_gflops(iters: u32) -> f64 {
    let one = f32x4_splat(black_box(1.0));
    let w: [v128; PEAK_CHAINS] = core::array::from_fn(|j| f32x4_splat(black_box(1e-7 * j as f32)));
    let mut best = f64::INFINITY;
    for _ in 0..30 {
        let mut x = f32x4_splat(black_box(1.0));
        let mut acc = [f32x4_splat(black_box(0.0)); PEAK_CHAINS];
        let t = now();
        for _ in 0..iters {
            x = f32x4_mul(x, one);
            for j in 0..PEAK_CHAINS {
                acc[j] = f32x4_add(acc[j], f32x4_mul(x, w[j]));
            }
        }
        black_box(acc);
        best = best.min(now() - t);
    }
    let flops = iters as f64 * ((2 * PEAK_CHAINS + 1) * 4) as f64;
    flops / best / 1e6
}

/// A real model file (ONNX or TFLite) through mobilecnn's importers: what an application runs.
#[wasm_bindgen]
pub struct FileNet(mobilecnn::model::Model);

#[wasm_bindgen]
impl FileNet {
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8]) -> Result<FileNet, JsError> {
        mobilecnn::model::Model::from_bytes(bytes).map(FileNet).map_err(err)
    }

    pub fn macs(&self) -> f64 {
        self.0.layer_costs().iter().map(|c| c.macs).sum::<u64>() as f64
    }

    /// `[h, w, c]` of the (NHWC) input.
    pub fn input_shape(&self) -> Vec<u32> {
        let s = self.0.meta().input_size as u32;
        vec![s, s, (self.0.input_len() as u32) / (s * s)]
    }

    /// Class probabilities (the model's softmax applied when it outputs logits).
    pub fn run(&mut self, input: &[f32]) -> Result<Vec<f32>, JsError> {
        self.0.run(input).map(<[f32]>::to_vec).map_err(err)
    }
}

/// Wall-clock ms of `rayon::join` over two equal register-only loops (each `iters` long), over
/// the ms of one alone: ~1 when the pool really runs them in parallel, ~2 when serialised.
#[cfg(feature = "threads")]
#[wasm_bindgen]
pub fn join_ratio(iters: u32) -> f64 {
    let spin = || {
        let mut acc = f32x4_splat(black_box(1.0));
        let one = f32x4_splat(black_box(1.0));
        for _ in 0..iters {
            acc = f32x4_mul(acc, one);
        }
        black_box(acc);
    };
    let mut best = [f64::INFINITY; 2];
    for _ in 0..10 {
        let t = now();
        rayon::join(spin, || {});
        best[0] = best[0].min(now() - t);
        let t = now();
        rayon::join(spin, spin);
        best[1] = best[1].min(now() - t);
    }
    best[1] / best[0]
}
