//! `mobilecnn classify <model> <image>...`: the top classes of each image.

use std::path::PathBuf;

use mobilecnn::classify::Classifier;
use mobilecnn::preprocess::PixelFormat;
use serde_json::json;

use crate::catalogue::{decode_image, load};
use crate::{emit, CliResult};

#[derive(clap::Args)]
pub struct Args {
    /// A .tflite/.onnx file or a catalogue id (e.g. mobilenet_v2_1.0_224_quant).
    model: String,
    /// PNG or JPEG files.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// How many classes to show per image.
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> CliResult {
    let mut loaded = load(&args.model)?;
    let mut classifier = Classifier::new();
    let mut results = Vec::new();
    let mut text = String::new();
    for path in &args.images {
        let (rgb, w, h) = decode_image(path)?;
        let top = classifier
            .classify(&mut loaded.model, &rgb, w, h, PixelFormat::Rgb, args.top)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        text.push_str(&format!("{}\n", path.display()));
        for (rank, p) in top.iter().enumerate() {
            text.push_str(&format!(
                "  {}. {:<28} {:>7.3}%  (class {}, {})\n",
                rank + 1,
                p.label,
                100.0 * p.probability,
                p.class_index,
                p.wnid
            ));
        }
        let top: Vec<_> = top
            .iter()
            .map(|p| json!({ "class_index": p.class_index, "wnid": p.wnid, "label": p.label, "probability": p.probability }))
            .collect();
        results.push(json!({ "image": path.display().to_string(), "predictions": top }));
    }
    if args.json {
        let report = json!({ "model": loaded.name, "results": results });
        emit(&(serde_json::to_string_pretty(&report)? + "\n"))
    } else {
        emit(&text)
    }
}
