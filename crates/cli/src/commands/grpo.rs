//! `prefopt grpo`: online GRPO / Pref-GRPO from a TOML run config.
//!
//! ```toml
//! [model]
//! path = "runs/sft"              # HF checkpoint of the initial policy (+ tokenizer files)
//! output_dir = "runs/grpo"       # the trained policy (HF layout) and metrics.jsonl
//! reward_model = "runs/rm"       # optional: a sequence-classifier checkpoint for `reward_model`
//!
//! [data]
//! prompts = "prompts.jsonl"      # TRL prompt-only JSONL (`prompt`)
//!
//! [grpo]                         # prefopt_rl::GrpoRunConfig (TRL GRPOConfig names)
//! learning_rate = 1e-5
//! max_steps = 50
//! [grpo.loss]
//! num_generations = 8
//! [[grpo.rewards]]
//! name = "sentiment"             # built-ins: sentiment, reward_model
//! ```

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, bail};
use burn::prelude::*;
use prefopt_data::{DatasetOptions, ReadOptions, Tokenizer, load_prompt_dataset};
use prefopt_models::{CausalLm, SequenceClassifier};
use prefopt_rl::{
    FnReward, GrpoRunConfig, RewardFn, RewardRegistry, run_grpo, tokenizer_detokenizer,
};
use serde::Deserialize;

use crate::device::DeviceChoice;
use crate::run_config_file::load_table;

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrpoFile {
    model: ModelTable,
    data: DataTable,
    #[serde(default)]
    grpo: GrpoRunConfig,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelTable {
    path: PathBuf,
    output_dir: PathBuf,
    #[serde(default)]
    tokenizer: Option<PathBuf>,
    #[serde(default)]
    chat_template: Option<String>,
    #[serde(default)]
    reward_model: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DataTable {
    prompts: PathBuf,
    #[serde(default)]
    skip_bad_rows: bool,
}

/// What a GRPO run did.
#[derive(Debug)]
pub struct GrpoReport {
    /// Mean total reward of each rollout batch, in order.
    pub rewards: Vec<f64>,
    /// Where the trained policy was saved.
    pub output_dir: PathBuf,
}

fn load_file(path: &Path, overrides: &[String]) -> anyhow::Result<GrpoFile> {
    toml::Value::Table(load_table(path, overrides)?)
        .try_into()
        .with_context(|| format!("config `{}`", path.display()))
}

/// A reward model scoring `prompt + completion` text with its own tokenizer, in one batch.
struct RewardModelReward {
    model: Mutex<SequenceClassifier>,
    tokenizer: Tokenizer,
    device: Device,
}

impl RewardModelReward {
    fn load(dir: &Path, device: &Device) -> anyhow::Result<Self> {
        let model = SequenceClassifier::load_hf(dir, device)
            .with_context(|| format!("loading the reward model `{}`", dir.display()))?;
        let tokenizer = Tokenizer::from_dir(dir).with_context(|| {
            format!(
                "loading the reward model's tokenizer from `{}`",
                dir.display()
            )
        })?;
        Ok(Self {
            model: Mutex::new(model),
            tokenizer,
            device: device.clone(),
        })
    }
}

impl RewardFn for RewardModelReward {
    fn name(&self) -> &str {
        "reward_model"
    }

    fn score(
        &self,
        prompts: &[&str],
        completions: &[&str],
    ) -> prefopt_rl::Result<Vec<Option<f64>>> {
        let fail = |what: String| prefopt_rl::Error::InvalidInput(format!("reward model: {what}"));
        let rows = prompts
            .iter()
            .zip(completions)
            .map(|(p, c)| self.tokenizer.encode(&format!("{p}{c}"), true))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(e.to_string()))?;
        let pad = self.tokenizer.pad().map_or(0, |t| t.id);
        let model = self
            .model
            .lock()
            .map_err(|_| fail("lock poisoned".into()))?;
        let values = model
            .rewards_for_rows(&rows, pad, &self.device)
            .map_err(|e| fail(e.to_string()))?;
        Ok(values.into_iter().map(Some).collect())
    }
}

fn registry(model: &ModelTable, device: &Device) -> anyhow::Result<RewardRegistry> {
    let mut registry = RewardRegistry::new();
    registry.register("sentiment", || {
        Ok(Box::new(FnReward::new(
            "sentiment",
            |_prompt: &str, completion: &str| Some(prefopt_tasks::reward(completion)),
        )) as Box<dyn RewardFn>)
    });
    if let Some(dir) = &model.reward_model {
        let loaded: Box<dyn RewardFn> = Box::new(RewardModelReward::load(dir, device)?);
        let built = Mutex::new(Some(loaded));
        registry.register("reward_model", move || {
            built
                .lock()
                .ok()
                .and_then(|mut b| b.take())
                .ok_or_else(|| prefopt_rl::Error::InvalidInput("reward_model listed twice".into()))
        });
    }
    Ok(registry)
}

/// Runs `prefopt grpo` and returns its report.
#[allow(clippy::print_stdout)] // the CLI's output is its product
pub fn run(args: &GrpoArgs) -> anyhow::Result<GrpoReport> {
    let file = load_file(&args.config, &args.set)?;
    if file.grpo.rewards.is_empty() {
        bail!(
            "config `{}`: [[grpo.rewards]] is empty; built-in rewards: sentiment{}",
            args.config.display(),
            if file.model.reward_model.is_some() {
                ", reward_model"
            } else {
                ""
            }
        );
    }
    let device = args.device.device()?;
    let tokenizer_dir = file.model.tokenizer.as_deref().unwrap_or(&file.model.path);
    let tokenizer =
        prefopt_train::load_tokenizer(tokenizer_dir, file.model.chat_template.as_deref())?;
    let options = DatasetOptions {
        read: ReadOptions {
            skip_bad_rows: file.data.skip_bad_rows,
        },
        ..DatasetOptions::default()
    };
    let prompts = load_prompt_dataset(&file.data.prompts, &tokenizer, &options, None)
        .with_context(|| format!("prompts `{}`", file.data.prompts.display()))?;
    let prompt_ids: Vec<Vec<u32>> = prompts
        .examples
        .iter()
        .map(|p| p.prompt_ids.clone())
        .collect();
    let rewards = registry(&file.model, &device)?.build(&file.grpo.rewards)?;
    let policy = CausalLm::load_hf(&file.model.path, &device.clone().autodiff())
        .with_context(|| format!("loading the policy `{}`", file.model.path.display()))?;
    policy.check_vocab(tokenizer.vocab_size())?;
    let mut config = file.grpo;
    config.output_dir = Some(file.model.output_dir.clone());
    let detokenize = tokenizer_detokenizer(&tokenizer);
    let out = run_grpo(config, policy, rewards, &prompt_ids, &detokenize)?;
    out.policy
        .save_hf(&file.model.output_dir)
        .with_context(|| format!("saving to `{}`", file.model.output_dir.display()))?;
    prefopt_train::copy_tokenizer_files(tokenizer_dir, &file.model.output_dir)?;
    let rewards: Vec<f64> = out
        .history
        .iter()
        .filter_map(|m| m.get("reward").copied())
        .collect();
    println!(
        "grpo: {} rollout batches, reward {:.4} -> {:.4}, model saved to {}",
        rewards.len(),
        rewards.first().copied().unwrap_or(f64::NAN),
        rewards.last().copied().unwrap_or(f64::NAN),
        file.model.output_dir.display()
    );
    Ok(GrpoReport {
        rewards,
        output_dir: file.model.output_dir,
    })
}
