//! `gen-schemas <proto> <out-dir>`: writes `<out-dir>/onnx.rs` (prost messages of the ONNX schema, package `onnx`).

use std::env;

fn main() {
    let args: Vec<String> = env::args().collect();
    let [_, proto, out_dir] = &args[..] else {
        eprintln!("usage: gen-schemas <onnx.proto> <out-dir>");
        std::process::exit(2);
    };
    let dir = std::path::Path::new(proto).parent().expect("proto path has a folder");
    let fds = protox::compile([proto], [dir]).unwrap_or_else(|e| panic!("{e:?}"));
    prost_build::Config::new()
        .out_dir(out_dir)
        // Tensor payloads as plain Vec<u8>; no bytes::Bytes needed at run time.
        .compile_fds(fds)
        .unwrap_or_else(|e| panic!("{e}"));
}
