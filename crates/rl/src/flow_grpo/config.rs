//! `[grpo]` of an image GRPO run. Defaults are the Pref-GRPO code's (paper-era FLUX script)
//! except where a CPU needs less, and those say so.

use prefopt_core::invalid;
use prefopt_models::{LogProbReduction, SdeSamplerConfig};
use serde::{Deserialize, Serialize};

use crate::advantage::{AdvantageConfig, MultiObjectiveAggregation, ScaleRewards};
use crate::error::Result;
use crate::grpo_loss::{GrpoLossConfig, GrpoLossType};

/// How the per-step Gaussian log-density is reduced over a sample's elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogProbMode {
    /// Mean over elements (the Pref-GRPO / Flow-GRPO code).
    #[default]
    Mean,
    /// Sum (the exact log-density).
    Sum,
}

/// Settings of Flow-GRPO / Pref-GRPO (`[grpo]`). The optimizer, steps, checkpoints and
/// evaluation cadence are `[training]` (`prefopt_train::TrainerConfig`), where
/// `gradient_accumulation_steps` counts *images* per optimizer update, as the reference code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FlowGrpoConfig {
    /// G, images per prompt (paper: 8).
    pub group_size: usize,
    /// Prompts per step (paper: 1 per GPU on 64 GPUs; CPU default 2).
    pub prompts_per_step: usize,
    /// SDE sampling steps T (paper: 25; CPU default 10).
    pub sampling_steps: usize,
    /// Time shift of the schedule (paper: 3).
    pub shift: f64,
    /// SDE noise level η (paper: 0.7).
    pub eta: f64,
    /// FLUX guidance embedding value (paper: 3.5 for FLUX.1-dev); `None` (default) for a
    /// transformer without a guidance embedding, as the shapes-world model.
    pub guidance: Option<f32>,
    /// All G images of a prompt start from the same initial noise (paper: true).
    pub init_same_noise: bool,
    /// Share of the T − 1 trainable timesteps (the last is dropped) trained per image,
    /// drawn at random (paper: 0.6 → 14 of 24).
    pub timestep_fraction: f64,
    /// ε of the clipped ratio `clip(r, 1 − ε, 1 + ε)` (paper: 1e-4).
    pub clip_range: f64,
    /// ε added to the group's unbiased std (paper: 1e-8).
    pub advantage_epsilon: f64,
    /// Advantages clamped to [−c, c] (paper: 5).
    pub advantage_clip: f64,
    /// β of the KL to the reference (the initial pipeline) in Gaussian-mean form
    /// ‖μ_θ − μ_ref‖² / (2σ²) (paper: 0).
    pub kl_beta: f64,
    /// Per-step log-prob reduction (paper: `mean`).
    pub log_prob: LogProbMode,
}

impl Default for FlowGrpoConfig {
    fn default() -> Self {
        Self {
            group_size: 8,
            prompts_per_step: 2,
            sampling_steps: 10,
            shift: 3.0,
            eta: 0.7,
            guidance: None,
            init_same_noise: true,
            timestep_fraction: 0.6,
            clip_range: 1e-4,
            advantage_epsilon: 1e-8,
            advantage_clip: 5.0,
            kl_beta: 0.0,
            log_prob: LogProbMode::Mean,
        }
    }
}

impl FlowGrpoConfig {
    /// Checks every value (errors name the key).
    ///
    /// # Errors
    /// [`crate::Error::InvalidConfig`] naming the key.
    pub fn validate(&self) -> Result<()> {
        if self.group_size < 2 {
            return Err(invalid("grpo.group_size", "must be at least 2"));
        }
        if self.prompts_per_step == 0 {
            return Err(invalid("grpo.prompts_per_step", "must be at least 1"));
        }
        if self.sampling_steps < 2 {
            return Err(invalid(
                "grpo.sampling_steps",
                "must be at least 2 (the last step is never trained)",
            ));
        }
        if !(self.shift.is_finite() && self.shift > 0.0) {
            return Err(invalid(
                "grpo.shift",
                format!("must be > 0, got {}", self.shift),
            ));
        }
        if !(self.eta.is_finite() && self.eta > 0.0) {
            return Err(invalid(
                "grpo.eta",
                format!("must be > 0 (the log-prob needs noise), got {}", self.eta),
            ));
        }
        if !(self.timestep_fraction > 0.0 && self.timestep_fraction <= 1.0) {
            return Err(invalid(
                "grpo.timestep_fraction",
                format!("must be in (0, 1], got {}", self.timestep_fraction),
            ));
        }
        if !(self.clip_range.is_finite() && self.clip_range >= 0.0) {
            return Err(invalid("grpo.clip_range", "must be finite and >= 0"));
        }
        if !(self.kl_beta.is_finite() && self.kl_beta >= 0.0) {
            return Err(invalid("grpo.kl_beta", "must be finite and >= 0"));
        }
        self.advantage_config()
            .init()
            .map_err(|e| invalid::<crate::Error>("grpo.advantage", e.to_string()))?;
        Ok(())
    }

    /// The advantage settings: unbiased group std + ε, clamp, each reward normalised in its
    /// group and mixed by weight (Pref-GRPO's `reward_spec`).
    pub fn advantage_config(&self) -> AdvantageConfig {
        AdvantageConfig {
            num_generations: self.group_size,
            scale_rewards: ScaleRewards::Group,
            advantage_epsilon: self.advantage_epsilon,
            multi_objective_aggregation: MultiObjectiveAggregation::SumOfAdvantages,
            advantage_clip: Some(self.advantage_clip),
        }
    }

    /// The clipped ratio loss: `grpo` aggregation (mean over an image's trained timesteps),
    /// symmetric clip `clip_range`, no k3 KL (the KL here is the Gaussian-mean form).
    pub fn loss_config(&self) -> GrpoLossConfig {
        GrpoLossConfig {
            loss_type: GrpoLossType::Grpo,
            epsilon: self.clip_range,
            num_generations: self.group_size,
            ..GrpoLossConfig::default()
        }
    }

    /// The SDE sampler settings.
    pub fn sampler(&self) -> SdeSamplerConfig {
        SdeSamplerConfig {
            eta: self.eta,
            reduction: match self.log_prob {
                LogProbMode::Mean => LogProbReduction::Mean,
                LogProbMode::Sum => LogProbReduction::Sum,
            },
        }
    }

    /// Timesteps trained per image: `max(1, ⌊(T − 1)·fraction⌋)`.
    pub fn trained_timesteps(&self) -> usize {
        (((self.sampling_steps - 1) as f64 * self.timestep_fraction) as usize).max(1)
    }
}
