//! MobileNet V1 (Howard et al. 2017, Table 1): a 3×3 stem, then 13 depthwise-separable layers
//! (3×3 depthwise + 1×1 pointwise), each conv followed by BatchNorm and ReLU6 as in TensorFlow.

use super::net::{same_window, Net};
use super::{check_multiplier, Head};
use crate::error::Result;
use crate::graph::Graph;
use crate::kernels::{Activation, Window};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MobileNetV1 {
    /// Width multiplier α: every layer's channels are scaled by it.
    pub alpha: f64,
    pub head: Head,
}

impl Default for MobileNetV1 {
    fn default() -> Self {
        MobileNetV1 { alpha: 1.0, head: Head::Logits }
    }
}

const STEM_CHANNELS: usize = 32;

/// (pointwise output channels, depthwise stride) of the 13 separable layers. The paper's table
/// lists stride 2 for the 13th depthwise conv, but its 7×7 output and every implementation use 1.
const SEPARABLE: [(usize, usize); 13] = [
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
];

/// TF-slim's channel rule: `floor(c · α)`, at least 8.
fn scaled(channels: usize, alpha: f64) -> usize {
    ((channels as f64 * alpha + 1e-9).floor() as usize).max(8)
}

pub fn build(cfg: &MobileNetV1, resolution: usize, seed: u64) -> Result<Graph> {
    check_multiplier("MobileNet V1 width multiplier", cfg.alpha)?;
    let mut net = Net::new(resolution, seed)?;
    let relu6 = Activation::Relu6;
    let x = net.input();
    let win = same_window(3, 2, net.shape(x));
    let mut x = net.conv_bn("conv1", x, scaled(STEM_CHANNELS, cfg.alpha), win, 1, relu6)?;
    for (i, &(channels, stride)) in SEPARABLE.iter().enumerate() {
        let c = net.shape(x).c;
        let win = same_window(3, stride, net.shape(x));
        x = net.conv_bn(&format!("conv_dw_{}", i + 1), x, c, win, c, relu6)?;
        x = net.conv_bn(&format!("conv_pw_{}", i + 1), x, scaled(channels, cfg.alpha), Window::square(1, 1, 0), 1, relu6)?;
    }
    let x = net.global_avg_pool("global_pool", x)?;
    net.classifier(x, super::CLASSES, true, cfg.head)
}
