//! `prefopt grpo`: online GRPO / Pref-GRPO from a TOML run file, and `prefopt toy-world`: the
//! toy task's policy and prompts for it.
//!
//! The file's schema is [`prefopt_rl::GrpoFile`] (`[model]`, `[data]`, `[grpo]` with
//! `[grpo.loss]`, `[grpo.sampling]`, `[[grpo.rewards]]`, and an optional `[lora]`); the run is
//! [`prefopt_rl::run_grpo_file`]. This command adds the built-in `sentiment` reward (the demo
//! task's ground truth) and the toy task's rewards and comparators
//! ([`prefopt_rl::toy::register_toy_rewards`]) to the names a file may use.

use std::path::PathBuf;

use anyhow::Context;
use prefopt_rl::toy::{ToyWorld, register_toy_rewards, write_toy_world};
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
    /// Continue from the newest `checkpoint-<step>/` in `[model] output_dir`.
    #[arg(long)]
    pub resume: bool,
    /// Device: cpu, wgpu[:N], vulkan[:N], metal[:N], cuda[:N].
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
}

/// What a GRPO run did.
pub use prefopt_rl::GrpoFileReport as GrpoReport;

/// The rewards and comparators every `grpo.toml` may name, besides `reward_model`.
fn builtin_rewards() -> RewardRegistry {
    let mut rewards = RewardRegistry::new();
    rewards.register_fn("sentiment", |_prompt, completion| {
        Some(prefopt_tasks::reward(completion))
    });
    register_toy_rewards(&mut rewards);
    rewards
}

/// Runs `prefopt grpo` and returns its report.
#[allow(clippy::print_stdout)] // the CLI's output is its product
pub fn run(args: &GrpoArgs) -> anyhow::Result<GrpoReport> {
    let context = || format!("config `{}`", args.config.display());
    let file = GrpoFile::from_table(load_table(&args.config, &args.set)?).with_context(context)?;
    let device = args.device.device()?;
    let report =
        run_grpo_file(file, builtin_rewards(), &device, args.resume).with_context(context)?;
    let shown = |r: Option<&f64>| r.map_or_else(|| "-".to_owned(), |r| format!("{r:.4}"));
    println!(
        "grpo: {} rollout batches{}, reward {} -> {}, model saved to {}",
        report.rewards.len(),
        report
            .resumed_from
            .as_ref()
            .map_or_else(String::new, |dir| format!(
                " (resumed from {})",
                dir.display()
            )),
        shown(report.rewards.first()),
        shown(report.rewards.last()),
        report.output_dir.display()
    );
    Ok(report)
}

/// Arguments of `prefopt toy-world`.
#[derive(Debug, Clone, clap::Args)]
pub struct ToyWorldArgs {
    /// Output directory: `model/` (HF layout, one token per character) and `prompts.jsonl`.
    #[arg(long)]
    pub out: PathBuf,
    /// Width of the random-init policy (a multiple of 8).
    #[arg(long, default_value_t = ToyWorld::default().hidden)]
    pub hidden: usize,
    /// Layers of the policy.
    #[arg(long, default_value_t = ToyWorld::default().layers)]
    pub layers: usize,
    /// Seed of the initial weights.
    #[arg(long, default_value_t = ToyWorld::default().model_seed)]
    pub seed: u64,
    /// Number of prompts.
    #[arg(long, default_value_t = ToyWorld::default().prompts)]
    pub prompts: usize,
    /// Seed of the prompts.
    #[arg(long, default_value_t = ToyWorld::default().prompt_seed)]
    pub prompt_seed: u64,
}

/// Runs `prefopt toy-world`: writes the toy policy and prompts.
#[allow(clippy::print_stdout)] // the CLI's output is its product
pub fn run_toy_world(args: &ToyWorldArgs) -> anyhow::Result<()> {
    let world = ToyWorld {
        hidden: args.hidden,
        layers: args.layers,
        model_seed: args.seed,
        prompts: args.prompts,
        prompt_seed: args.prompt_seed,
    };
    let files = write_toy_world(&args.out, &world)?;
    println!(
        "toy world: policy {} ({} prompts in {})",
        files.model_dir.display(),
        args.prompts,
        files.prompts.display()
    );
    Ok(())
}
