//! Graph layer: rewrites keep the function (reference executor before and after), the plan
//! computes what the reference computes, errors instead of panics, the arena really reuses memory.
//! Under wasm32 + simd128 (wasm-bindgen-test) the plan runs the SIMD kernels.

mod graph_util;

use graph_util::*;
use mobilecnn::graph::ir::ShuffleOrder;
use mobilecnn::graph::reference::run_reference;
use mobilecnn::graph::rewrite::optimize;
use mobilecnn::graph::plan::Plan;
use mobilecnn::graph::{Graph, Op};
use mobilecnn::{Error, Shape};

/// Every test graph with its input, across seeds, odd sizes and both shuffle orders.
fn test_graphs() -> Vec<(String, Graph, Vec<f32>)> {
    let mut all = Vec::new();
    for seed in 0..3u64 {
        let (g, x) = mobilenet_like(seed, 13 + seed as usize, 11);
        all.push((format!("mobilenet_like/{seed}"), g, x));
        for order in [ShuffleOrder::Standard, ShuffleOrder::Megvii] {
            for groups in [2, 3] {
                let (g, x) = shufflenet_v1_like(seed, 15, 17 - 2 * seed as usize, groups, order);
                all.push((format!("shufflenet_v1_like/g{groups}/{order:?}/{seed}"), g, x));
            }
            let (g, x) = shufflenet_v2_like(seed, 17, 15, order);
            all.push((format!("shufflenet_v2_like/{order:?}/{seed}"), g, x));
        }
        let (g, x) = permutes_and_views(seed, 5, 7);
        all.push((format!("permutes_and_views/{seed}"), g, x));
        let (g, x) = concat_conflicts(seed, 7, 6 + seed as usize);
        all.push((format!("concat_conflicts/{seed}"), g, x));
    }
    all
}

fn count(g: &Graph, pred: impl Fn(&Op) -> bool) -> usize {
    g.nodes.iter().filter(|n| pred(&n.op)).count()
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn optimize_preserves_outputs() {
    for (what, g, x) in test_graphs() {
        let want = with_result(run_reference(&g, &x), &what);
        let opt = with_result(optimize(&g), &what);
        opt.validate().unwrap();
        let got = with_result(run_reference(&opt, &x), &what);
        assert_close(&got, &want, 1e-4, &what);
        let has_batchnorm = count(&g, |o| matches!(o, Op::Affine { .. })) > 0;
        assert!(opt.nodes.len() < g.nodes.len() || !has_batchnorm, "{what}: nothing was rewritten");
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn optimize_removes_batchnorm_activations_and_shuffles_before_convs() {
    for (what, g, _) in test_graphs() {
        let opt = optimize(&g).unwrap();
        assert_eq!(count(&opt, |o| matches!(o, Op::Affine { .. })), 0, "{what}: BatchNorm left");
        // Activations survive only where the producer has no epilogue (ShuffleNet V1's concat) or
        // its output is read elsewhere too.
        let uses = opt.use_counts();
        for n in &opt.nodes {
            if let Op::Act(_) = n.op {
                let producer = opt.nodes.iter().find(|p| p.output == n.inputs[0]).unwrap();
                let fusable = !matches!(producer.op, Op::Concat) && uses[producer.output] == 1;
                assert!(!fusable, "{what}: {} not fused into {}", n.name, producer.name);
            }
        }
        assert_eq!(opt.shapes.len(), opt.nodes.len() + 1, "{what}: values not renumbered compactly");
        // A permute survives only where a non-conv reads it (ShuffleNet V2's split).
        for n in &opt.nodes {
            if let Op::Permute { .. } = n.op {
                assert!(opt.nodes.iter().any(|r| r.inputs.contains(&n.output) && !matches!(r.op, Op::Conv(_) | Op::Permute { .. })), "{what}: {} not folded", n.name);
            }
        }
    }
    let (g, _) = shufflenet_v1_like(1, 15, 15, 3, ShuffleOrder::Megvii);
    let opt = optimize(&g).unwrap();
    assert_eq!(count(&opt, |o| matches!(o, Op::Permute { .. })), 0, "ShuffleNet V1 shuffles must all fold into convs");
    let depthwise_with_perm = count(&opt, |o| matches!(o, Op::Conv(c) if c.groups == c.cout && c.input_perm.is_some()));
    assert_eq!(depthwise_with_perm, 0, "shuffles must sink below depthwise convs to the grouped 1x1 convs");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn optimize_keeps_producer_names() {
    let (g, _) = mobilenet_like(0, 9, 9);
    let opt = optimize(&g).unwrap();
    let names: Vec<&str> = opt.nodes.iter().map(|n| n.name.as_str()).collect();
    assert!(names.iter().all(|n| g.nodes.iter().any(|o| o.name == *n)), "{names:?}");
    assert_eq!(names[0], g.nodes[0].name, "the stem conv keeps its name");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn optimize_drops_unused_nodes() {
    let (g, x) = concat_conflicts(2, 5, 5);
    let mut b = graph_util::Builder { g, rng: fastrand::Rng::with_seed(1), count: 100 };
    let (out, live) = (b.g.output, b.g.nodes.len());
    let dead = b.pw(0, 4, 1, mobilecnn::kernels::Activation::Relu);
    b.op("dead_pool", Op::GlobalAvgPool, &[dead]);
    b.g.output = out;
    let opt = optimize(&b.g).unwrap();
    let dead_names: Vec<&str> = b.g.nodes[live..].iter().map(|n| n.name.as_str()).collect();
    assert!(opt.nodes.iter().all(|n| !dead_names.contains(&n.name.as_str())), "{dead_names:?} survived");
    assert_close(&run_reference(&opt, &x).unwrap(), &run_reference(&b.g, &x).unwrap(), 1e-5, "pruned");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn activation_composition() {
    use mobilecnn::graph::rewrite::compose;
    use mobilecnn::kernels::Activation::*;
    for inner in [None, Relu, Relu6] {
        for outer in [None, Relu, Relu6] {
            let c = compose(inner, outer);
            for x in [-3.0f32, -0.5, 0.0, 0.5, 5.9, 6.0, 7.5, 100.0] {
                assert_eq!(c.apply(x), outer.apply(inner.apply(x)), "{inner:?} then {outer:?} at {x}");
            }
        }
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn reference_rejects_bad_input_and_graphs() {
    let (g, x) = mobilenet_like(0, 9, 9);
    assert!(run_reference(&g, &x[1..]).is_err());
    let mut broken = g.clone();
    broken.nodes[2].inputs[0] = 999;
    assert!(run_reference(&broken, &x).is_err());
    assert!(optimize(&broken).is_err());
    let mut broken = g.clone();
    if let Op::Conv(c) = &mut broken.nodes[0].op {
        c.weight.pop();
    }
    assert!(run_reference(&broken, &x).is_err());
    assert!(optimize(&broken).is_err());
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn plan_matches_reference_with_and_without_rewrites() {
    for (what, g, x) in test_graphs() {
        let want = run_reference(&g, &x).unwrap();
        let mut plain = with_result(Plan::new(&g), &what);
        assert_close(with_result(plain.run(&x), &what), &want, 1e-4, &format!("{what} (plan)"));
        let mut fast = with_result(Plan::new(&optimize(&g).unwrap()), &what);
        assert_close(with_result(fast.run(&x), &what), &want, 1e-4, &format!("{what} (optimized plan)"));
        // A second run on the same arena gives the same answer.
        let again = fast.run(&x).unwrap().to_vec();
        assert_close(&again, &want, 1e-4, &format!("{what} (second run)"));
        assert_eq!(fast.output_len(), want.len());
        assert_eq!(fast.input_shape(), g.shape(g.input));
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn plan_output_can_be_the_input_or_a_view() {
    let mut b = graph_util::Builder::new(3, Shape::new(3, 5, 7));
    let x = b.input();
    let g = b.finish();
    assert_eq!(Plan::new(&g).unwrap().run(&x).unwrap(), &x[..]);
    let mut b = graph_util::Builder::new(3, Shape::new(3, 5, 7));
    let s = b.slice(0, 2, 3);
    b.op("flatten", Op::Flatten, &[s]);
    let x = b.input();
    let g = b.finish();
    assert_eq!(Plan::new(&g).unwrap().run(&x).unwrap(), &run_reference(&g, &x).unwrap()[..]);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn splits_and_concats_are_views() {
    let (g, _) = shufflenet_v2_like(0, 17, 15, ShuffleOrder::Standard);
    let g = optimize(&g).unwrap();
    let plan = Plan::new(&g).unwrap();
    for (n, calls) in g.nodes.iter().zip(plan.kernel_calls()) {
        match n.op {
            Op::Slice { .. } => assert_eq!(calls, 0, "{} copies", n.name),
            // Only the untouched half of a stride-1 unit (a slice) is copied into its concat.
            Op::Concat => {
                let slices = n.inputs.iter().filter(|&&v| g.nodes.iter().any(|p| p.output == v && matches!(p.op, Op::Slice { .. }))).count();
                assert_eq!(calls, slices, "{}", n.name);
            }
            _ => assert!(calls >= 1, "{} computes nothing", n.name),
        }
    }
    let (g, _) = shufflenet_v1_like(0, 15, 15, 3, ShuffleOrder::Megvii);
    let g = optimize(&g).unwrap();
    let plan = Plan::new(&g).unwrap();
    for (n, calls) in g.nodes.iter().zip(plan.kernel_calls()) {
        match &n.op {
            Op::Concat => assert_eq!(calls, 0, "{}: the stride-2 unit's concat is written in place", n.name),
            // Megvii-order shuffles fold into strided reads of the grouped 1x1 convs: one GEMM per group.
            Op::Conv(c) if c.input_perm.is_some() => assert_eq!(calls, c.groups, "{} gathers", n.name),
            _ => {}
        }
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn concats_fall_back_to_copies_where_parts_conflict() {
    let (g, _) = concat_conflicts(0, 7, 6);
    let calls = Plan::new(&g).unwrap().kernel_calls();
    let concats: Vec<(usize, usize)> =
        g.nodes.iter().zip(&calls).filter(|(n, _)| matches!(n.op, Op::Concat)).map(|(n, &c)| (n.inputs.len(), c)).collect();
    // [a, conv(a), a, input]: conv(a) would read and write one buffer, so every part is copied.
    assert_eq!(concats[0], (4, 4));
    // The last concat's parts are global pools written in place.
    assert_eq!(concats[concats.len() - 1], (3, 0));
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn profile_has_one_entry_per_node() {
    let (g, x) = shufflenet_v2_like(1, 17, 15, ShuffleOrder::Megvii);
    let g = optimize(&g).unwrap();
    let mut plan = Plan::new(&g).unwrap();
    let ticks = std::sync::Mutex::new(0.0);
    let clock = || {
        let mut t = ticks.lock().unwrap();
        *t += 1.0;
        *t
    };
    let times = plan.run_profiled(&x, &clock).unwrap();
    assert_eq!(times.len(), g.nodes.len());
    let calls = plan.kernel_calls();
    for ((t, n), calls) in times.iter().zip(&g.nodes).zip(calls) {
        assert_eq!(t.node, n.name);
        assert_eq!(t.kind, n.op.kind());
        // Each kernel call reads the clock twice, one tick apart.
        assert_eq!(t.ms, calls as f64, "{}", n.name);
    }
    assert_close(plan.output(), &run_reference(&g, &x).unwrap(), 1e-4, "profiled run");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn plan_rejects_bad_input_and_graphs() {
    let (g, x) = mobilenet_like(0, 9, 9);
    let mut plan = Plan::new(&g).unwrap();
    assert!(matches!(plan.run(&x[1..]), Err(Error::Input(_))));
    let mut longer = x.clone();
    longer.push(0.0);
    assert!(matches!(plan.run(&longer), Err(Error::Input(_))));
    assert!(plan.run(&x).is_ok());

    let mut broken = g.clone();
    broken.nodes[3].inputs[0] = 999;
    assert!(Plan::new(&broken).is_err());
    let mut broken = g.clone();
    broken.output = 999;
    assert!(Plan::new(&broken).is_err());
    let mut broken = g.clone();
    if let Op::Conv(c) = &mut broken.nodes[0].op {
        c.input_perm = Some(vec![0, 0, 1]);
    }
    assert!(Plan::new(&broken).is_err());
    let mut broken = g.clone();
    broken.shapes[broken.nodes[1].output].c += 1;
    assert!(Plan::new(&broken).is_err());
    let mut broken = g.clone();
    broken.nodes.swap(1, 2);
    assert!(Plan::new(&broken).is_err());
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn arena_reuses_dead_buffers() {
    let mut b = graph_util::Builder::new(5, Shape::new(16, 16, 8));
    let mut x = 0;
    for _ in 0..12 {
        x = b.pw(x, 24, 1, mobilecnn::kernels::Activation::Relu6);
        x = b.dw(x, 1, mobilecnn::kernels::Activation::Relu6);
        x = b.pw(x, 8, 1, mobilecnn::kernels::Activation::None);
    }
    let input = b.input();
    let g = b.finish();
    for g in [g.clone(), optimize(&g).unwrap()] {
        let mut plan = Plan::new(&g).unwrap();
        let (arena, unshared) = (plan.arena_bytes(), plan.unshared_bytes());
        println!("{} nodes: arena {arena} bytes, all values {unshared} bytes", g.nodes.len());
        // At most two 24- and two 8-channel buffers are live at once (first fit may leave gaps).
        assert!(arena <= 16 * 16 * (8 + 8 + 24 + 24) * 4, "arena {arena} bytes");
        assert!(arena * 5 < unshared, "arena {arena} vs {unshared}");
        assert_close(plan.run(&input).unwrap(), &run_reference(&g, &input).unwrap(), 1e-4, "deep chain");
    }
}
