//! ShuffleNet V2 (Ma et al. 2018, Table 5) in the structure of PaddleClas's released weights.
//! Stride-1 unit: split the channels in half, the left half passes, the right goes through
//! 1×1 + BN + ReLU → 3×3 depthwise + BN → 1×1 + BN + ReLU; concat, shuffle with 2 groups.
//! Stride-2 unit: both branches see the whole input (left: depthwise s2 + BN → 1×1 + BN + ReLU;
//! right as above with a strided depthwise); concat, shuffle. Head: 1×1 conv5, pool, linear.

use super::net::Net;
use super::{matches_scale, Head};
use crate::error::{Error, Result};
use crate::graph::ir::ShuffleOrder;
use crate::graph::{Graph, ValueId};
use crate::kernels::{Activation, Window};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShuffleNetV2 {
    /// Scale: 0.25, 0.33, 0.5, 1.0, 1.5 or 2.0.
    pub scale: f64,
    pub head: Head,
}

impl Default for ShuffleNetV2 {
    fn default() -> Self {
        ShuffleNetV2 { scale: 1.0, head: Head::Logits }
    }
}

pub const SCALES: [f64; 6] = [0.25, 0.33, 0.5, 1.0, 1.5, 2.0];
const STEM_CHANNELS: usize = 24;
const REPEATS: [usize; 3] = [4, 8, 4];

/// Stage 2, 3, 4 and conv5 channels. The two narrowest are Paddle's additions (conv5 of 512).
fn widths(scale: f64) -> Option<[usize; 4]> {
    const TABLE: [[usize; 4]; 6] = [
        [24, 48, 96, 512],
        [32, 64, 128, 512],
        [48, 96, 192, 1024],
        [116, 232, 464, 1024],
        [176, 352, 704, 1024],
        [244, 488, 976, 2048],
    ];
    SCALES.iter().position(|&s| matches_scale(scale, &[s])).map(|i| TABLE[i])
}

pub fn build(cfg: &ShuffleNetV2, resolution: usize, seed: u64) -> Result<Graph> {
    let widths = widths(cfg.scale)
        .ok_or_else(|| Error::Config(format!("ShuffleNet V2 scale {} not one of {SCALES:?}", cfg.scale)))?;
    let mut net = Net::new(resolution, seed)?;
    let x = net.input();
    let x = net.conv_bn("conv1", x, STEM_CHANNELS, Window::square(3, 2, 1), 1, Activation::Relu)?;
    let mut x = net.max_pool("maxpool", x, Window::square(3, 2, 1))?;
    for (stage, &repeats) in REPEATS.iter().enumerate() {
        for i in 0..repeats {
            let name = format!("stage{}.{i}", stage + 2);
            x = if i == 0 { down_unit(&mut net, &name, x, widths[stage])? } else { basic_unit(&mut net, &name, x)? };
        }
    }
    let x = net.conv_bn("conv5", x, widths[3], Window::square(1, 1, 0), 1, Activation::Relu)?;
    let x = net.global_avg_pool("global_pool", x)?;
    net.classifier(x, super::CLASSES, true, cfg.head)
}

/// 1×1 + BN + ReLU → 3×3 depthwise (stride) + BN → 1×1 + BN + ReLU, `c` channels throughout.
fn bottleneck(net: &mut Net, name: &str, x: ValueId, c: usize, stride: usize) -> Result<ValueId> {
    let pointwise = Window::square(1, 1, 0);
    let y = net.conv_bn(&format!("{name}.pw"), x, c, pointwise, 1, Activation::Relu)?;
    let y = net.conv_bn(&format!("{name}.dw"), y, c, Window::square(3, stride, 1), c, Activation::None)?;
    net.conv_bn(&format!("{name}.pw_linear"), y, c, pointwise, 1, Activation::Relu)
}

fn basic_unit(net: &mut Net, name: &str, x: ValueId) -> Result<ValueId> {
    let half = net.shape(x).c / 2;
    let left = net.slice(&format!("{name}.split_left"), x, 0, half)?;
    let right = net.slice(&format!("{name}.split_right"), x, half, half)?;
    let right = bottleneck(net, &format!("{name}.branch"), right, half, 1)?;
    let y = net.concat(&format!("{name}.concat"), &[left, right])?;
    net.shuffle(&format!("{name}.shuffle"), y, 2, ShuffleOrder::Standard)
}

fn down_unit(net: &mut Net, name: &str, x: ValueId, out: usize) -> Result<ValueId> {
    let cin = net.shape(x).c;
    let half = out / 2;
    let left = net.conv_bn(&format!("{name}.proj_dw"), x, cin, Window::square(3, 2, 1), cin, Activation::None)?;
    let left = net.conv_bn(&format!("{name}.proj_pw"), left, half, Window::square(1, 1, 0), 1, Activation::Relu)?;
    let right = bottleneck(net, &format!("{name}.branch"), x, half, 2)?;
    let y = net.concat(&format!("{name}.concat"), &[left, right])?;
    net.shuffle(&format!("{name}.shuffle"), y, 2, ShuffleOrder::Standard)
}
