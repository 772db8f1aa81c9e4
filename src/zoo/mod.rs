//! The four architectures of the mobile-CNN line as graph builders with deterministic random
//! weights (He-scaled, BatchNorm statistics matched to the expected activation variance), and a
//! registry of named configurations: `mobilenet_v1_<α>_<resolution>`, `mobilenet_v2_<α>_<resolution>`,
//! `shufflenet_v1_g<g>_<scale>[_<resolution>]`, `shufflenet_v2_<scale>[_<resolution>]`.

pub mod mobilenet_v1;
pub mod mobilenet_v2;
mod net;
pub mod shufflenet_v1;
pub mod shufflenet_v2;

pub use mobilenet_v1::MobileNetV1;
pub use mobilenet_v2::MobileNetV2;
pub use net::{MAX_RESOLUTION, MIN_RESOLUTION};
pub use shufflenet_v1::ShuffleNetV1;
pub use shufflenet_v2::ShuffleNetV2;

use crate::error::{Error, Result};
use crate::graph::Graph;

/// ImageNet-1k classes of every classifier head.
pub const CLASSES: usize = 1000;
/// Widest width multiplier accepted (the papers go up to 1.4–2.0).
pub const MAX_MULTIPLIER: f64 = 4.0;
/// Input side of the ShuffleNets when an id does not name one.
pub const DEFAULT_RESOLUTION: usize = 224;

/// What the graph ends in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Head {
    #[default]
    Logits,
    /// Logits followed by a softmax.
    Softmax,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arch {
    MobileNetV1(MobileNetV1),
    MobileNetV2(MobileNetV2),
    ShuffleNetV1(ShuffleNetV1),
    ShuffleNetV2(ShuffleNetV2),
}

/// An architecture configuration and its input resolution: everything a zoo id names.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ZooModel {
    pub arch: Arch,
    pub resolution: usize,
}

/// The named configurations (the papers' headline models and those with released weights).
const REGISTERED: &[&str] = &[
    "mobilenet_v1_1.0_224",
    "mobilenet_v1_0.75_192",
    "mobilenet_v1_0.5_160",
    "mobilenet_v1_0.25_128",
    "mobilenet_v1_0.25_224",
    "mobilenet_v2_1.0_224",
    "mobilenet_v2_0.5_224",
    "shufflenet_v1_g1_1.0",
    "shufflenet_v1_g2_1.0",
    "shufflenet_v1_g3_1.0",
    "shufflenet_v1_g4_1.0",
    "shufflenet_v1_g8_1.0",
    "shufflenet_v1_g3_0.5",
    "shufflenet_v1_g8_0.5",
    "shufflenet_v2_0.25",
    "shufflenet_v2_0.33",
    "shufflenet_v2_0.5",
    "shufflenet_v2_1.0",
    "shufflenet_v2_1.5",
    "shufflenet_v2_2.0",
];

pub fn ids() -> &'static [&'static str] {
    REGISTERED
}

/// Build a model by id (registered or any well-formed one, e.g. `mobilenet_v1_0.35_96`).
pub fn build(id: &str, seed: u64) -> Result<Graph> {
    ZooModel::parse(id)?.build(seed)
}

impl ZooModel {
    pub fn parse(id: &str) -> Result<ZooModel> {
        parse_id(id).ok_or_else(|| {
            Error::Config(format!(
                "unknown zoo id '{id}': expected mobilenet_v1_<alpha>_<resolution>, mobilenet_v2_<alpha>_<resolution>, \
                 shufflenet_v1_g<groups>_<scale>[_<resolution>] or shufflenet_v2_<scale>[_<resolution>] \
                 (registered: {})",
                REGISTERED.join(", ")
            ))
        })
    }

    pub fn with_head(mut self, head: Head) -> ZooModel {
        match &mut self.arch {
            Arch::MobileNetV1(c) => c.head = head,
            Arch::MobileNetV2(c) => c.head = head,
            Arch::ShuffleNetV1(c) => c.head = head,
            Arch::ShuffleNetV2(c) => c.head = head,
        }
        self
    }

    pub fn build(&self, seed: u64) -> Result<Graph> {
        match &self.arch {
            Arch::MobileNetV1(c) => mobilenet_v1::build(c, self.resolution, seed),
            Arch::MobileNetV2(c) => mobilenet_v2::build(c, self.resolution, seed),
            Arch::ShuffleNetV1(c) => shufflenet_v1::build(c, self.resolution, seed),
            Arch::ShuffleNetV2(c) => shufflenet_v2::build(c, self.resolution, seed),
        }
    }
}

/// `None` when the id has none of the four forms (MobileNet ids must name their resolution);
/// the values are range-checked by the builders.
fn parse_id(id: &str) -> Option<ZooModel> {
    let number = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite());
    let (arch, resolution) = if let Some(rest) = id.strip_prefix("mobilenet_v1_") {
        let (alpha, resolution) = rest.split_once('_')?;
        (Arch::MobileNetV1(MobileNetV1 { alpha: number(alpha)?, ..Default::default() }), Some(resolution))
    } else if let Some(rest) = id.strip_prefix("mobilenet_v2_") {
        let (alpha, resolution) = rest.split_once('_')?;
        (Arch::MobileNetV2(MobileNetV2 { alpha: number(alpha)?, ..Default::default() }), Some(resolution))
    } else if let Some(rest) = id.strip_prefix("shufflenet_v1_g") {
        let (groups, rest) = rest.split_once('_')?;
        let (scale, resolution) = split_resolution(rest);
        (Arch::ShuffleNetV1(ShuffleNetV1 { groups: groups.parse().ok()?, scale: number(scale)?, ..Default::default() }), resolution)
    } else if let Some(rest) = id.strip_prefix("shufflenet_v2_") {
        let (scale, resolution) = split_resolution(rest);
        (Arch::ShuffleNetV2(ShuffleNetV2 { scale: number(scale)?, ..Default::default() }), resolution)
    } else {
        return None;
    };
    let resolution = match resolution {
        Some(r) => r.parse().ok()?,
        None => DEFAULT_RESOLUTION,
    };
    Some(ZooModel { arch, resolution })
}

/// `"0.5_160"` → `("0.5", Some("160"))`, `"0.5"` → `("0.5", None)`.
fn split_resolution(s: &str) -> (&str, Option<&str>) {
    match s.split_once('_') {
        Some((scale, resolution)) => (scale, Some(resolution)),
        None => (s, None),
    }
}

fn check_multiplier(what: &str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 && value <= MAX_MULTIPLIER {
        Ok(())
    } else {
        Err(Error::Config(format!("{what} {value} outside (0, {MAX_MULTIPLIER}]")))
    }
}

/// Whether `scale` is one of `allowed` (ids spell 0.33 for ⅓ and the like, so compare loosely).
fn matches_scale(scale: f64, allowed: &[f64]) -> bool {
    allowed.iter().any(|&s| (scale - s).abs() < 1e-6)
}
