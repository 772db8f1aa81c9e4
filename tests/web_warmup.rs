//! The worker's warm-up network (src/web/warmup.rs): it builds, covers the layer kinds of the four
//! architectures, gives finite outputs, and keeps to its run limits.
use mobilecnn::graph::plan::Plan;
use mobilecnn::graph::rewrite::optimize;
use mobilecnn::graph::Op;
use mobilecnn::web::warmup::{graph, warm_up};

#[test]
fn warm_up_network_covers_every_layer_kind() {
    let g = graph().unwrap();
    let has = |f: &dyn Fn(&Op) -> bool| g.nodes.iter().any(|n| f(&n.op));
    assert!(has(&|op| matches!(op, Op::Conv(c) if c.groups == 1 && c.win.kh == 3)), "stem conv");
    assert!(has(&|op| matches!(op, Op::Conv(c) if c.groups > 1 && c.groups == c.cout)), "depthwise conv");
    assert!(has(&|op| matches!(op, Op::Conv(c) if c.groups > 1 && c.groups < c.cout)), "grouped conv");
    for (what, kind) in [("add", "Add"), ("slice", "Slice"), ("concat", "Concat"), ("shuffle", "Permute"), ("max pool", "MaxPool"),
        ("avg pool", "AvgPool"), ("global pool", "GlobalAvgPool"), ("classifier", "Dense"), ("batch norm", "Affine")] {
        assert!(g.nodes.iter().any(|n| format!("{:?}", n.op).starts_with(kind)), "no {what} in the warm-up network");
    }
    let mut plan = Plan::new(&optimize(&g).unwrap()).unwrap();
    let input = vec![0.25; plan.input_shape().len()];
    let out = plan.run(&input).unwrap();
    assert_eq!(out.len(), 16);
    assert!(out.iter().all(|v| v.is_finite()), "{out:?}");
}

#[test]
fn warm_up_keeps_to_its_limits() {
    let ms = std::cell::Cell::new(0.0);
    // A clock that advances 1 ms per reading: a 3 ms budget stops after a few runs.
    let clock = || {
        ms.set(ms.get() + 1.0);
        ms.get()
    };
    let runs = warm_up(3.0, 100, &clock).unwrap();
    assert!((1..=3).contains(&runs), "{runs} runs");
    assert_eq!(warm_up(1e9, 4, &|| 0.0).unwrap(), 4);
    assert_eq!(warm_up(0.0, 0, &|| 0.0).unwrap(), 1, "always at least one run");
}
