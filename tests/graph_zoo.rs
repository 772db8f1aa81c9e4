//! Each zoo architecture, small and narrow, through the optimised plan equals the naive
//! reference executor run op by op on the graph as built (no rewrites).

mod graph_util;

use graph_util::{assert_close, with_result};
use mobilecnn::graph::plan::Plan;
use mobilecnn::graph::reference::run_reference;
use mobilecnn::graph::rewrite::optimize;
use mobilecnn::graph::Op;
use mobilecnn::kernels::Activation;
use mobilecnn::zoo::{Head, ZooModel};

fn check(id: &str, head: Head) {
    let g = with_result(ZooModel::parse(id).and_then(|m| m.with_head(head).build(7)), id);
    let mut rng = fastrand::Rng::with_seed(11);
    let input: Vec<f32> = (0..g.shape(g.input).len()).map(|_| rng.f32() * 2.0 - 1.0).collect();
    let want = with_result(run_reference(&g, &input), id);
    let opt = with_result(optimize(&g), id);
    assert!(!opt.nodes.iter().any(|n| matches!(n.op, Op::Affine { .. })), "{id}: a BatchNorm was not folded");
    let mut plan = with_result(Plan::new(&opt), id);
    let got = with_result(plan.run(&input), id);
    assert_close(got, &want, 1e-4, id);
    // Shuffles folded into 1×1 convs are read in place (one GEMM per group, no gather); a
    // depthwise conv reading a shuffle gathers it, as the permute would have.
    for (n, calls) in opt.nodes.iter().zip(plan.kernel_calls()) {
        if let Op::Conv(c) = &n.op {
            if c.input_perm.is_some() {
                let depthwise = c.groups > 1 && c.groups == c.cout && c.weight.len() == c.cout * c.win.kh * c.win.kw;
                let expected = if depthwise { 2 } else { c.groups };
                assert_eq!(calls, expected, "{id}: {} kernel calls", n.name);
            }
        }
    }
    // A residual add whose other input is a 1×1 conv without activation feeding only it runs in
    // that conv's GEMM epilogue: no add step of its own (MobileNet V2, ShuffleNet V1 stride 1).
    for (n, calls) in opt.nodes.iter().zip(plan.kernel_calls()) {
        if matches!(n.op, Op::Add { .. }) {
            let fusable = n.inputs.iter().any(|&u| {
                opt.nodes.iter().any(|p| {
                    p.output == u
                        && matches!(&p.op, Op::Conv(c) if c.act == Activation::None && c.win.kh == 1 && c.win.kw == 1)
                })
            });
            assert_eq!(calls, usize::from(!fusable), "{id}: {} kernel calls", n.name);
        }
    }
    println!(
        "{id}: {} nodes -> {} optimised, arena {} KiB (all values {} KiB)",
        g.nodes.len(),
        opt.nodes.len(),
        plan.arena_bytes() / 1024,
        plan.unshared_bytes() / 1024
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn mobilenet_v1() {
    check("mobilenet_v1_0.25_64", Head::Logits);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn mobilenet_v2() {
    check("mobilenet_v2_0.35_64", Head::Softmax);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn shufflenet_v1() {
    for id in ["shufflenet_v1_g3_0.5_64", "shufflenet_v1_g8_0.25_64"] {
        check(id, Head::Logits);
        let opt = optimize(&mobilecnn::zoo::build(id, 1).unwrap()).unwrap();
        assert!(!opt.nodes.iter().any(|n| matches!(n.op, Op::Permute { .. })), "{id}: a shuffle was not folded");
    }
    check("shufflenet_v1_g2_0.5_64", Head::Softmax);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn shufflenet_v2() {
    check("shufflenet_v2_0.5_64", Head::Logits);
}
