//! Probabilities → named predictions: softmax, top-k and the ImageNet-1k labels.
//!
//! Label k is line k of `assets/imagenet_classes.txt` (`wnid<TAB>names`). The 1001-output TFLite
//! files put a `background` class first; [`Model::run`] already drops it (the model's
//! `label_offset`), so class index k here is always ImageNet class k.

use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::model::Model;
use crate::preprocess::{PixelFormat, Preprocessor};

const CLASSES: &str = include_str!("../assets/imagenet_classes.txt");

/// One ImageNet class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label {
    /// WordNet id, e.g. `n01440764`.
    pub wnid: &'static str,
    /// The first of the synonyms, e.g. `tench`.
    pub name: &'static str,
    /// All synonyms as listed, e.g. `tench, Tinca tinca`.
    pub names: &'static str,
}

/// The 1000 ImageNet-1k classes in the standard (sorted WNID) order.
pub fn labels() -> &'static [Label] {
    static LABELS: OnceLock<Vec<Label>> = OnceLock::new();
    LABELS.get_or_init(|| {
        CLASSES
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let (wnid, names) = line.split_once('\t').unwrap_or((line, ""));
                let names = names.trim();
                let name = names.split(',').next().unwrap_or("").trim();
                Label { wnid: wnid.trim(), name, names }
            })
            .collect()
    })
}

/// The class index of a WNID (for eval file names like `n01440764_tench.JPEG`).
pub fn class_of_wnid(wnid: &str) -> Option<usize> {
    labels().iter().position(|l| l.wnid == wnid)
}

/// Softmax of `logits` (numerically stable: the maximum is subtracted before `exp`).
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let mut p = logits.to_vec();
    if !p.is_empty() {
        crate::kernels::softmax::softmax(&mut p);
    }
    p
}

/// The `k` largest entries as (index, value), largest first; equal values keep index order and NaN
/// ranks last. `k` larger than the input gives all entries.
pub fn top_k(values: &[f32], k: usize) -> Vec<(usize, f32)> {
    let rank = |v: f32| if v.is_nan() { f32::NEG_INFINITY } else { v };
    let mut order: Vec<usize> = (0..values.len()).collect();
    let k = k.min(values.len());
    let by_value = |&a: &usize, &b: &usize| rank(values[b]).total_cmp(&rank(values[a])).then(a.cmp(&b));
    if k < order.len() && k > 0 {
        order.select_nth_unstable_by(k - 1, by_value);
    }
    order.truncate(k);
    order.sort_by(by_value);
    order.into_iter().map(|i| (i, values[i])).collect()
}

/// One of the top classes of an image.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// ImageNet class index (0..1000), background already excluded.
    pub class_index: usize,
    /// WordNet id; empty when the model has more classes than the label list.
    pub wnid: String,
    /// Short name (the first synonym), or `class N` when there is no label.
    pub label: String,
    pub probability: f32,
}

/// Predictions for the `k` most probable classes of `probabilities` (one per class).
pub fn predictions(probabilities: &[f32], k: usize) -> Vec<Prediction> {
    top_k(probabilities, k)
        .into_iter()
        .map(|(i, p)| match labels().get(i) {
            Some(l) => Prediction { class_index: i, wnid: l.wnid.into(), label: l.name.into(), probability: p },
            None => Prediction { class_index: i, wnid: String::new(), label: format!("class {i}"), probability: p },
        })
        .collect()
}

/// Classifies one image with the model's own preprocessing; returns the top `k` predictions.
pub fn classify(
    model: &mut Model,
    pixels: &[u8],
    width: usize,
    height: usize,
    format: PixelFormat,
    k: usize,
) -> Result<Vec<Prediction>> {
    Classifier::new().classify(model, pixels, width, height, format, k)
}

/// [`classify`] with its buffers kept between calls: frames of one size allocate only the result.
#[derive(Debug, Default)]
pub struct Classifier {
    preprocessor: Preprocessor,
    input: Vec<f32>,
}

impl Classifier {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn classify(
        &mut self,
        model: &mut Model,
        pixels: &[u8],
        width: usize,
        height: usize,
        format: PixelFormat,
        k: usize,
    ) -> Result<Vec<Prediction>> {
        let pre = model.meta().preprocessing.clone().ok_or_else(|| {
            Error::Config("the model declares no preprocessing (supply one when loading it)".into())
        })?;
        self.input.resize(model.input_len(), 0.0);
        self.preprocessor.to_input_tensor(pixels, width, height, format, &pre, &mut self.input)?;
        let probabilities = model.run(&self.input)?;
        Ok(predictions(probabilities, k))
    }
}
