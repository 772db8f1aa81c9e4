//! `mobilecnn zoo`: every registered model with its cost totals.

use mobilecnn::graph::cost::{layer_costs, totals};
use mobilecnn::zoo;
use serde_json::json;

use crate::table::{millions, render};
use crate::{emit, CliResult};

#[derive(clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> CliResult {
    let mut models = Vec::new();
    for &id in zoo::ids() {
        // Costs do not depend on the weights, so any seed will do.
        let graph = zoo::build(id, 0)?;
        let input = graph.shape(graph.input);
        models.push((id, input.h, totals(&layer_costs(&graph))));
    }
    if args.json {
        let list: Vec<_> = models
            .iter()
            .map(|(id, resolution, t)| {
                json!({ "id": id, "resolution": resolution, "macs": t.macs, "params": t.params,
                        "batchnorm_params": t.batchnorm_params, "mac": t.mac })
            })
            .collect();
        emit(&(serde_json::to_string_pretty(&list)? + "\n"))?;
    } else {
        let rows: Vec<Vec<String>> = models
            .iter()
            .map(|(id, resolution, t)| vec![id.to_string(), resolution.to_string(), millions(t.macs), millions(t.params), millions(t.mac)])
            .collect();
        emit(&render(&["id", "resolution", "MACs (M)", "params (M)", "MAC (M)"], &rows))?;
    }
    Ok(())
}
