//! What the wasm surface does, in plain Rust so native tests reach it: load a model, classify
//! RGBA frames with timings, profile layer by layer, and name errors with stable codes.
//! The values returned are the JS objects' shapes (camelCase through serde).

use serde::{Deserialize, Serialize};

use crate::classify::predictions;
use crate::error::{Error, Result};
use crate::model::{Model, ModelFormat, OutputKind};
use crate::preprocess::{ColorOrder, PixelFormat, Preprocessing, Preprocessor};

/// Seed of the random weights of `zoo:` models (their outputs mean nothing; only costs and times do).
const ZOO_SEED: u64 = 1;
/// The most predictions a caller may ask for.
const MAX_TOP_K: usize = 1000;

/// Preprocessing supplied by the caller for files that do not carry it; the input size is the model's.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PreprocessingOptions {
    /// `"RGB"` or `"BGR"`.
    pub color_order: String,
    pub input_scale: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl PreprocessingOptions {
    fn for_size(&self, size: usize) -> Result<Preprocessing> {
        let color = match self.color_order.to_ascii_uppercase().as_str() {
            "RGB" => ColorOrder::Rgb,
            "BGR" => ColorOrder::Bgr,
            other => return Err(Error::Input(format!("colorOrder '{other}': expected 'RGB' or 'BGR'"))),
        };
        let finite = self.input_scale.is_finite() && self.mean.iter().chain(&self.std).all(|v| v.is_finite());
        if !finite || self.std.contains(&0.0) {
            return Err(Error::Input("preprocessing needs finite inputScale, mean and std, and std ≠ 0".into()));
        }
        Ok(Preprocessing { size, color, scale: self.input_scale, mean: self.mean, std: self.std })
    }

    fn from_preprocessing(p: &Preprocessing) -> Self {
        let color_order = match p.color {
            ColorOrder::Rgb => "RGB",
            ColorOrder::Bgr => "BGR",
        };
        PreprocessingOptions { color_order: color_order.into(), input_scale: p.scale, mean: p.mean, std: p.std }
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// `"tflite"`, `"onnx"` or `"zoo"`.
    pub format: &'static str,
    pub architecture: Option<String>,
    pub input_size: usize,
    pub num_classes: usize,
    pub label_offset: usize,
    /// What the file's graph ends in: `"logits"` or `"probabilities"`.
    pub output: &'static str,
    pub preprocessing: Option<PreprocessingOptions>,
    pub weight_bytes: usize,
    pub arena_bytes: usize,
    pub macs: u64,
    pub params: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PredictionOut {
    pub label: String,
    pub wnid: String,
    pub class_index: usize,
    pub probability: f32,
}

#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timings {
    pub preprocess_ms: f64,
    pub inference_ms: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Classification {
    pub predictions: Vec<PredictionOut>,
    pub timings: Timings,
}

#[derive(Clone, Debug, Serialize)]
pub struct LayerOut {
    pub name: String,
    pub op: &'static str,
    pub macs: u64,
    pub params: u64,
    pub mac: u64,
    pub ms: f64,
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Totals {
    pub macs: u64,
    pub params: u64,
    pub mac: u64,
    pub ms: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Profile {
    pub layers: Vec<LayerOut>,
    pub totals: Totals,
}

/// A model with its preprocessing state and input buffer, reused frame after frame.
pub struct Session {
    model: Model,
    preprocessing: Option<Preprocessing>,
    preprocessor: Preprocessor,
    input: Vec<f32>,
}

impl Session {
    /// A `.tflite`/`.onnx` file; `preprocessing` overrides what the file declares.
    pub fn from_bytes(bytes: &[u8], preprocessing: Option<&PreprocessingOptions>) -> Result<Session> {
        let model = Model::from_bytes(bytes)?;
        let preprocessing = match preprocessing {
            Some(p) => Some(p.for_size(model.meta().input_size)?),
            None => model.meta().preprocessing.clone(),
        };
        Ok(Self::new(model, preprocessing))
    }

    /// A zoo architecture with random weights, fed like the TFLite MobileNets (x/128 − 1).
    pub fn from_zoo(id: &str) -> Result<Session> {
        let model = Model::from_zoo(id, ZOO_SEED)?;
        let size = model.meta().input_size;
        let p = Preprocessing { size, color: ColorOrder::Rgb, scale: 1.0, mean: [128.0; 3], std: [128.0; 3] };
        Ok(Self::new(model, Some(p)))
    }

    fn new(model: Model, preprocessing: Option<Preprocessing>) -> Session {
        let input = vec![0.0; model.input_len()];
        Session { model, preprocessing, preprocessor: Preprocessor::new(), input }
    }

    pub fn meta(&self) -> Meta {
        let m = self.model.meta();
        let costs = self.model.layer_costs();
        Meta {
            format: match m.format {
                ModelFormat::Tflite => "tflite",
                ModelFormat::Onnx => "onnx",
                ModelFormat::Zoo => "zoo",
            },
            architecture: m.architecture.clone(),
            input_size: m.input_size,
            num_classes: m.num_classes,
            label_offset: m.label_offset,
            output: match m.output {
                OutputKind::Logits => "logits",
                OutputKind::Probabilities => "probabilities",
            },
            preprocessing: self.preprocessing.as_ref().map(PreprocessingOptions::from_preprocessing),
            weight_bytes: self.model.weight_bytes(),
            arena_bytes: self.model.arena_bytes(),
            macs: costs.iter().map(|c| c.macs).sum(),
            params: costs.iter().map(|c| c.params).sum(),
        }
    }

    /// Preprocesses `rgba` (width × height × 4 bytes) into the input buffer; returns the ms it took.
    fn load_input(&mut self, rgba: &[u8], width: usize, height: usize, clock: &dyn Fn() -> f64) -> Result<f64> {
        let p = self.preprocessing.as_ref().ok_or_else(|| {
            Error::Input("the model file does not say how to preprocess images: pass the preprocessing option".into())
        })?;
        let start = clock();
        self.preprocessor.to_input_tensor(rgba, width, height, PixelFormat::Rgba, p, &mut self.input)?;
        Ok(clock() - start)
    }

    /// The `top_k` most probable classes of one RGBA frame, with the time of each stage (`clock` in ms).
    pub fn classify_rgba(
        &mut self,
        rgba: &[u8],
        width: usize,
        height: usize,
        top: usize,
        clock: &dyn Fn() -> f64,
    ) -> Result<Classification> {
        if top == 0 || top > MAX_TOP_K {
            return Err(Error::Input(format!("topK {top}: expected 1..={MAX_TOP_K}")));
        }
        let preprocess_ms = self.load_input(rgba, width, height, clock)?;
        let start = clock();
        let probabilities = self.model.run(&self.input)?;
        let inference_ms = clock() - start;
        let predictions = predictions(probabilities, top)
            .into_iter()
            .map(|p| PredictionOut { label: p.label, wnid: p.wnid, class_index: p.class_index, probability: p.probability })
            .collect();
        Ok(Classification { predictions, timings: Timings { preprocess_ms, inference_ms } })
    }

    /// Runs one frame timing every layer; totals are the sums of the layers' fields.
    pub fn profile_rgba(&mut self, rgba: &[u8], width: usize, height: usize, clock: &(dyn Fn() -> f64 + Sync)) -> Result<Profile> {
        self.load_input(rgba, width, height, clock)?;
        let layers: Vec<LayerOut> = self
            .model
            .run_profiled(&self.input, clock)?
            .into_iter()
            .map(|l| LayerOut { name: l.name, op: l.kind, macs: l.macs, params: l.params, mac: l.mac, ms: l.ms })
            .collect();
        let totals = layers.iter().fold(Totals::default(), |t, l| Totals {
            macs: t.macs + l.macs,
            params: t.params + l.params,
            mac: t.mac + l.mac,
            ms: t.ms + l.ms,
        });
        Ok(Profile { layers, totals })
    }
}

/// The stable code a JS caller switches on (the prefix of the JS error's message).
pub fn error_code(e: &Error) -> &'static str {
    match e {
        Error::Malformed(_) | Error::Shape { .. } => "malformed",
        Error::Unsupported(_) => "unsupported",
        Error::TooLarge(_) => "too-large",
        Error::Input(_) | Error::Config(_) => "input",
    }
}

/// `"<code>: <what went wrong>"`, the message of the JS error.
pub fn error_message(e: &Error) -> String {
    let detail = match e {
        Error::Malformed(s) | Error::Unsupported(s) | Error::TooLarge(s) | Error::Input(s) | Error::Config(s) => s.clone(),
        Error::Shape { .. } => e.to_string(),
    };
    format!("{}: {detail}", error_code(e))
}
