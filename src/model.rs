//! A loaded classifier: an imported (TFLite, ONNX) or zoo graph, optimised and planned once, with
//! what the caller needs to feed it (input size, preprocessing) and to read it (classes, label
//! offset). The one type the CLI, the wasm surface and the tests run models through.

use crate::error::{Error, Result};
use crate::graph::cost::{layer_costs, LayerCost};
use crate::graph::plan::Plan;
use crate::graph::rewrite::optimize;
use crate::graph::{Graph, Op};
use crate::import::{self, Imported};
use crate::kernels::softmax::softmax;
use crate::preprocess::Preprocessing;

/// Where a model came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelFormat {
    Tflite,
    Onnx,
    /// A zoo architecture with random weights (`zoo::build`).
    Zoo,
}

/// What the file's graph ends in. [`Model::run`] returns probabilities either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputKind {
    Logits,
    Probabilities,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ModelMeta {
    pub format: ModelFormat,
    /// e.g. `mobilenet_v1`, `shufflenet_v2` (ONNX metadata, or the zoo id); `None` when the file does not say.
    pub architecture: Option<String>,
    /// Side S of the square NHWC input S×S×3.
    pub input_size: usize,
    /// How to turn pixel bytes into the input, when the file says (or the caller supplied it).
    pub preprocessing: Option<Preprocessing>,
    /// Classes [`Model::run`] returns (the graph's outputs minus `label_offset`).
    pub num_classes: usize,
    /// Leading outputs that are not classes (1 for the TFLite files' `background`).
    pub label_offset: usize,
    pub output: OutputKind,
}

/// One graph node's share of a profiled run, with its static cost.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerProfile {
    pub name: String,
    pub kind: &'static str,
    pub macs: u64,
    pub params: u64,
    /// Memory access cost in elements (see `graph::cost`).
    pub mac: u64,
    pub ms: f64,
}

pub struct Model {
    meta: ModelMeta,
    plan: Plan,
    costs: Vec<LayerCost>,
    weight_bytes: usize,
    /// The graph's whole output after softmax (reused across runs); classes start at `label_offset`.
    probs: Vec<f32>,
}

/// TFLite files carry the identifier "TFL3" at byte offset 4.
fn is_tflite(bytes: &[u8]) -> bool {
    bytes.get(4..8) == Some(b"TFL3")
}

impl Model {
    /// Loads a `.tflite` or `.onnx` file (detected from its bytes) with the preprocessing it declares.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        Self::from_bytes_with(bytes, None)
    }

    /// Like [`Model::from_bytes`]; a `Some` preprocessing replaces whatever the file declares
    /// (for files without metadata).
    pub fn from_bytes_with(bytes: &[u8], preprocessing: Option<Preprocessing>) -> Result<Model> {
        if bytes.is_empty() {
            return Err(Error::Malformed("empty model file".into()));
        }
        let (format, mut imported) = if is_tflite(bytes) {
            (ModelFormat::Tflite, import::tflite::import(bytes)?)
        } else {
            (ModelFormat::Onnx, import::onnx::import(bytes)?)
        };
        if preprocessing.is_some() {
            imported.preprocessing = preprocessing;
        }
        Self::from_imported(format, imported)
    }

    /// A zoo network with deterministic random weights (see `zoo::build` for the ids).
    pub fn from_zoo(id: &str, seed: u64) -> Result<Model> {
        let graph = crate::zoo::build(id, seed)?;
        let classes = graph.shape(graph.output).len();
        let imported = Imported {
            graph,
            architecture: Some(id.to_string()),
            preprocessing: None,
            num_classes: classes,
            label_offset: 0,
        };
        Self::from_imported(ModelFormat::Zoo, imported)
    }

    fn from_imported(format: ModelFormat, imported: Imported) -> Result<Model> {
        let Imported { graph, architecture, preprocessing, num_classes, label_offset } = imported;
        let input = graph.shape(graph.input);
        if input.h != input.w || input.c != 3 {
            return Err(Error::Unsupported(format!("input {input}: only square 3-channel images are supported")));
        }
        let out_len = graph.shape(graph.output).len();
        if num_classes == 0 || num_classes.checked_add(label_offset) != Some(out_len) {
            return Err(Error::Malformed(format!(
                "{num_classes} classes after an offset of {label_offset} do not match the {out_len} outputs"
            )));
        }
        if let Some(p) = &preprocessing {
            if p.size != input.h {
                return Err(Error::Config(format!("preprocessing size {} but the model input is {input}", p.size)));
            }
        }
        let output = if ends_in_softmax(&graph) { OutputKind::Probabilities } else { OutputKind::Logits };
        let optimized = optimize(&graph)?;
        drop(graph);
        let plan = Plan::new(&optimized)?;
        let costs = layer_costs(&optimized);
        let weight_bytes = costs.iter().map(|c| c.params as usize).sum::<usize>() * size_of::<f32>();
        let meta = ModelMeta { format, architecture, input_size: input.h, preprocessing, num_classes, label_offset, output };
        Ok(Model { meta, plan, costs, weight_bytes, probs: vec![0.0; out_len] })
    }

    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    /// Floats of one input image: S·S·3.
    pub fn input_len(&self) -> usize {
        self.plan.input_shape().len()
    }

    /// Runs one NHWC image (already preprocessed) and returns the probability of each of the
    /// `num_classes` classes (class k = graph output k + label_offset).
    pub fn run(&mut self, input: &[f32]) -> Result<&[f32]> {
        let out = self.plan.run(input)?;
        self.probs.copy_from_slice(out);
        self.finish()
    }

    /// Like [`Model::run`], timing each executed graph node with `clock` (milliseconds). The
    /// probabilities of the run are then in [`Model::probabilities`].
    pub fn run_profiled(&mut self, input: &[f32], clock: &(dyn Fn() -> f64 + Sync)) -> Result<Vec<LayerProfile>> {
        let times = self.plan.run_profiled(input, clock)?;
        self.probs.copy_from_slice(self.plan.output());
        self.finish()?;
        Ok(times
            .into_iter()
            .zip(&self.costs)
            .map(|(t, c)| LayerProfile { name: t.node, kind: t.kind, macs: c.macs, params: c.params, mac: c.mac, ms: t.ms })
            .collect())
    }

    /// The class probabilities of the last run.
    pub fn probabilities(&self) -> &[f32] {
        &self.probs[self.meta.label_offset..]
    }

    fn finish(&mut self) -> Result<&[f32]> {
        if self.meta.output == OutputKind::Logits {
            softmax(&mut self.probs);
        }
        Ok(&self.probs[self.meta.label_offset..])
    }

    /// Static cost of every node of the planned (optimised) graph.
    pub fn layer_costs(&self) -> Vec<LayerCost> {
        self.costs.clone()
    }

    /// Bytes of the activation arena.
    pub fn arena_bytes(&self) -> usize {
        self.plan.arena_bytes()
    }

    /// Bytes of the weights as f32 (after BatchNorm folding).
    pub fn weight_bytes(&self) -> usize {
        self.weight_bytes
    }
}

fn ends_in_softmax(g: &Graph) -> bool {
    g.nodes.iter().find(|n| n.output == g.output).is_some_and(|n| matches!(n.op, Op::Softmax))
}
