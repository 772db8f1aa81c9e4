//! `mobilecnn info <model>`: the per-layer cost of a zoo architecture, a model file or a catalogue model.
//! Zoo ids report the graph as built (BatchNorm layers listed, their parameters counted apart, as the
//! papers do); files report the graph as it runs (BatchNorm folded into the convolutions' biases) —
//! the figures tools/make_catalogue.py writes into catalogue/models.json.

use std::path::Path;

use mobilecnn::graph::cost::{layer_costs, totals, LayerCost};
use mobilecnn::tensor::Shape;
use mobilecnn::zoo;
use serde_json::json;

use crate::catalogue::{entries, load};
use crate::table::{millions, render};
use crate::{emit, CliResult};

#[derive(clap::Args)]
pub struct Args {
    /// A .tflite/.onnx file, a catalogue id (e.g. mobilenet_v2_1.0_224_quant) or a zoo id
    /// (e.g. mobilenet_v2_1.0_224, shufflenet_v1_g3_0.5).
    id: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// What `info` reports on: the layers of one graph and its input and output shapes.
struct Subject {
    name: String,
    source: &'static str,
    input: Shape,
    output: Shape,
    layers: Vec<LayerCost>,
}

fn subject(spec: &str) -> Result<Subject, Box<dyn std::error::Error>> {
    if Path::new(spec).is_file() || entries().iter().any(|e| e.id == spec) {
        let loaded = load(spec)?;
        let layers = loaded.model.layer_costs();
        let size = loaded.model.meta().input_size;
        let output = layers.last().map(|l| l.out_shape).ok_or("the model has no layers")?;
        let source = if loaded.entry.is_some() { "catalogue" } else { "file" };
        return Ok(Subject { name: loaded.name, source, input: Shape::new(size, size, 3), output, layers });
    }
    let graph = zoo::build(spec, 0).map_err(|e| format!("{spec}: neither a file nor a catalogue id, and {e}"))?;
    let (input, output) = (graph.shape(graph.input), graph.shape(graph.output));
    Ok(Subject { name: spec.to_string(), source: "zoo", input, output, layers: layer_costs(&graph) })
}

pub fn run(args: &Args) -> CliResult {
    let Subject { name, source, input, output, layers } = subject(&args.id)?;
    let total = totals(&layers);
    let share = |macs: u64| if total.macs == 0 { 0.0 } else { 100.0 * macs as f64 / total.macs as f64 };
    if args.json {
        let layers: Vec<_> = layers
            .iter()
            .map(|l| {
                json!({ "name": l.name, "kind": l.kind, "output": [l.out_shape.h, l.out_shape.w, l.out_shape.c],
                        "macs": l.macs, "params": l.params, "mac": l.mac, "macs_percent": share(l.macs) })
            })
            .collect();
        let report = json!({
            "id": name,
            "source": source,
            "input": [input.h, input.w, input.c],
            "layers": layers,
            "totals": { "macs": total.macs, "params": total.params, "batchnorm_params": total.batchnorm_params, "mac": total.mac },
        });
        return emit(&(serde_json::to_string_pretty(&report)? + "\n"));
    }
    let mut rows: Vec<Vec<String>> = layers
        .iter()
        .map(|l| {
            vec![
                l.name.clone(),
                l.kind.to_string(),
                l.out_shape.to_string(),
                l.macs.to_string(),
                l.params.to_string(),
                l.mac.to_string(),
                format!("{:.2}%", share(l.macs)),
            ]
        })
        .collect();
    rows.push(vec![
        "total".into(),
        String::new(),
        output.to_string(),
        total.macs.to_string(),
        total.params.to_string(),
        total.mac.to_string(),
        "100.00%".into(),
    ]);
    let mut text = render(&["name", "kind", "output", "MACs", "params", "MAC", "MACs %"], &rows);
    let batchnorm = if source == "zoo" || total.batchnorm_params > 0 {
        format!(" (+ {} M BatchNorm scale/shift, folded at inference)", millions(total.batchnorm_params))
    } else {
        String::new()
    };
    text.push_str(&format!(
        "\n{name}: {} M MACs, {} M params{batchnorm}, {} M MAC\n",
        millions(total.macs),
        millions(total.params),
        millions(total.mac)
    ));
    emit(&text)
}
