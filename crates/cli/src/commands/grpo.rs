//! `prefopt grpo`: online GRPO / Pref-GRPO from a TOML run file.
//!
//! The file's schema is [`prefopt_rl::GrpoFile`] (`[model]`, `[data]`, `[grpo]` with
//! `[grpo.loss]`, `[grpo.sampling]`, `[[grpo.rewards]]`); the run is
//! [`prefopt_rl::run_grpo_file`]. This command adds the built-in `sentiment` reward (the demo
//! task's ground truth) to the rewards a file may name.

use std::path::PathBuf;

use anyhow::Context;
use prefopt_rl::{GrpoFile, RewardRegistry, run_grpo_file};
use prefopt_train::load_table;

use crate::device::DeviceChoice;

/// Arguments of `prefopt grpo`.
#[derive(Debug, Clone, clap::Args)]
pub struct GrpoArgs {
    /// The run config (`[model]`, `[data]`, `[grpo]` with `[grpo.loss]`, `[grpo.sampling]`,
    /// `[[grpo.rewards]]`).
    #[arg(long)]
    pub config: PathBuf,
    /// Override one key, `table.key=value` in TOML syntax (e.g. `--set grpo.max_steps=10`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Device: cpu, wgpu[:N], vulkan[:N], metal[:N], cuda[:N].
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
}

/// What a GRPO run did.
pub use prefopt_rl::GrpoFileReport as GrpoReport;

/// The rewards every `grpo.toml` may name, besides `reward_model`.
fn builtin_rewards() -> RewardRegistry {
    let mut rewards = RewardRegistry::new();
    rewards.register_fn("sentiment", |_prompt, completion| {
        Some(prefopt_tasks::reward(completion))
    });
    rewards
}

/// Runs `prefopt grpo` and returns its report.
#[allow(clippy::print_stdout)] // the CLI's output is its product
pub fn run(args: &GrpoArgs) -> anyhow::Result<GrpoReport> {
    let context = || format!("config `{}`", args.config.display());
    let file = GrpoFile::from_table(load_table(&args.config, &args.set)?).with_context(context)?;
    let device = args.device.device()?;
    let report = run_grpo_file(file, builtin_rewards(), &device).with_context(context)?;
    println!(
        "grpo: {} rollout batches, reward {:.4} -> {:.4}, model saved to {}",
        report.rewards.len(),
        report.rewards.first().copied().unwrap_or(f64::NAN),
        report.rewards.last().copied().unwrap_or(f64::NAN),
        report.output_dir.display()
    );
    Ok(report)
}
