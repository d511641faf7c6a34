//! The controlled sentiment demo, before (and besides) `prefopt demo`:
//!
//! ```text
//! cargo run --release -p prefopt-tasks --example demo -- --out demo_out [--config demo.toml] [--seed 7]
//! ```
//!
//! Logs go to stderr (`RUST_LOG=info` by default), the table to stdout.

use burn::prelude::Device;
use clap::Parser;
use prefopt_tasks::DemoArgs;

#[derive(Debug, Parser)]
#[command(about = "prefopt's controlled sentiment demo: SFT, DPO, LiPO-λ and best-of-K")]
struct Cli {
    #[command(flatten)]
    demo: DemoArgs,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    anyhow::ensure!(
        matches!(cli.demo.device.as_str(), "cpu" | "flex"),
        "this example runs on the CPU; `prefopt demo --device ...` picks other devices"
    );
    prefopt_tasks::run_cli(cli.demo, Device::flex())?;
    Ok(())
}
