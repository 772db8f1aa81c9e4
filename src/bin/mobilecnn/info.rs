//! `mobilecnn info <id>`: the per-layer cost of one zoo model.

use mobilecnn::graph::cost::{layer_costs, totals};
use mobilecnn::zoo;
use serde_json::json;

use crate::table::{millions, render};
use crate::{emit, CliResult};

#[derive(clap::Args)]
pub struct Args {
    /// A zoo id, e.g. mobilenet_v2_1.0_224 or shufflenet_v1_g3_0.5.
    id: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> CliResult {
    let graph = zoo::build(&args.id, 0)?;
    let layers = layer_costs(&graph);
    let total = totals(&layers);
    let share = |macs: u64| if total.macs == 0 { 0.0 } else { 100.0 * macs as f64 / total.macs as f64 };
    if args.json {
        let input = graph.shape(graph.input);
        let layers: Vec<_> = layers
            .iter()
            .map(|l| {
                json!({ "name": l.name, "kind": l.kind, "output": [l.out_shape.h, l.out_shape.w, l.out_shape.c],
                        "macs": l.macs, "params": l.params, "mac": l.mac, "macs_percent": share(l.macs) })
            })
            .collect();
        let report = json!({
            "id": args.id,
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
        graph.shape(graph.output).to_string(),
        total.macs.to_string(),
        total.params.to_string(),
        total.mac.to_string(),
        "100.00%".into(),
    ]);
    let mut text = render(&["name", "kind", "output", "MACs", "params", "MAC", "MACs %"], &rows);
    text.push_str(&format!(
        "\n{}: {} M MACs, {} M params (+ {} M BatchNorm scale/shift, folded at inference), {} M MAC\n",
        args.id,
        millions(total.macs),
        millions(total.params),
        millions(total.batchnorm_params),
        millions(total.mac)
    ));
    emit(&text)
}
