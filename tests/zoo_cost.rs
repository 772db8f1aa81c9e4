//! The cost model on a hand-built graph whose costs are worked out by hand.

use mobilecnn::graph::cost::{layer_costs, totals};
use mobilecnn::graph::{Graph, Op};
use mobilecnn::kernels::{Activation, Window};
use mobilecnn::Shape;

#[test]
fn costs_of_each_op_kind() {
    let mut g = Graph::new(Shape::new(4, 4, 8)).unwrap();
    let x = g.input;
    let pw = g.conv("pw", x, 16, Window::square(1, 1, 0), 2, vec![0.1; 16 * 4], None, Activation::None).unwrap();
    let bn = g.batch_norm("bn", pw, &[1.0; 16], &[0.0; 16], &[0.0; 16], &[1.0; 16], 1e-5).unwrap();
    let dw = g.conv("dw", bn, 16, Window::square(3, 2, 1), 16, vec![0.1; 16 * 9], Some(vec![0.0; 16]), Activation::Relu).unwrap();
    let left = g.push("left", Op::Slice { start: 0, len: 8 }, &[dw]).unwrap();
    let right = g.push("right", Op::Slice { start: 8, len: 8 }, &[dw]).unwrap();
    let sum = g.push("sum", Op::Add { act: Activation::None }, &[left, right]).unwrap();
    let cat = g.push("cat", Op::Concat, &[sum, left]).unwrap();
    let pool = g.push("pool", Op::GlobalAvgPool, &[cat]).unwrap();
    g.push("fc", Op::Dense { out: 10, weight: vec![0.0; 160], bias: Some(vec![0.0; 10]), act: Activation::None }, &[pool]).unwrap();

    let layers = layer_costs(&g);
    let row = |name: &str| {
        let l = layers.iter().find(|l| l.name == name).unwrap();
        (l.kind, l.macs, l.params, l.mac)
    };
    // ShuffleNet V2's MAC of a 1x1 conv: h·w·(c1 + c2) + c1·c2/g = 16·24 + 8·16/2.
    assert_eq!(row("pw"), ("conv1x1_grouped", 16 * 16 * 4, 64, 16 * 24 + 64));
    assert_eq!(row("bn"), ("batchnorm", 0, 32, 256 + 256 + 32));
    // Stride 2: 2x2 outputs, 9 taps each, plus the bias.
    assert_eq!(row("dw"), ("depthwise", 4 * 16 * 9, 144 + 16, 256 + 64 + 160));
    assert_eq!(row("left"), ("slice", 0, 0, 32 + 32));
    assert_eq!(row("sum"), ("add", 0, 0, 3 * 32));
    assert_eq!(row("cat"), ("concat", 0, 0, 64 + 64));
    assert_eq!(row("pool"), ("global_avgpool", 0, 0, 64 + 16));
    assert_eq!(row("fc"), ("dense", 160, 170, 16 + 10 + 170));
    assert_eq!(layers.iter().find(|l| l.name == "fc").unwrap().out_shape, Shape::new(1, 1, 10));

    let t = totals(&layers);
    assert_eq!(t.macs, 1024 + 576 + 160);
    assert_eq!(t.params, 64 + 160 + 170, "BatchNorm is kept out of the papers' parameter count");
    assert_eq!(t.batchnorm_params, 32);
    assert_eq!(t.mac, layers.iter().map(|l| l.mac).sum::<u64>());
}

#[test]
fn empty_graph_costs_nothing() {
    let g = Graph::new(Shape::new(2, 2, 3)).unwrap();
    assert!(layer_costs(&g).is_empty());
    assert_eq!(totals(&[]), Default::default());
}
