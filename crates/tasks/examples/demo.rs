//! The controlled sentiment demo, before (and besides) `prefopt demo`:
//!
//! ```text
//! cargo run --release -p prefopt-tasks --example demo -- --out demo_out [--config demo.toml] [--seed 7]
//! ```
//!
//! Runs on the CPU (`prefopt demo --device ...` picks other devices). Logs go to stderr
//! (`RUST_LOG=info` by default), the table to stdout.

use std::path::PathBuf;

use anyhow::{Context, bail};
use burn::prelude::Device;
use prefopt_tasks::{DemoConfig, run_demo};

/// `--out DIR`, `--config FILE`, `--seed N`: the few flags of `prefopt demo` this example takes.
#[derive(Debug)]
struct Args {
    out: PathBuf,
    config: Option<PathBuf>,
    seed: Option<u64>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> anyhow::Result<Args> {
    let mut parsed = Args {
        out: PathBuf::from("demo_out"),
        config: None,
        seed: None,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--out" => parsed.out = value()?.into(),
            "--config" => parsed.config = Some(value()?.into()),
            "--seed" => parsed.seed = Some(value()?.parse().context("--seed")?),
            other => bail!("unknown argument `{other}`: expected --out, --config or --seed"),
        }
    }
    Ok(parsed)
}

#[allow(clippy::print_stdout)] // the table is the example's output
fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = parse_args(std::env::args().skip(1))?;
    let config = DemoConfig::load(args.config.as_deref(), args.seed)?;
    let report = run_demo(&config, &args.out, &Device::flex())?;
    println!("{}", report.table);
    println!(
        "wrote {} ({:.0} s)",
        args.out.join("results.md").display(),
        report.total_seconds
    );
    Ok(())
}
