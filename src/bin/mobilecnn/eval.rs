//! `mobilecnn eval <model> <folder>`: top-1 / top-5 accuracy on photos named `<wnid>_*.JPEG`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use mobilecnn::classify::{class_of_wnid, top_k, Classifier};
use mobilecnn::preprocess::PixelFormat;
use serde_json::json;

use crate::catalogue::{decode_image, load};
use crate::{emit, CliResult};

#[derive(clap::Args)]
pub struct Args {
    /// A .tflite/.onnx file or a catalogue id.
    model: String,
    /// A folder of `<wnid>_<anything>.JPEG` (or .jpg/.png) photos.
    folder: PathBuf,
    /// Evaluate only the first N photos (in file name order).
    #[arg(long)]
    limit: Option<usize>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// The labelled photos of `folder`, sorted by file name: (path, class index).
fn labelled_photos(folder: &Path) -> Result<Vec<(PathBuf, usize)>, Box<dyn std::error::Error>> {
    let mut photos = Vec::new();
    for item in std::fs::read_dir(folder).map_err(|e| format!("{}: {e}", folder.display()))? {
        let path = item?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
        if !matches!(ext.as_str(), "jpeg" | "jpg" | "png") {
            continue;
        }
        if let Some(class) = name.split('_').next().and_then(class_of_wnid) {
            photos.push((path, class));
        }
    }
    photos.sort();
    Ok(photos)
}

pub fn run(args: &Args) -> CliResult {
    let mut photos = labelled_photos(&args.folder)?;
    if let Some(n) = args.limit {
        photos.truncate(n);
    }
    if photos.is_empty() {
        return Err(format!("{}: no photos named <wnid>_*.JPEG", args.folder.display()).into());
    }
    let mut loaded = load(&args.model)?;
    let mut classifier = Classifier::new();
    let (mut top1, mut top5) = (0usize, 0usize);
    let mut per_image = Vec::with_capacity(photos.len());
    let start = Instant::now();
    for (path, class) in &photos {
        let (rgb, w, h) = decode_image(path)?;
        classifier
            .classify(&mut loaded.model, &rgb, w, h, PixelFormat::Rgb, 0)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let best = top_k(loaded.model.probabilities(), 5);
        top1 += usize::from(best.first().map(|b| b.0) == Some(*class));
        top5 += usize::from(best.iter().any(|b| b.0 == *class));
        let file = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        per_image.push(json!({ "file": file, "label": class, "top5": best }));
    }
    let seconds = start.elapsed().as_secs_f64();
    let n = photos.len();
    let (acc1, acc5) = (top1 as f64 / n as f64, top5 as f64 / n as f64);
    let reference = loaded.entry.as_ref().and_then(|e| e.reference_dev);
    if args.json {
        let report = json!({
            "model": loaded.name,
            "folder": args.folder.display().to_string(),
            "images": n,
            "top1": acc1,
            "top5": acc5,
            "top1_correct": top1,
            "top5_correct": top5,
            "seconds": seconds,
            "reference_dev": reference.map(|(t1, t5)| json!({ "top1": t1, "top5": t5 })),
            "per_image": per_image,
        });
        return emit(&(serde_json::to_string_pretty(&report)? + "\n"));
    }
    let mut text = format!(
        "model   {}\nimages  {n}\ntop-1   {acc1:.3}  ({top1}/{n})\ntop-5   {acc5:.3}  ({top5}/{n})\ntime    {seconds:.1} s ({:.1} ms per image, decode included)\n",
        loaded.name,
        1000.0 * seconds / n as f64
    );
    if let Some((t1, t5)) = reference {
        text.push_str(&format!("reference on ../shared/images/imagenet-dev (250 photos): top-1 {t1:.3}, top-5 {t5:.3}\n"));
    }
    emit(&text)
}
