//! `t2i_grpo.toml`: the base pipeline, the prompts, `[training]`, `[grpo]` and
//! `[[rewards]]`.

use std::path::{Path, PathBuf};

use prefopt_rl::FlowGrpoConfig;
use prefopt_train::{LrSchedulerType, TrainerConfig, load_table};
use serde::{Deserialize, Serialize};

use super::rewards::ShapesRewardSpec;
use crate::config_relative::beside_config;
use crate::{Result, TaskError};

/// `[prompts]`: training captions (train split) and the held-out evaluation suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpoPromptSection {
    /// Distinct training-split captions drawn from the world.
    pub train_prompts: usize,
    /// Seed of that draw.
    pub train_seed: u64,
    /// Held-out prompts of the evaluation suite (mini UniGenBench); 0 = no evaluation.
    pub eval_prompts: usize,
    /// Seed of the suite and of the evaluation noise.
    pub eval_seed: u64,
    /// Images per evaluation prompt.
    pub eval_images_per_prompt: usize,
    /// Euler steps of the evaluation sampler.
    pub eval_sampling_steps: usize,
}

impl Default for GrpoPromptSection {
    fn default() -> Self {
        Self {
            train_prompts: 256,
            train_seed: 0,
            eval_prompts: 32,
            eval_seed: 1,
            eval_images_per_prompt: 2,
            eval_sampling_steps: 20,
        }
    }
}

/// A whole `prefopt t2i grpo` config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShapesGrpoConfig {
    /// The base pipeline (a `prefopt t2i train` output directory, with its `world.json`).
    pub base_model: PathBuf,
    /// `[prompts]`.
    pub prompts: GrpoPromptSection,
    /// `[training]`: HF names; defaults are Pref-GRPO's optimizer (AdamW lr 1e-5 constant,
    /// weight decay 1e-4, grad clip 1.0, `gradient_accumulation_steps` = 4 images per update).
    pub training: TrainerConfig,
    /// `[grpo]`: see [`FlowGrpoConfig`].
    pub grpo: FlowGrpoConfig,
    /// `[[rewards]]`: each group-normalised, mixed by weight.
    pub rewards: Vec<ShapesRewardSpec>,
}

impl Default for ShapesGrpoConfig {
    fn default() -> Self {
        Self {
            base_model: "t2i_base".into(),
            prompts: GrpoPromptSection::default(),
            training: TrainerConfig {
                output_dir: "t2i_grpo".into(),
                learning_rate: 1e-5,
                lr_scheduler_type: LrSchedulerType::Constant,
                max_steps: 100,
                gradient_accumulation_steps: 4,
                weight_decay: 1e-4,
                max_grad_norm: 1.0,
                logging_steps: 1,
                save_steps: 10,
                save_total_limit: Some(2),
                eval_steps: Some(10),
                seed: 0,
                ..TrainerConfig::default()
            },
            grpo: FlowGrpoConfig::default(),
            rewards: vec![ShapesRewardSpec::default()],
        }
    }
}

/// Overlays `top` on `base`: tables merge key by key, anything else replaces.
fn merge(base: &mut toml::Value, top: toml::Value) {
    match (base, top) {
        (toml::Value::Table(b), toml::Value::Table(t)) => {
            for (k, v) in t {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

fn bad(path: &Path, message: impl std::fmt::Display) -> TaskError {
    TaskError::InvalidInput(format!("{}: {message}", path.display()))
}

impl ShapesGrpoConfig {
    /// Reads `path` (TOML; missing keys take the defaults, unknown keys are errors naming
    /// them), applies `overrides` (`section.key=value`) and checks it. A relative
    /// `base_model` is taken relative to the file's directory.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        let table = load_table(path, overrides)?;
        // Keys the file leaves out keep this config's defaults (Pref-GRPO's optimizer), also
        // inside a table the file does give, e.g. `[training]` with only `output_dir`.
        let mut merged = toml::Value::try_from(Self::default()).map_err(|e| bad(path, e))?;
        merge(&mut merged, toml::Value::Table(table));
        let mut config: Self = merged.try_into().map_err(|e| bad(path, e))?;
        config.base_model = beside_config(&config.base_model, path.parent());
        if let Some(dir) = path.parent() {
            config.rewards = config
                .rewards
                .into_iter()
                .map(|r| r.resolved(dir))
                .collect();
        }
        config.validate().map_err(|e| bad(path, e))?;
        Ok(config)
    }

    /// Checks the values (each error names its key).
    pub fn validate(&self) -> Result<()> {
        self.training.validate()?;
        self.grpo.validate()?;
        if self.training.max_steps <= 0 {
            return Err(TaskError::InvalidInput(
                "training.max_steps must be set (> 0): the prompts are endless".into(),
            ));
        }
        if self.prompts.train_prompts == 0 {
            return Err(TaskError::InvalidInput(
                "prompts.train_prompts must be at least 1".into(),
            ));
        }
        if self.prompts.eval_prompts > 0
            && (self.prompts.eval_images_per_prompt == 0 || self.prompts.eval_sampling_steps == 0)
        {
            return Err(TaskError::InvalidInput(
                "prompts.eval_images_per_prompt and prompts.eval_sampling_steps must be at least 1"
                    .into(),
            ));
        }
        if self.rewards.is_empty() {
            return Err(TaskError::InvalidInput(
                "rewards: at least one [[rewards]] entry is needed".into(),
            ));
        }
        for (i, r) in self.rewards.iter().enumerate() {
            r.check().map_err(|e| {
                TaskError::InvalidInput(format!("[[rewards]] entry {}: {e}", i + 1))
            })?;
        }
        if self.rewards.iter().all(|r| r.weight == 0.0) {
            return Err(TaskError::InvalidInput(
                "rewards: every entry has weight 0: nothing to train on".into(),
            ));
        }
        Ok(())
    }
}
