//! `prefopt eval`: mean reward of a checkpoint's completions under a reward model
//! (`LlamaForSequenceClassification`), and the win rate against a second checkpoint.
//!
//! The reward model scores `prompt ids ++ completion ids` of the policy tokenizer, so it must
//! share the policy's tokenizer (as TRL's reward-model evaluation assumes).

use std::path::PathBuf;

use anyhow::Context;
use burn::prelude::*;
use prefopt_models::{CausalLm, SequenceClassifier};
use serde::Serialize;

use super::generate::{Completion, GenerationArgs, complete, load_tokenizer, write_atomic};
use crate::device::DeviceChoice;

/// Arguments of `prefopt eval`.
#[derive(Debug, Clone, clap::Args)]
pub struct EvalArgs {
    /// The checkpoint to evaluate.
    #[arg(long)]
    pub model: PathBuf,
    /// A second checkpoint to compare against (win rate of `--model` over it).
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Reward model checkpoint (`LlamaForSequenceClassification`, `num_labels = 1`).
    #[arg(long)]
    pub reward_model: PathBuf,
    /// Tokenizer directory (default: the model directory).
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// Prompts JSONL.
    #[arg(long)]
    pub prompts: PathBuf,
    /// Also write the report (JSON) here.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Device: cpu, wgpu[:N], vulkan[:N], metal[:N], cuda[:N].
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
    /// Sampling options (the same for both checkpoints).
    #[command(flatten)]
    pub generation: GenerationArgs,
}

/// What `prefopt eval` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// Number of prompts scored.
    pub num_prompts: usize,
    /// Mean reward of `--model`'s completions.
    pub mean_reward: f64,
    /// Mean reward of `--baseline`'s completions.
    pub baseline_mean_reward: Option<f64>,
    /// Fraction of prompts where `--model`'s reward is higher (ties count ½).
    pub win_rate: Option<f64>,
    /// Prompts with equal rewards.
    pub ties: Option<usize>,
}

fn rewards(
    reward_model: &SequenceClassifier,
    completions: &[Completion],
    batch_size: usize,
    pad_id: u32,
    device: &Device,
) -> anyhow::Result<Vec<f64>> {
    let mut out = Vec::with_capacity(completions.len());
    for chunk in completions.chunks(batch_size.max(1)) {
        let rows: Vec<Vec<u32>> = chunk
            .iter()
            .map(|c| c.prompt_ids.iter().chain(&c.tokens).copied().collect())
            .collect();
        let values = reward_model.rewards_for_rows(&rows, pad_id, device)?;
        out.extend(values);
    }
    Ok(out)
}

/// Runs `prefopt eval` and returns its report.
#[allow(clippy::print_stdout)] // the CLI's output is its product
pub fn run(args: &EvalArgs) -> anyhow::Result<EvalReport> {
    let device = args.device.device()?;
    let tokenizer = load_tokenizer(&args.model, args.tokenizer.as_deref())?;
    let reward_model =
        SequenceClassifier::load_hf(&args.reward_model, &device).with_context(|| {
            format!(
                "cannot load the reward model `{}`",
                args.reward_model.display()
            )
        })?;
    let pad_id = tokenizer
        .pad()
        .or_else(|| tokenizer.eos())
        .map_or(0, |t| t.id);
    let score = |dir: &PathBuf| -> anyhow::Result<Vec<f64>> {
        let model = CausalLm::load_hf(dir, &device)
            .with_context(|| format!("cannot load the model `{}`", dir.display()))?;
        model.check_vocab(tokenizer.vocab_size())?;
        let completions = complete(&model, &tokenizer, &args.prompts, &args.generation)?;
        rewards(
            &reward_model,
            &completions,
            args.generation.batch_size,
            pad_id,
            &device,
        )
    };
    let mine = score(&args.model)?;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let mut report = EvalReport {
        num_prompts: mine.len(),
        mean_reward: mean(&mine),
        baseline_mean_reward: None,
        win_rate: None,
        ties: None,
    };
    if let Some(baseline) = &args.baseline {
        let theirs = score(baseline)?;
        anyhow::ensure!(
            theirs.len() == mine.len(),
            "both checkpoints must complete every prompt"
        );
        let ties = mine.iter().zip(&theirs).filter(|(a, b)| a == b).count();
        let wins = mine.iter().zip(&theirs).filter(|(a, b)| a > b).count();
        report.baseline_mean_reward = Some(mean(&theirs));
        report.win_rate = Some((wins as f64 + 0.5 * ties as f64) / mine.len().max(1) as f64);
        report.ties = Some(ties);
    }
    let text = serde_json::to_string_pretty(&report)? + "\n";
    if let Some(path) = &args.output {
        write_atomic(path, &text)?;
    }
    print!("{text}");
    Ok(report)
}
