//! `cargo xtask kill9 --runs N [--debug]`: builds the `prefopt` binary (release unless
//! `--debug`), then runs the ignored kill -9 tests of `crates/fuzz/tests/kill9.rs` against it:
//! `prefopt dpo`, `prefopt grpo`, `prefopt t2i train` and `prefopt bench unigenbench judge`, each
//! SIGKILLed at random moments and resumed N times, compared with an uninterrupted run.

use anyhow::{Context, Result};

use crate::fuzz::flag_value;
use crate::{cargo, run};

pub fn kill9(flags: &[String]) -> Result<()> {
    let runs: usize = flag_value(flags, "--runs")?
        .unwrap_or("10")
        .parse()
        .context("--runs: a count")?;
    let debug = flags.iter().any(|f| f == "--debug");
    let mut build = cargo();
    build.args(["build", "-p", "prefopt-cli", "--locked"]);
    if !debug {
        build.arg("--release");
    }
    run("build prefopt", &mut build)?;
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => std::env::current_dir()?.join("target"),
    };
    let bin = target
        .join(if debug { "debug" } else { "release" })
        .join("prefopt");
    run(
        "kill -9 runs",
        cargo()
            .args([
                "test",
                "-p",
                "prefopt-fuzz",
                "--test",
                "kill9",
                "--locked",
                "--",
            ])
            .args(["--ignored", "--nocapture", "--test-threads=1"])
            .env("PREFOPT_BIN", &bin)
            .env("PREFOPT_KILL9_RUNS", runs.to_string()),
    )
}
