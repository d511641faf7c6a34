//! `prefopt t2i train-judges --config F`: where the labelled samples come from (`base_model`,
//! `[data]`), the network's sizes (`[net]`) and how both networks are fitted (`[training]`).

use std::path::{Path, PathBuf};

use prefopt_train::load_table;
use serde::{Deserialize, Serialize};

use crate::config_relative::beside_config;
use crate::{Result, TaskError};

/// `[data]`: the captions and the images drawn for them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JudgeDataSection {
    /// Distinct training-split captions the networks are fitted on.
    pub train_prompts: usize,
    /// Further distinct training-split captions kept out of fitting, for the held-out accuracy.
    pub held_out_prompts: usize,
    /// Images drawn per caption (their within-caption pairs are the pairwise data).
    pub images_per_prompt: usize,
    /// Seed of the caption draw and of the initial noise.
    pub seed: u64,
    /// Euler steps of the sampler.
    pub sampling_steps: usize,
    /// Time shift of the schedule (Flow-GRPO's default 3).
    pub shift: f64,
    /// Images per forward pass of the sampler.
    pub batch_size: usize,
}

impl Default for JudgeDataSection {
    fn default() -> Self {
        Self {
            train_prompts: 256,
            held_out_prompts: 64,
            images_per_prompt: 8,
            seed: 0,
            sampling_steps: 20,
            shift: 3.0,
            batch_size: 32,
        }
    }
}

/// `[net]`: sizes of the image–text network (shared by both judges).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JudgeNetSection {
    /// Patch side of the first convolution (divides the image sides).
    pub patch: usize,
    /// Image feature channels.
    pub channels: usize,
    /// Word embedding and text vector width.
    pub text_dim: usize,
    /// Hidden width of the head.
    pub hidden: usize,
}

impl Default for JudgeNetSection {
    fn default() -> Self {
        Self {
            patch: 4,
            channels: 32,
            text_dim: 32,
            hidden: 64,
        }
    }
}

/// `[training]`: the fit of each network (the same for both).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JudgeFitSection {
    /// Optimizer updates.
    pub steps: usize,
    /// Rows per update: samples for the scorer, pairs for the judge.
    pub batch_size: usize,
    /// AdamW learning rate (constant).
    pub learning_rate: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Global gradient-norm clip (0 = none).
    pub max_grad_norm: f64,
    /// Seed of the initial weights and of the batch order.
    pub seed: u64,
    /// Pass rates this close make a tied pair (target ½), as the checker judge's `tie_band`.
    pub tie_band: f64,
}

impl Default for JudgeFitSection {
    fn default() -> Self {
        Self {
            steps: 2000,
            batch_size: 32,
            learning_rate: 1e-3,
            weight_decay: 1e-4,
            max_grad_norm: 1.0,
            seed: 0,
            tie_band: 0.0,
        }
    }
}

/// A whole `prefopt t2i train-judges` config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JudgeTrainingConfig {
    /// The base pipeline whose samples are labelled (a `prefopt t2i train` output).
    pub base_model: PathBuf,
    /// Where `scorer/`, `judge/`, `samples/` and `judges_report.json` go.
    pub output_dir: PathBuf,
    /// `[data]`.
    pub data: JudgeDataSection,
    /// `[net]`.
    pub net: JudgeNetSection,
    /// `[training]`.
    pub training: JudgeFitSection,
}

impl Default for JudgeTrainingConfig {
    fn default() -> Self {
        Self {
            base_model: "t2i_base".into(),
            output_dir: "t2i_judges".into(),
            data: JudgeDataSection::default(),
            net: JudgeNetSection::default(),
            training: JudgeFitSection::default(),
        }
    }
}

fn invalid(key: &str, message: impl std::fmt::Display) -> TaskError {
    TaskError::InvalidInput(format!("{key}: {message}"))
}

impl JudgeTrainingConfig {
    /// Reads `path` (TOML; missing keys take the defaults, unknown keys are errors naming
    /// them), applies `overrides` (`section.key=value`) and checks it. A relative `base_model`
    /// that does not exist from the working directory is taken relative to the file's
    /// directory; `output_dir` is relative to the working directory.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        let table = load_table(path, overrides)?;
        let mut config: Self = toml::Value::Table(table)
            .try_into()
            .map_err(|e| TaskError::InvalidInput(format!("{}: {e}", path.display())))?;
        config.base_model = beside_config(&config.base_model, path.parent());
        config
            .validate()
            .map_err(|e| TaskError::InvalidInput(format!("{}: {e}", path.display())))?;
        Ok(config)
    }

    /// Checks the values (each error names its key).
    pub fn validate(&self) -> Result<()> {
        let d = &self.data;
        for (key, v, min) in [
            ("data.train_prompts", d.train_prompts, 1),
            ("data.held_out_prompts", d.held_out_prompts, 1),
            ("data.images_per_prompt", d.images_per_prompt, 2),
            ("data.sampling_steps", d.sampling_steps, 1),
            ("data.batch_size", d.batch_size, 1),
            ("net.patch", self.net.patch, 1),
            ("net.channels", self.net.channels, 1),
            ("net.text_dim", self.net.text_dim, 1),
            ("net.hidden", self.net.hidden, 1),
            ("training.steps", self.training.steps, 1),
            ("training.batch_size", self.training.batch_size, 1),
        ] {
            if v < min {
                return Err(invalid(key, format!("must be at least {min}, got {v}")));
            }
        }
        if !(d.shift.is_finite() && d.shift > 0.0) {
            return Err(invalid(
                "data.shift",
                format!("must be > 0, got {}", d.shift),
            ));
        }
        let t = &self.training;
        if !(t.learning_rate.is_finite() && t.learning_rate > 0.0) {
            return Err(invalid(
                "training.learning_rate",
                format!("must be > 0, got {}", t.learning_rate),
            ));
        }
        if !(t.weight_decay.is_finite() && t.weight_decay >= 0.0) {
            return Err(invalid(
                "training.weight_decay",
                format!("must be >= 0, got {}", t.weight_decay),
            ));
        }
        if !(t.max_grad_norm.is_finite() && t.max_grad_norm >= 0.0) {
            return Err(invalid(
                "training.max_grad_norm",
                format!("must be >= 0, got {}", t.max_grad_norm),
            ));
        }
        if !(0.0..1.0).contains(&t.tie_band) {
            return Err(invalid(
                "training.tie_band",
                format!("must be in [0, 1), got {}", t.tie_band),
            ));
        }
        Ok(())
    }
}
