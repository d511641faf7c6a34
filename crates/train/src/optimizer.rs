//! AdamW with PyTorch's defaults and PyTorch's update rule.
//!
//! Burn's [`burn::optim::AdamW`] implements, per parameter tensor with gradient `g` at step `t`
//! (read from `burn-optim-0.22.1/src/optim/adamw.rs`):
//!
//! ```text
//! m = β1·m + (1-β1)·g            v = β2·v + (1-β2)·g²
//! m̂ = m / (1-β1^t)               v̂ = v / (1-β2^t)
//! p = p·(1 - lr·λ) - lr · m̂ / (sqrt(v̂) + ε)
//! ```
//!
//! which is `torch.optim.AdamW` (amsgrad off, maximize off): decoupled weight decay applied to
//! the pre-update parameter with the *current* lr, bias correction on both moments, and ε added
//! after the square root of the bias-corrected second moment (torch writes the same thing as
//! `sqrt(v)/sqrt(1-β2^t) + ε` and folds `1/(1-β1^t)` into the step size). The two orders of
//! operations differ only by f32 rounding; the test `optimizer::matches_torch_adamw` checks 5
//! steps against torch to 1e-6. So we use burn's optimizer and only fix its defaults, which are
//! **not** PyTorch's (burn: ε = 1e-5, weight decay = 1e-4; torch: 1e-8 and 1e-2).
//!
//! The learning rate is not part of the config: it is given at every [`AdamW::step`] by the
//! [`LrSchedule`](crate::LrSchedule), exactly as a torch `LambdaLR` rewrites the param group's
//! `lr` before each `optimizer.step()`.

use std::path::Path;

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, invalid};

/// AdamW hyper-parameters, with `torch.optim.AdamW`'s defaults.
///
/// `weight_decay` defaults to PyTorch's 0.01. Note that Hugging Face `TrainingArguments` (and so
/// TRL) default `weight_decay` to 0.0: [`AdamWConfig::from_trainer`] takes the trainer's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdamWConfig {
    /// β1, the first-moment decay (torch default 0.9).
    pub beta1: f64,
    /// β2, the second-moment decay (torch default 0.999).
    pub beta2: f64,
    /// ε, added to `sqrt(v̂)` (torch default 1e-8; burn's own default is 1e-5).
    pub epsilon: f64,
    /// Decoupled weight decay λ (torch default 0.01; burn's own default is 1e-4).
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            weight_decay: 0.01,
        }
    }
}

impl AdamWConfig {
    /// PyTorch's defaults: β = (0.9, 0.999), ε = 1e-8, weight decay 0.01.
    pub fn new() -> Self {
        Self::default()
    }

    /// The optimizer knobs of a [`TrainerConfig`](crate::TrainerConfig) (`adam_beta1`,
    /// `adam_beta2`, `adam_epsilon`, `weight_decay`).
    pub fn from_trainer(config: &crate::TrainerConfig) -> Self {
        Self {
            beta1: config.adam_beta1,
            beta2: config.adam_beta2,
            epsilon: config.adam_epsilon,
            weight_decay: config.weight_decay,
        }
    }

    /// Sets β1 and β2.
    pub fn with_betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }

    /// Sets ε.
    pub fn with_epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// Sets the decoupled weight decay.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Checks the ranges torch checks (`0 <= β < 1`, `ε >= 0`, `weight_decay >= 0`).
    pub fn validate(&self) -> Result<()> {
        for (field, beta) in [("adam_beta1", self.beta1), ("adam_beta2", self.beta2)] {
            if !(0.0..1.0).contains(&beta) {
                return Err(invalid(field, format!("must be in [0, 1), got {beta}")));
            }
        }
        if !(self.epsilon >= 0.0 && self.epsilon.is_finite()) {
            return Err(invalid(
                "adam_epsilon",
                format!("must be finite and >= 0, got {}", self.epsilon),
            ));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return Err(invalid(
                "weight_decay",
                format!("must be finite and >= 0, got {}", self.weight_decay),
            ));
        }
        Ok(())
    }

    /// Validates and builds the optimizer (with no state yet).
    pub fn init(&self) -> Result<AdamW> {
        self.validate()?;
        // burn stores these as f32, as torch does for float32 parameters.
        let inner = burn::optim::AdamWConfig::new()
            .with_beta_1(self.beta1 as f32)
            .with_beta_2(self.beta2 as f32)
            .with_epsilon(self.epsilon as f32)
            .with_weight_decay(self.weight_decay as f32)
            .with_amsgrad(false)
            .with_cautious_weight_decay(false)
            .with_grad_clipping(None)
            .init();
        Ok(AdamW {
            inner,
            config: self.clone(),
        })
    }
}

/// An AdamW optimizer with its per-parameter state (moments and step count).
///
/// Gradient clipping is *not* done here (burn's per-tensor clipping differs from torch): clip
/// with [`clip_grad_norm`](crate::clip_grad_norm) before calling [`AdamW::step`].
#[derive(Clone)]
pub struct AdamW {
    inner: ModuleOptimizer,
    config: AdamWConfig,
}

impl std::fmt::Debug for AdamW {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdamW")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AdamW {
    /// One update of every parameter that has a gradient in `grads`, with learning rate `lr`.
    ///
    /// Parameters without a gradient are left untouched (no weight decay either), like torch
    /// skips parameters whose `.grad` is `None`.
    pub fn step<M: Module>(&mut self, lr: f64, model: M, grads: GradientsParams) -> M {
        self.inner.step(lr, model, grads)
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &AdamWConfig {
        &self.config
    }

    /// Saves the optimizer state (burnpack, keyed by parameter id) to `path`.
    ///
    /// State is keyed by burn `ParamId`s; a model reloaded from an HF checkpoint gets fresh ids,
    /// so resume goes through [`ParamIds`](crate::ParamIds) (the [`Checkpointer`](crate::Checkpointer)
    /// does this for you).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        self.inner.save(path).map_err(|e| Error::Record {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }

    /// Loads state written by [`AdamW::save`], replacing the current state. The result is
    /// bit-exact (moments are stored as their f32 bytes, the step count as an integer).
    pub fn load(self, path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let inner = self.inner.load(path).map_err(|e| Error::Record {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            inner,
            config: self.config,
        })
    }

    /// The wrapped burn optimizer (for APIs this wrapper does not expose).
    pub fn inner(&self) -> &ModuleOptimizer {
        &self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_pytorch_defaults() {
        let c = AdamWConfig::new();
        assert_eq!(
            (c.beta1, c.beta2, c.epsilon, c.weight_decay),
            (0.9, 0.999, 1e-8, 0.01)
        );
    }

    #[test]
    fn validation_names_the_field() {
        let err = AdamWConfig::new().with_betas(0.9, 1.0).init().unwrap_err();
        assert!(err.to_string().contains("adam_beta2"), "{err}");
        let err = AdamWConfig::new().with_epsilon(-1.0).init().unwrap_err();
        assert!(err.to_string().contains("adam_epsilon"), "{err}");
        let err = AdamWConfig::new()
            .with_weight_decay(f64::NAN)
            .init()
            .unwrap_err();
        assert!(err.to_string().contains("weight_decay"), "{err}");
    }
}
