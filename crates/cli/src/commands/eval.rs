//! `prefopt eval`: mean reward of a checkpoint's completions under a reward model
//! (`LlamaForSequenceClassification`), and the win rate against a second checkpoint.
//!
//! The reward model scores `prompt ids ++ completion ids` of the policy tokenizer, so it must
//! share the policy's tokenizer (as TRL's reward-model evaluation assumes). Scoring and the
//! win rate are `prefopt_rl`'s ([`prefopt_rl::score_completions`],
//! [`prefopt_rl::RewardEvalReport`]).

use std::path::{Path, PathBuf};

use anyhow::Context;
use prefopt_models::{CausalLm, SequenceClassifier};

use super::generate::{GenerationArgs, complete, load_tokenizer};
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
pub use prefopt_rl::RewardEvalReport as EvalReport;

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
    let pad_id = tokenizer.padding_id();
    let score = |dir: &Path| -> anyhow::Result<Vec<f64>> {
        let model = CausalLm::load(dir, &device)
            .with_context(|| format!("cannot load the model `{}`", dir.display()))?;
        model.check_vocab(tokenizer.vocab_size())?;
        let completions = complete(&model, &tokenizer, &args.prompts, &args.generation)?;
        let rows = completions
            .iter()
            .map(|c| (c.prompt_ids.as_slice(), c.tokens.as_slice()));
        Ok(prefopt_rl::score_completions(
            &reward_model,
            rows,
            pad_id,
            args.generation.batch_size,
            &device,
        )?)
    };
    let mine = score(&args.model)?;
    let theirs = args.baseline.as_deref().map(score).transpose()?;
    let report = EvalReport::new(&mine, theirs.as_deref())
        .context("both checkpoints must complete every prompt")?;
    let text = serde_json::to_string_pretty(&report)? + "\n";
    if let Some(path) = &args.output {
        prefopt_core::write_atomic(path, text.as_bytes())?;
    }
    print!("{text}");
    Ok(report)
}
