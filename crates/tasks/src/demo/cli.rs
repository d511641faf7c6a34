//! `prefopt demo`: the controlled sentiment demo from the command line, ready for the
//! `prefopt` binary:
//!
//! ```text
//! Command::Demo(args) => {
//!     let device = args.device.parse::<DeviceChoice>()?.device()?;
//!     Ok(prefopt_tasks::run_cli(args, device)?)
//! }
//! ```

use std::path::PathBuf;

use burn::prelude::Device;

use crate::error::Result;

use super::config::DemoConfig;
use super::pipeline::run_demo;

/// `prefopt demo`: generate a corpus, SFT a tiny Llama from scratch, sample K completions per
/// prompt, label them with the ground-truth reward, align with DPO and LiPO-λ, and print the
/// reward / KL table (also written to `<out>/results.md`, `results.json`, `reward_kl.png`).
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Output directory (data, models, results).
    #[arg(long, default_value = "demo_out")]
    pub out: PathBuf,
    /// TOML configuration (`DemoConfig`); missing keys take the defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Seed of everything random (overrides the config's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Device: cpu, wgpu[:N], vulkan[:N], metal[:N], cuda[:N] (turned into a burn `Device`
    /// by the `prefopt` binary, which knows which backends it was built with).
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

impl DemoArgs {
    /// The configuration these arguments describe.
    pub fn demo_config(&self) -> Result<DemoConfig> {
        let mut config = match &self.config {
            Some(path) => DemoConfig::from_toml_file(path)?,
            None => DemoConfig::default(),
        };
        if let Some(seed) = self.seed {
            config.seed = seed;
        }
        config.validate()?;
        Ok(config)
    }
}

/// Runs `prefopt demo` on `device` and prints the result table to stdout.
#[allow(clippy::print_stdout)] // the command's output is its product
pub fn run_cli(args: DemoArgs, device: Device) -> Result<()> {
    let config = args.demo_config()?;
    let report = run_demo(&config, &args.out, &device)?;
    println!("{}", report.table);
    println!(
        "wrote {} ({:.0} s)",
        args.out.join("results.md").display(),
        report.total_seconds
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        demo: DemoArgs,
    }

    #[test]
    fn parses_and_overrides_the_seed() {
        let cli = Cli::try_parse_from(["demo", "--out", "x", "--seed", "3"]).unwrap();
        assert_eq!(cli.demo.out, PathBuf::from("x"));
        assert_eq!(cli.demo.device, "cpu");
        let config = cli.demo.demo_config().unwrap();
        assert_eq!(config.seed, 3);
        assert_eq!(config.dpo, DemoConfig::default().dpo);
        let cli = Cli::try_parse_from(["demo"]).unwrap();
        assert_eq!(cli.demo.out, PathBuf::from("demo_out"));
        assert_eq!(
            cli.demo.demo_config().unwrap().seed,
            DemoConfig::default().seed
        );
    }
}
