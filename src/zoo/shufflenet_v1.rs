//! ShuffleNet V1 (Zhang et al. 2017, Table 1) in the structure of Megvii's released checkpoints:
//! a unit is 1×1 grouped conv + BN + ReLU → 3×3 depthwise + BN → channel shuffle (Megvii order)
//! → 1×1 grouped conv + BN; stride 1 adds the input and applies ReLU, stride 2 concatenates a
//! 3×3 average pool of the input (padded zeros counted) with the ReLU'd branch. The first 1×1 of
//! stage 2 is ungrouped (its input has too few channels). Head: global pool, linear without bias.

use super::net::Net;
use super::{matches_scale, Head};
use crate::error::{Error, Result};
use crate::graph::ir::ShuffleOrder;
use crate::graph::{Graph, ValueId};
use crate::kernels::{Activation, Window};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShuffleNetV1 {
    /// Groups g of the 1×1 convolutions: 1, 2, 3, 4 or 8.
    pub groups: usize,
    /// Scale factor s on the channel counts: 0.25, 0.5, 1.0, 1.5 or 2.0.
    pub scale: f64,
    pub head: Head,
}

impl Default for ShuffleNetV1 {
    fn default() -> Self {
        ShuffleNetV1 { groups: 3, scale: 1.0, head: Head::Logits }
    }
}

pub const GROUPS: [usize; 5] = [1, 2, 3, 4, 8];
pub const SCALES: [f64; 5] = [0.25, 0.5, 1.0, 1.5, 2.0];
const REPEATS: [usize; 3] = [4, 8, 4];

/// Output channels of stage 2 at 1× for each g (Table 1); stages 3 and 4 double each time.
fn stage2_channels(groups: usize) -> Option<usize> {
    Some(match groups {
        1 => 144,
        2 => 200,
        3 => 240,
        4 => 272,
        8 => 384,
        _ => return None,
    })
}

/// Stage 2 width at scale `s`, rounded to a multiple of 4g so the bottleneck (a quarter of the
/// width) splits into g groups. Exact for every released Megvii model (g = 3 and 8).
fn scaled_stage2(groups: usize, base: usize, scale: f64) -> usize {
    let unit = 4 * groups;
    ((base as f64 * scale / unit as f64).round() as usize).max(1) * unit
}

/// Stem channels as in Megvii's tables: 48 at 2×, 24 at 1× and 1.5×, 12 below 1× (which also
/// reproduces the paper's 13 MFLOPs at 0.25×), raised until the first unit's branch (stage 2
/// width minus stem) splits into g groups (g = 8 at 0.5× thus gets 16, as released).
fn stem_channels(groups: usize, stage2: usize, scale: f64) -> usize {
    let mut stem = if scale >= 2.0 {
        48
    } else if scale >= 1.0 {
        24
    } else {
        12
    };
    while (stage2 - stem) % groups != 0 {
        stem += 1;
    }
    stem
}

pub fn build(cfg: &ShuffleNetV1, resolution: usize, seed: u64) -> Result<Graph> {
    let base = stage2_channels(cfg.groups)
        .ok_or_else(|| Error::Config(format!("ShuffleNet V1 groups {} not one of {GROUPS:?}", cfg.groups)))?;
    if !matches_scale(cfg.scale, &SCALES) {
        return Err(Error::Config(format!("ShuffleNet V1 scale {} not one of {SCALES:?}", cfg.scale)));
    }
    let stage2 = scaled_stage2(cfg.groups, base, cfg.scale);
    let mut net = Net::new(resolution, seed)?;
    let x = net.input();
    let stem = stem_channels(cfg.groups, stage2, cfg.scale);
    let x = net.conv_bn("conv1", x, stem, Window::square(3, 2, 1), 1, Activation::Relu)?;
    let mut x = net.max_pool("maxpool", x, Window::square(3, 2, 1))?;
    for (stage, &repeats) in REPEATS.iter().enumerate() {
        let out = stage2 << stage;
        for i in 0..repeats {
            let name = format!("stage{}.{i}", stage + 2);
            let first_1x1_groups = if stage == 0 && i == 0 { 1 } else { cfg.groups };
            x = unit(&mut net, &name, x, out, cfg.groups, first_1x1_groups, if i == 0 { 2 } else { 1 })?;
        }
    }
    let x = net.global_avg_pool("global_pool", x)?;
    net.classifier(x, super::CLASSES, false, cfg.head)
}

fn unit(net: &mut Net, name: &str, x: ValueId, out: usize, groups: usize, first_1x1_groups: usize, stride: usize) -> Result<ValueId> {
    let cin = net.shape(x).c;
    let mid = out / 4;
    // Stride 2 concatenates the pooled input, so the branch only makes the rest of the channels.
    let branch_out = if stride == 2 { out - cin } else { out };
    let pointwise = Window::square(1, 1, 0);
    let y = net.conv_bn(&format!("{name}.pw1"), x, mid, pointwise, first_1x1_groups, Activation::Relu)?;
    let mut y = net.conv_bn(&format!("{name}.dw"), y, mid, Window::square(3, stride, 1), mid, Activation::None)?;
    if groups > 1 {
        y = net.shuffle(&format!("{name}.shuffle"), y, groups, ShuffleOrder::Megvii)?;
    }
    let y = net.conv_bn(&format!("{name}.pw2"), y, branch_out, pointwise, groups, Activation::None)?;
    if stride == 1 {
        net.add(&format!("{name}.add"), x, y, Activation::Relu)
    } else {
        let pooled = net.avg_pool(&format!("{name}.pool"), x, Window::square(3, 2, 1), true)?;
        let y = net.act(&format!("{name}.relu"), y, Activation::Relu)?;
        net.concat(&format!("{name}.concat"), &[pooled, y])
    }
}
