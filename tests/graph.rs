//! Graph layer: rewrites keep the function (reference executor before and after), the plan
//! computes what the reference computes, errors instead of panics, the arena really reuses memory.

mod graph_util;

use graph_util::*;
use mobilecnn::graph::ir::ShuffleOrder;
use mobilecnn::graph::reference::run_reference;
use mobilecnn::graph::rewrite::optimize;
use mobilecnn::graph::{Graph, Op};

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
    }
    all
}

fn count(g: &Graph, pred: impl Fn(&Op) -> bool) -> usize {
    g.nodes.iter().filter(|n| pred(&n.op)).count()
}

#[test]
fn optimize_preserves_outputs() {
    for (what, g, x) in test_graphs() {
        let want = with_result(run_reference(&g, &x), &what);
        let opt = with_result(optimize(&g), &what);
        opt.validate().unwrap();
        let got = with_result(run_reference(&opt, &x), &what);
        assert_close(&got, &want, 1e-4, &what);
        assert!(opt.nodes.len() < g.nodes.len(), "{what}: nothing was rewritten");
    }
}

#[test]
fn optimize_removes_batchnorm_activations_and_shuffles_before_convs() {
    for (what, g, _) in test_graphs() {
        let opt = optimize(&g).unwrap();
        assert_eq!(count(&opt, |o| matches!(o, Op::Affine { .. })), 0, "{what}: BatchNorm left");
        // Activations survive only where no producer has an epilogue (after ShuffleNet V1's concat).
        for n in &opt.nodes {
            if let Op::Act(_) = n.op {
                let producer = opt.nodes.iter().find(|p| p.output == n.inputs[0]).unwrap();
                assert!(matches!(producer.op, Op::Concat), "{what}: {} not fused into {}", n.name, producer.name);
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

#[test]
fn optimize_keeps_producer_names() {
    let (g, _) = mobilenet_like(0, 9, 9);
    let opt = optimize(&g).unwrap();
    let names: Vec<&str> = opt.nodes.iter().map(|n| n.name.as_str()).collect();
    assert!(names.iter().all(|n| g.nodes.iter().any(|o| o.name == *n)), "{names:?}");
    assert_eq!(names[0], g.nodes[0].name, "the stem conv keeps its name");
}

#[test]
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

#[test]
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
