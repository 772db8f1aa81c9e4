//! `mobilecnn`: the command-line front end. Each subcommand lives in its own module file.
//! Native only: its dependencies (clap, serde_json) are not built for wasm32, where this binary
//! is empty so that `cargo build/test --target wasm32-unknown-unknown` still succeed.
#![cfg_attr(target_arch = "wasm32", no_main)]
#![cfg(not(target_arch = "wasm32"))]

mod catalogue;
mod classify;
mod eval;
mod info;
mod table;
mod zoo;

use std::io::{ErrorKind, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "mobilecnn", version, about = "Mobile CNN image classifiers (MobileNet V1/V2, ShuffleNet V1/V2)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the model zoo with each model's multiply-adds, parameters and memory access cost.
    Zoo(zoo::Args),
    /// Per-layer cost of a zoo model (any id the zoo parses, e.g. mobilenet_v1_0.35_96), a model file or a catalogue id.
    Info(info::Args),
    /// The top classes of photos with a real model (a file or a catalogue id).
    Classify(classify::Args),
    /// Top-1 / top-5 accuracy on a folder of photos named <wnid>_*.JPEG.
    Eval(eval::Args),
}

type CliResult = Result<(), Box<dyn std::error::Error>>;

/// Write to stdout, returning (not panicking on) errors such as a closed pipe.
fn emit(text: &str) -> CliResult {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Zoo(args) => zoo::run(args),
        Command::Info(args) => info::run(args),
        Command::Classify(args) => classify::run(args),
        Command::Eval(args) => eval::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `mobilecnn info .. | head` closing the pipe early is not a failure.
        Err(e) if e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == ErrorKind::BrokenPipe) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
