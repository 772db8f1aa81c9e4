//! A tiny network run when a worker starts, before its model arrives. V8 compiles a wasm function
//! only when it is first called (with its baseline compiler, Liftoff) and optimises it (TurboFan, in
//! the background) only after it has run a while; without a warm-up the model load and the first
//! classification pay for both: the first run of MobileNet V2 took ~2× the second. One small network
//! with the layer kinds of the four architectures (MobileNet V1/V2, ShuffleNet V1/V2) gets the
//! building, packing, preprocessing and kernel code compiled, and its hot loops optimised while the
//! model is still downloading or loading.

use crate::error::Result;
use crate::graph::ir::ShuffleOrder;
use crate::graph::plan::Plan;
use crate::graph::rewrite::optimize;
use crate::graph::Graph;
use crate::kernels::softmax::softmax;
use crate::kernels::{Activation, Window};
use crate::preprocess::{ColorOrder, PixelFormat, Preprocessing, Preprocessor};
use crate::zoo::net::{same_window, Net};
use crate::zoo::Head;

/// Input side: the smallest the zoo's builder takes.
const SIZE: usize = 32;
/// The head: a last pointwise conv and the classifier, small (a 256→1000 head that warmed the weight
/// packing longer made no measurable difference to the model load).
const HEAD_CHANNELS: usize = 32;
const CLASSES: usize = 16;
/// A camera-like frame shape for the preprocessing (resize + crop), small to stay cheap.
const FRAME: (usize, usize) = (64, 48);

/// The warm-up network: stem conv, an inverted residual block, a stride-2 depthwise separable
/// pair, a ShuffleNet V2 unit (slice, concat, shuffle), a grouped pointwise conv, max and average
/// pooling, and the classifier with softmax. Channel counts are multiples of 8, like the real models'.
pub fn graph() -> Result<Graph> {
    let mut net = Net::new(SIZE, 1)?;
    let pointwise = Window::square(1, 1, 0);
    let (relu, relu6, none) = (Activation::Relu, Activation::Relu6, Activation::None);
    let x = net.input();
    let x = net.conv_bn("stem", x, 16, same_window(3, 2, net.shape(x)), 1, relu6)?;
    // MobileNet V2 inverted residual.
    let y = net.conv_bn("expand", x, 48, pointwise, 1, relu6)?;
    let y = net.conv_bn("depthwise", y, 48, same_window(3, 1, net.shape(y)), 48, relu6)?;
    let y = net.conv_bn("project", y, 16, pointwise, 1, none)?;
    let x = net.add("residual", x, y, none)?;
    // MobileNet V1 pair, stride 2.
    let y = net.conv_bn("depthwise_s2", x, 16, same_window(3, 2, net.shape(x)), 16, relu6)?;
    let x = net.conv_bn("pointwise", y, 32, pointwise, 1, relu)?;
    // ShuffleNet V2 unit.
    let (a, b) = (net.slice("left", x, 0, 16)?, net.slice("right", x, 16, 16)?);
    let b = net.conv_bn("branch_pw", b, 16, pointwise, 1, relu)?;
    let b = net.conv_bn("branch_dw", b, 16, same_window(3, 1, net.shape(b)), 16, none)?;
    let x = net.concat("concat", &[a, b])?;
    let x = net.shuffle("shuffle", x, 2, ShuffleOrder::Standard)?;
    // ShuffleNet V1: grouped pointwise conv, pooling.
    let x = net.conv_bn("grouped", x, 32, pointwise, 4, relu)?;
    let m = net.max_pool("max_pool", x, same_window(3, 2, net.shape(x)))?;
    let a = net.avg_pool("avg_pool", x, same_window(3, 2, net.shape(x)), false)?;
    let x = net.add("pools", m, a, relu)?;
    let x = net.conv_bn("last", x, HEAD_CHANNELS, pointwise, 1, relu6)?;
    let x = net.global_avg_pool("global_pool", x)?;
    net.classifier(x, CLASSES, true, Head::Logits)
}

/// Builds the warm-up network and runs it (preprocessing included) until `budget_ms` of `clock`
/// have passed, at least once and at most `max_runs` times; returns the number of runs.
pub fn warm_up(budget_ms: f64, max_runs: usize, clock: &dyn Fn() -> f64) -> Result<usize> {
    let start = clock();
    let mut plan = Plan::new(&optimize(&graph()?)?)?;
    let p = Preprocessing { size: SIZE, color: ColorOrder::Rgb, scale: 1.0, mean: [128.0; 3], std: [128.0; 3] };
    let (w, h) = FRAME;
    let frame: Vec<u8> = (0..w * h * 4).map(|i| (i * 7 % 251) as u8).collect();
    let mut preprocessor = Preprocessor::new();
    let mut input = vec![0.0; plan.input_shape().len()];
    let mut logits = vec![0.0; plan.output_len()];
    let mut runs = 0;
    while runs < max_runs.max(1) && (runs == 0 || clock() - start < budget_ms) {
        preprocessor.to_input_tensor(&frame, w, h, PixelFormat::Rgba, &p, &mut input)?;
        logits.copy_from_slice(plan.run(&input)?);
        softmax(&mut logits);
        runs += 1;
    }
    Ok(runs)
}
