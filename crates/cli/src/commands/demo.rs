//! `prefopt demo`: the controlled sentiment demo ([`prefopt_tasks::run_demo`]).

use std::path::{Path, PathBuf};

use prefopt_tasks::{DemoConfig, DemoReport, run_demo};

use crate::device::DeviceChoice;

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
    /// Device: cpu, wgpu[:N], vulkan[:N], metal[:N], cuda[:N].
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
}

/// Runs `prefopt demo` as `args` say and prints the result table to stdout.
pub fn run(args: &DemoArgs) -> anyhow::Result<DemoReport> {
    let device = args.device.device()?;
    let config = DemoConfig::load(args.config.as_deref(), args.seed)?;
    let report = run_demo(&config, &args.out, &device)?;
    print_results(&report.table, &args.out, report.total_seconds);
    Ok(report)
}

/// The output of `prefopt demo` and `prefopt personalization-study`: the result table, then
/// where `results.md` went and how long the run took.
#[allow(clippy::print_stdout)] // the command's output is its product
pub(super) fn print_results(table: &str, out: &Path, seconds: f64) {
    println!("{table}");
    println!(
        "wrote {} ({seconds:.0} s)",
        out.join("results.md").display()
    );
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
        assert_eq!(cli.demo.device, DeviceChoice::Cpu);
        let config = DemoConfig::load(cli.demo.config.as_deref(), cli.demo.seed).unwrap();
        assert_eq!(config.seed, 3);
        assert_eq!(config.dpo, DemoConfig::default().dpo);
        let cli = Cli::try_parse_from(["demo"]).unwrap();
        assert_eq!(cli.demo.out, PathBuf::from("demo_out"));
        assert_eq!(
            DemoConfig::load(cli.demo.config.as_deref(), cli.demo.seed)
                .unwrap()
                .seed,
            DemoConfig::default().seed
        );
        assert!(Cli::try_parse_from(["demo", "--device", "tpu"]).is_err());
    }
}
