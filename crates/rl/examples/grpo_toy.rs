//! GRPO on a controlled task with a verifiable reward: a tiny random-init Llama (vocab 32,
//! hidden 64, 2 layers) learns to emit the target character `h`; the ground-truth reward is the
//! fraction of `h` in each completion (chance ≈ 1/32).
//!
//! `cargo run --release -p prefopt-rl --example grpo_toy [-- STEPS [OUT_DIR]]`
//!
//! Writes `OUT_DIR/metrics.jsonl` (default `target/grpo_toy`) and one PNG per metric, and prints
//! the reward every 5 steps.

use std::path::PathBuf;

use anyhow::Result;
use burn::prelude::*;
use prefopt_rl::toy::{target_fraction_reward, toy_detokenize, toy_model, toy_prompts};
use prefopt_rl::{GrpoRunConfig, RewardFn, RewardSet, run_grpo};
use prefopt_train::{LrSchedulerType, PlotSize, plot_metrics_file};

#[allow(clippy::print_stdout)]
fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let steps: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(40);
    let out_dir = PathBuf::from(args.next().unwrap_or_else(|| "target/grpo_toy".into()));

    let device = Device::flex().autodiff();
    let policy = toy_model(64, 2, 11, &device)?;
    let mut config = GrpoRunConfig::default();
    config.loss.num_generations = 8;
    config.loss.max_completion_length = 12;
    config.learning_rate = 5e-3;
    config.lr_scheduler_type = LrSchedulerType::Constant;
    config.prompts_per_step = 4;
    config.max_steps = steps;
    config.seed = 7;
    config.output_dir = Some(out_dir.clone());

    let rewards = RewardSet::new(
        vec![Box::new(target_fraction_reward("target_fraction", 'h')) as Box<dyn RewardFn>],
        None,
    )?;
    let start = std::time::Instant::now();
    let out = run_grpo(
        config,
        policy,
        rewards,
        &toy_prompts(32, 1),
        &toy_detokenize,
    )?;
    for (i, m) in out.history.iter().enumerate() {
        if i % 5 == 0 || i + 1 == out.history.len() {
            println!(
                "step {:>3}  reward {:.3}  reward_std {:.3}  mean_length {:.1}  grad_norm {:.3}",
                i + 1,
                m["reward"],
                m["reward_std"],
                m["completions/mean_length"],
                m["grad_norm"]
            );
        }
    }
    let n = out.history.len().min(5);
    let mean = |ms: &[std::collections::BTreeMap<String, f64>]| {
        ms.iter().map(|m| m["reward"]).sum::<f64>() / ms.len() as f64
    };
    println!(
        "mean reward: first {n} steps {:.3}, last {n} steps {:.3}  ({:.1} s)",
        mean(&out.history[..n]),
        mean(&out.history[out.history.len() - n..]),
        start.elapsed().as_secs_f64()
    );
    if let Some(path) = out.metrics_path {
        let pngs = plot_metrics_file(&path, &out_dir, PlotSize::default())?;
        println!("metrics: {} ({} plots)", path.display(), pngs.len());
    }
    Ok(())
}
