//! Writes each zoo network's optimised graph for the ONNX exporter: `<dir>/<id>.json`,
//! `<id>.bin` (all weights, little-endian f32), `<id>.input.bin` and `<id>.output.bin` (the
//! benchmark input and our native output, which the exporter checks onnxruntime against).
//! Usage: export <dir> <zoo-id>...

use std::path::PathBuf;

fn bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: export <dir> <zoo-id>...")?);
    std::fs::create_dir_all(&dir)?;
    for id in args {
        let mut net = mobilecnn_bench::ZooNet::new(&id)?;
        let (json, weights) = mobilecnn_bench::export::export(&net.graph);
        let input = mobilecnn_bench::input(net.plan.input_shape().len());
        let output = net.plan.run(&input)?.to_vec();
        std::fs::write(dir.join(format!("{id}.json")), json)?;
        std::fs::write(dir.join(format!("{id}.bin")), bytes(&weights))?;
        std::fs::write(dir.join(format!("{id}.input.bin")), bytes(&input))?;
        std::fs::write(dir.join(format!("{id}.output.bin")), bytes(&output))?;
        println!("{id}: {} nodes, {} weights, {} MACs", net.graph.nodes.len(), weights.len(), net.macs);
    }
    Ok(())
}
