//! `prefopt align-real`: the real-model alignment run ([`prefopt_tasks::run_real_model`]).

use std::path::PathBuf;

use prefopt_tasks::{RealModelConfig, RealModelReport, run_real_model};

use crate::device::DeviceChoice;

/// `prefopt align-real`: sample K answers per question from a pretrained model (a `.gguf` or
/// an HF checkpoint), score them for a correct, concise answer, train DPO and the LiPO family
/// (LoRA and full), and print reward / win rate / KL on held-out questions (also written to
/// `<out>/results.md`, `results.json`, `reward_kl.png`).
#[derive(Debug, Clone, clap::Args)]
pub struct AlignRealArgs {
    /// The base model: a `.gguf` file (e.g. the one `cargo xtask fetch-models` caches) or an
    /// HF checkpoint directory; overrides the config's `model`.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Output directory (pairs, lists, models, results).
    #[arg(long, default_value = "real_model_out")]
    pub out: PathBuf,
    /// TOML configuration (`RealModelConfig`); missing keys take the defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Seed (overrides the config's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Device: cpu, wgpu[:N], vulkan[:N], metal[:N], cuda[:N].
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
}

/// Runs `prefopt align-real` as `args` say and prints the result table to stdout.
pub fn run(args: &AlignRealArgs) -> anyhow::Result<RealModelReport> {
    let device = args.device.device()?;
    let config = RealModelConfig::load(args.config.as_deref(), args.model.as_deref(), args.seed)?;
    if config.model.as_os_str().is_empty() {
        anyhow::bail!(
            "no model: pass --model (e.g. ~/.cache/prefopt/models/SmolLM2-135M-Instruct.Q4_1.gguf \
             after `cargo xtask fetch-models`) or set `model` in the config"
        );
    }
    let report = run_real_model(&config, &args.out, &device)?;
    super::demo::print_results(&report.table, &args.out, report.total_seconds);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: AlignRealArgs,
    }

    #[test]
    fn parses_and_requires_a_model() {
        let cli = Cli::try_parse_from(["x", "--model", "m.gguf", "--seed", "3"]).unwrap();
        assert_eq!(cli.args.model, Some(PathBuf::from("m.gguf")));
        assert_eq!(cli.args.out, PathBuf::from("real_model_out"));
        let cli = Cli::try_parse_from(["x"]).unwrap();
        let err = run(&cli.args).unwrap_err();
        assert!(err.to_string().contains("--model"), "{err}");
        let cli = Cli::try_parse_from(["x", "--model", "/nonexistent/m.gguf"]).unwrap();
        let err = run(&cli.args).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }
}
