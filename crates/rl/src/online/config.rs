//! The GRPO run settings (`[grpo]` of a run file): TRL's `GRPOConfig` names, validated once.

use std::path::PathBuf;

use prefopt_train::{AdamW, AdamWConfig, LrSchedule, LrSchedulerKwargs, LrSchedulerType};
use serde::{Deserialize, Serialize};

use crate::advantage::AdvantageEstimator;
use crate::error::Result;
use crate::grpo_loss::{GrpoLoss, GrpoLossConfig};
use crate::rollout::RolloutConfig;
use crate::sampling::SamplingConfig;
use prefopt_core::invalid;

use super::reward_spec::{RewardSpec, check_rewards};

/// The settings of a GRPO run (the `[grpo]` table of `prefopt grpo`'s file,
/// [`GrpoFile`](super::GrpoFile)). Names follow TRL's `GRPOConfig`; the loss and advantage
/// knobs sit in `[loss]`, the sampler's in `[sampling]`, the rewards in `[[rewards]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrpoRunConfig {
    /// Loss, advantage, G and `max_completion_length` (TRL names).
    pub loss: GrpoLossConfig,
    /// How completions are sampled.
    pub sampling: SamplingConfig,
    /// The rewards (`[[rewards]]`): pointwise functions by registry name, or win rates from a
    /// judge, each with a weight. `loss.reward_weights` must then be unset.
    pub rewards: Vec<RewardSpec>,
    /// Peak learning rate (TRL default 1e-6).
    pub learning_rate: f64,
    /// LR schedule over the optimizer steps (default `linear`, as HF).
    pub lr_scheduler_type: LrSchedulerType,
    /// Linear warm-up steps (optimizer steps).
    pub warmup_steps: u64,
    /// AdamW knobs (here weight decay defaults to 0, HF `TrainingArguments`' default).
    pub adam: AdamWConfig,
    /// Global gradient-norm clip (TRL default 1.0).
    pub max_grad_norm: f64,
    /// μ: optimisation passes per rollout batch (TRL default 1).
    pub num_iterations: usize,
    /// Prompts per rollout batch (the batch holds `prompts_per_step × num_generations`
    /// completions).
    pub prompts_per_step: usize,
    /// Rollout batches to run; the optimizer takes `max_steps × num_iterations` steps.
    pub max_steps: u64,
    /// Seed of the prompt order and of the sampler (step `s` samples with `seed + s`).
    pub seed: u64,
    /// Where `metrics.jsonl` and the checkpoints are written (`None` = not written).
    pub output_dir: Option<PathBuf>,
    /// Write `output_dir/checkpoint-<step>/` (policy in HF layout, or the PEFT adapter of a
    /// LoRA policy; AdamW state, trainer state with the prompt cursor) after every `save_steps`
    /// rollout batches (HF default 500; 0 = never). `<step>` counts optimizer steps, as `step`
    /// in `metrics.jsonl`.
    pub save_steps: u64,
    /// Keep only the newest `save_total_limit` checkpoints (`None` = all, HF default).
    pub save_total_limit: Option<usize>,
    /// A non-finite loss or gradient skips that optimizer step (logged, counted in
    /// `skipped/nonfinite`); this many skipped steps in a row stop the run (default 5).
    pub max_consecutive_nonfinite_steps: u64,
}

impl Default for GrpoRunConfig {
    fn default() -> Self {
        Self {
            loss: GrpoLossConfig::default(),
            sampling: SamplingConfig::default(),
            rewards: Vec::new(),
            learning_rate: 1e-6,
            lr_scheduler_type: LrSchedulerType::Linear,
            warmup_steps: 0,
            adam: AdamWConfig::default().with_weight_decay(0.0),
            max_grad_norm: 1.0,
            num_iterations: 1,
            prompts_per_step: 4,
            max_steps: 100,
            seed: 0,
            output_dir: None,
            save_steps: 500,
            save_total_limit: None,
            max_consecutive_nonfinite_steps: 5,
        }
    }
}

impl GrpoRunConfig {
    /// Parses a TOML run file (unknown keys are errors).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) with the parser's message.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| invalid("config", e.to_string()))
    }

    /// The rollout half.
    pub fn rollout_config(&self) -> RolloutConfig {
        RolloutConfig {
            num_generations: self.loss.num_generations,
            max_completion_length: self.loss.max_completion_length,
            sampling: self.sampling.clone(),
        }
    }

    /// Checks every field once and builds what the trainer needs (optimizer, schedule, loss,
    /// advantage estimator, rollout settings), so nothing is built a second time.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) naming the field.
    pub fn init(self) -> Result<ValidGrpoConfig> {
        if self.max_grad_norm.is_nan() || self.max_grad_norm <= 0.0 {
            return Err(invalid(
                "max_grad_norm",
                format!("must be > 0, got {}", self.max_grad_norm),
            ));
        }
        if self.num_iterations == 0 {
            return Err(invalid("num_iterations", "must be ≥ 1"));
        }
        if self.prompts_per_step == 0 {
            return Err(invalid("prompts_per_step", "must be ≥ 1"));
        }
        if self.max_consecutive_nonfinite_steps == 0 {
            return Err(invalid("max_consecutive_nonfinite_steps", "must be ≥ 1"));
        }
        if self.save_total_limit == Some(0) {
            return Err(invalid(
                "save_total_limit",
                "must be ≥ 1 (leave it out to keep every checkpoint)",
            ));
        }
        check_rewards(&self.rewards)?;
        if self.loss.reward_weights.is_some() && !self.rewards.is_empty() {
            return Err(invalid(
                "reward_weights",
                "give weights in [[rewards]] (`weight = …`), not in [loss]",
            ));
        }
        let loss = self.loss.init()?;
        let rollout = self.rollout_config();
        rollout.validate()?;
        let optimizer = self.adam.init()?;
        let schedule = self.schedule()?;
        let advantages = self.loss.advantage_config().init()?;
        Ok(ValidGrpoConfig {
            config: self,
            optimizer,
            schedule,
            loss,
            advantages,
            rollout,
        })
    }

    /// The hash stored in checkpoints: every setting that shapes the trajectory. How long to
    /// run, where to write and how often to save are left out, so a run stopped at
    /// `max_steps = 4` can be resumed with `max_steps = 8` (the `linear` schedule then follows
    /// the new length, as in the offline trainer).
    ///
    /// # Errors
    /// A serialisation error (not expected).
    pub fn trajectory_hash(&self) -> Result<String> {
        let mut c = self.clone();
        c.max_steps = 0;
        c.output_dir = None;
        c.save_steps = 0;
        c.save_total_limit = None;
        c.max_consecutive_nonfinite_steps = 0;
        Ok(prefopt_train::config_hash(&c)?)
    }

    pub(crate) fn schedule(&self) -> Result<LrSchedule> {
        Ok(LrSchedule::new(
            self.lr_scheduler_type,
            self.learning_rate,
            self.warmup_steps,
            self.max_steps * self.num_iterations as u64,
            LrSchedulerKwargs::default(),
        )?)
    }
}

/// A [`GrpoRunConfig`] that passed [`GrpoRunConfig::init`], with the parts it built.
pub struct ValidGrpoConfig {
    pub(crate) config: GrpoRunConfig,
    pub(crate) optimizer: AdamW,
    pub(crate) schedule: LrSchedule,
    pub(crate) loss: GrpoLoss,
    pub(crate) advantages: AdvantageEstimator,
    pub(crate) rollout: RolloutConfig,
}

impl ValidGrpoConfig {
    /// The settings it was built from.
    pub fn config(&self) -> &GrpoRunConfig {
        &self.config
    }
}

impl std::fmt::Debug for ValidGrpoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidGrpoConfig")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
