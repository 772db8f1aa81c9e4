//! Model lookup for `classify` and `eval`: a file path, or an id of `catalogue/models.json` (embedded in
//! the binary) whose file lives in `$MOBILECNN_MODELS` (default `./models`, filled by tools/fetch-models.sh).

use std::path::{Path, PathBuf};

use mobilecnn::preprocess::{ColorOrder, Preprocessing};
use mobilecnn::Model;
use serde_json::Value;

const CATALOGUE: &str = include_str!("../../../catalogue/models.json");

/// What the catalogue says about one model.
pub struct Entry {
    pub id: String,
    pub file: String,
    pub preprocessing: Option<Preprocessing>,
    /// Top-1 and top-5 of the reference implementation on ../shared/images/imagenet-dev.
    pub reference_dev: Option<(f64, f64)>,
}

pub fn entries() -> Vec<Entry> {
    let cat: Value = serde_json::from_str(CATALOGUE).expect("catalogue/models.json is valid JSON (checked at build time by tests)");
    cat["models"].as_array().map(|m| m.iter().map(entry).collect()).unwrap_or_default()
}

fn entry(m: &Value) -> Entry {
    let p = &m["preprocessing"];
    let num = |v: &Value| v.as_f64().map(|x| x as f32);
    let three = |v: &Value| Some([num(&v[0])?, num(&v[1])?, num(&v[2])?]);
    let color = match p["color_order"].as_str() {
        Some("BGR") => Some(ColorOrder::Bgr),
        Some("RGB") => Some(ColorOrder::Rgb),
        _ => None,
    };
    let preprocessing = (|| {
        Some(Preprocessing {
            size: m["input_size"].as_u64()? as usize,
            color: color?,
            scale: num(&p["input_scale"])?,
            mean: three(&p["mean"])?,
            std: three(&p["std"])?,
        })
    })();
    let dev = &m["reference_dev"];
    Entry {
        id: m["id"].as_str().unwrap_or_default().to_string(),
        file: m["file"].as_str().unwrap_or_default().to_string(),
        preprocessing,
        reference_dev: dev["top1"].as_f64().zip(dev["top5"].as_f64()),
    }
}

pub fn models_dir() -> PathBuf {
    std::env::var_os("MOBILECNN_MODELS").map(PathBuf::from).unwrap_or_else(|| "models".into())
}

/// A loaded model, with its catalogue entry when it has one.
pub struct Loaded {
    pub name: String,
    pub model: Model,
    pub entry: Option<Entry>,
}

/// Loads `spec`: an existing file, else a catalogue id. The catalogue's preprocessing fills in for
/// files that do not declare one.
pub fn load(spec: &str) -> Result<Loaded, Box<dyn std::error::Error>> {
    let path = Path::new(spec);
    let (path, entry) = if path.is_file() {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        (path.to_path_buf(), entries().into_iter().find(|e| e.file == name))
    } else if let Some(e) = entries().into_iter().find(|e| e.id == spec) {
        (models_dir().join(&e.file), Some(e))
    } else {
        let ids: Vec<String> = entries().into_iter().map(|e| e.id).collect();
        return Err(format!("{spec}: neither a file nor a catalogue id ({})", ids.join(", ")).into());
    };
    let bytes = std::fs::read(&path).map_err(|e| {
        format!("{}: {e} (run `bash tools/setup-python.sh && bash tools/fetch-models.sh`, or set MOBILECNN_MODELS)", path.display())
    })?;
    let mut model = Model::from_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    if model.meta().preprocessing.is_none() {
        if let Some(p) = entry.as_ref().and_then(|e| e.preprocessing.clone()) {
            model = Model::from_bytes_with(&bytes, Some(p)).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    let name = entry.as_ref().map(|e| e.id.clone()).unwrap_or_else(|| spec.to_string());
    Ok(Loaded { name, model, entry })
}

/// Decodes a PNG or JPEG to 8-bit RGB (grey becomes R=G=B, alpha is dropped; no EXIF rotation,
/// as the reference pipeline).
pub fn decode_image(path: &Path) -> Result<(Vec<u8>, usize, usize), Box<dyn std::error::Error>> {
    let img = image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| format!("{}: {e}", path.display()))?
        .decode()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .to_rgb8();
    let (w, h) = img.dimensions();
    Ok((img.into_raw(), w as usize, h as usize))
}
