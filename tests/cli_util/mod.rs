//! Runs the `mobilecnn` binary as a user would; shared by the CLI tests.
#![allow(dead_code)]

use std::process::{Command, Output};

pub fn mobilecnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mobilecnn")).args(args).output().expect("the binary runs")
}

/// Stdout of a run that must succeed.
pub fn stdout(args: &[&str]) -> String {
    let out = mobilecnn(args);
    assert!(out.status.success(), "mobilecnn {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}
