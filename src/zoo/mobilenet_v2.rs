//! MobileNet V2 (Sandler et al. 2018, Table 2): inverted residual blocks (1×1 expansion, 3×3
//! depthwise, linear 1×1 projection), a residual add where stride is 1 and channels match, and
//! a final 1×1 conv to 1280. Channel counts are rounded to multiples of 8 as the TensorFlow
//! reference does; ReLU6 throughout except after the projections (the linear bottleneck).

use super::net::{same_window, Net};
use super::{check_multiplier, Head};
use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::kernels::{Activation, Window};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MobileNetV2 {
    /// Width multiplier α.
    pub alpha: f64,
    /// Expansion factor t of every block but the first (which the paper fixes at 1).
    pub expansion: usize,
    pub head: Head,
}

impl Default for MobileNetV2 {
    fn default() -> Self {
        MobileNetV2 { alpha: 1.0, expansion: 6, head: Head::Logits }
    }
}

const STEM_CHANNELS: usize = 32;
const LAST_CHANNELS: usize = 1280;
const MAX_EXPANSION: usize = 16;

/// The paper's table: (expanded?, output channels c, repeats n, first stride s). The first
/// sequence has t = 1, i.e. no expansion conv at all.
const SEQUENCES: [(bool, usize, usize, usize); 7] = [
    (false, 16, 1, 1),
    (true, 24, 2, 2),
    (true, 32, 3, 2),
    (true, 64, 4, 2),
    (true, 96, 3, 1),
    (true, 160, 3, 2),
    (true, 320, 1, 1),
];

/// The reference `_make_divisible`: nearest multiple of 8, at least 8, and never more than 10%
/// below the exact value.
fn make_divisible(value: f64) -> usize {
    const DIVISOR: usize = 8;
    let rounded = (((value + DIVISOR as f64 / 2.0) as usize) / DIVISOR * DIVISOR).max(DIVISOR);
    if (rounded as f64) < 0.9 * value { rounded + DIVISOR } else { rounded }
}

pub fn build(cfg: &MobileNetV2, resolution: usize, seed: u64) -> Result<Graph> {
    check_multiplier("MobileNet V2 width multiplier", cfg.alpha)?;
    if !(1..=MAX_EXPANSION).contains(&cfg.expansion) {
        return Err(Error::Config(format!("MobileNet V2 expansion {} outside 1..={MAX_EXPANSION}", cfg.expansion)));
    }
    let mut net = Net::new(resolution, seed)?;
    let relu6 = Activation::Relu6;
    let pointwise = Window::square(1, 1, 0);
    let x = net.input();
    let win = same_window(3, 2, net.shape(x));
    let mut x = net.conv_bn("conv1", x, make_divisible(STEM_CHANNELS as f64 * cfg.alpha), win, 1, relu6)?;
    let mut block = 0;
    for &(expanded, channels, repeats, first_stride) in &SEQUENCES {
        let cout = make_divisible(channels as f64 * cfg.alpha);
        for r in 0..repeats {
            let stride = if r == 0 { first_stride } else { 1 };
            let name = format!("block_{block}");
            let cin = net.shape(x).c;
            let mut y = x;
            if expanded {
                let hidden = make_divisible((cin * cfg.expansion) as f64);
                y = net.conv_bn(&format!("{name}_expand"), y, hidden, pointwise, 1, relu6)?;
            }
            let hidden = net.shape(y).c;
            let win = same_window(3, stride, net.shape(y));
            y = net.conv_bn(&format!("{name}_depthwise"), y, hidden, win, hidden, relu6)?;
            y = net.conv_bn(&format!("{name}_project"), y, cout, pointwise, 1, Activation::None)?;
            x = if stride == 1 && cin == cout { net.add(&format!("{name}_add"), x, y, Activation::None)? } else { y };
            block += 1;
        }
    }
    // The paper keeps 1280 for narrow models ("we apply the width multiplier to all layers except
    // the very last convolutional layer"), and scales it up for wide ones.
    let last = if cfg.alpha > 1.0 { make_divisible(LAST_CHANNELS as f64 * cfg.alpha) } else { LAST_CHANNELS };
    let x = net.conv_bn("conv_last", x, last, pointwise, 1, relu6)?;
    let x = net.global_avg_pool("global_pool", x)?;
    net.classifier(x, super::CLASSES, true, cfg.head)
}
