//! The threaded plan (feature `threads`: every pool thread computes a share of each step) computes
//! exactly what the single-thread plan computes, on the four zoo architectures. Every output
//! element is produced by the same arithmetic whichever part computes it, so equality is exact.
//! Run with `cargo test --features threads --test graph_threads`.
#![cfg(all(feature = "threads", not(target_arch = "wasm32")))]

mod graph_util;

use graph_util::with_result;
use mobilecnn::graph::plan::Plan;
use mobilecnn::graph::rewrite::optimize;

fn outputs(id: &str, threads: usize, input: &[f32]) -> Vec<f32> {
    let g = with_result(mobilecnn::zoo::build(id, 5), id);
    let mut plan = with_result(Plan::new(&with_result(optimize(&g), id)), id);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
    pool.install(|| {
        // Twice: the second run must not see anything the first left behind.
        with_result(plan.run(input), id);
        let out = with_result(plan.run(input), id).to_vec();
        // A profiled run (the team meets before every step) computes the same, with a time per node.
        let ticks = std::sync::atomic::AtomicU32::new(0);
        let clock = || f64::from(ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let times = with_result(plan.run_profiled(input, &clock), id);
        assert_eq!(plan.output(), &out[..], "{id}: profiled run differs on {threads} threads");
        assert!(times.iter().all(|t| t.ms >= 0.0) && times.iter().any(|t| t.ms > 0.0), "{id}: times {times:?}");
        out
    })
}

fn check(id: &str) {
    let g = with_result(mobilecnn::zoo::build(id, 5), id);
    let mut rng = fastrand::Rng::with_seed(3);
    let input: Vec<f32> = (0..g.shape(g.input).len()).map(|_| rng.f32() * 2.0 - 1.0).collect();
    let single = outputs(id, 1, &input);
    assert!(single.iter().all(|v| v.is_finite()) && single.iter().any(|&v| v != 0.0), "{id}: degenerate output");
    for threads in [2, 3] {
        assert_eq!(outputs(id, threads, &input), single, "{id}: {threads} threads differ from one");
    }
}

#[test]
fn mobilenet_v1() {
    check("mobilenet_v1_0.5_96");
}

#[test]
fn mobilenet_v2() {
    check("mobilenet_v2_0.5_96");
}

#[test]
fn shufflenet_v1() {
    check("shufflenet_v1_g3_0.5_96");
    check("shufflenet_v1_g8_0.25_64");
}

#[test]
fn shufflenet_v2() {
    check("shufflenet_v2_0.5_96");
}
