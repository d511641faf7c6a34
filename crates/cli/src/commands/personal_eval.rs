//! `prefopt personal-eval`: held-out generation + ROUGE / BLEU of any checkpoint, with the
//! `[personalization]` settings of a run config.

use std::path::PathBuf;

use anyhow::Context;
use prefopt_models::CausalLm;
use prefopt_train::{
    PersonalEvalOptions, PersonalEvalReport, PromptView, evaluate_and_write, load_test_split,
    load_tokenizer,
};

use crate::device::DeviceChoice;
use prefopt_train::load_run_config;

/// Arguments of `prefopt personal-eval`.
#[derive(Debug, Clone, clap::Args)]
pub struct PersonalEvalArgs {
    /// The run config whose `[personalization]` table (layout, meta, test, prompt) is used.
    #[arg(long)]
    pub config: PathBuf,
    /// Override one key, `table.key=value` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// The checkpoint to evaluate (HF directory with tokenizer files); default `model.path`.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Prompt view: `history` or `null`; default the view of `personalization.method`.
    #[arg(long, value_parser = parse_view)]
    pub view: Option<PromptView>,
    /// Where `personalization_eval.json` and `generations_test.jsonl` go; default the model
    /// directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Device: cpu, wgpu[:N], vulkan[:N], metal[:N], cuda[:N].
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
}

fn parse_view(s: &str) -> Result<PromptView, String> {
    match s {
        "history" => Ok(PromptView::History),
        "null" => Ok(PromptView::Null),
        other => Err(format!("expected `history` or `null`, got `{other}`")),
    }
}

/// Runs the evaluation and prints the scores.
#[allow(clippy::print_stdout)] // the CLI's output is its product
pub fn run(args: &PersonalEvalArgs) -> anyhow::Result<PersonalEvalReport> {
    let config = load_run_config(&args.config, &args.set)?;
    config.personalization.validate()?;
    let model_dir = args.model.clone().unwrap_or(config.model.path.clone());
    let tokenizer = load_tokenizer(&model_dir, config.model.chat_template.as_deref())?;
    // Evaluating writes nothing into `training.output_dir`: the tokenized test set is cached
    // only where `data.cache_dir` says.
    let test = load_test_split(&config, &tokenizer, config.data.cache_dir.as_deref())?
        .context("`personalization.test` is not set: nothing to evaluate")?;
    let device = args.device.device()?;
    let model = CausalLm::load(&model_dir, &device)
        .with_context(|| format!("loading {}", model_dir.display()))?;
    let mut options = PersonalEvalOptions::from_section(&config.personalization);
    if let Some(view) = args.view {
        options.view = view;
    }
    let out = args.out.clone().unwrap_or(model_dir.clone());
    let report = evaluate_and_write(
        &model,
        &tokenizer,
        &test,
        &options,
        config.personalization.method.as_str(),
        &out,
    )?;
    println!(
        "{} examples ({:?} prompts): ROUGE-1 {:.4}, ROUGE-2 {:.4}, ROUGE-L {:.4}, BLEU {:.2}; written to {}",
        report.examples,
        report.view,
        report.rouge1,
        report.rouge2,
        report.rouge_l,
        report.bleu,
        out.display()
    );
    Ok(report)
}
