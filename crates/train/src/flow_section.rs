//! `[flow]`: how a text-to-image flow-matching run draws noise levels and drops captions.

use prefopt_core::invalid;
use prefopt_models::TimestepSampling;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// How training noise levels σ are drawn (diffusers' `weighting_scheme` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightingScheme {
    /// σ ~ U(0, 1).
    Uniform,
    /// σ = sigmoid(N(`logit_mean`, `logit_std`)) (SD3's default).
    LogitNormal,
}

/// The flow-matching knobs of a text-to-image training run (names as in diffusers'
/// `train_dreambooth_flux.py`: `weighting_scheme`, `logit_mean`, `logit_std`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowSection {
    /// How σ is drawn before the shift.
    pub weighting_scheme: WeightingScheme,
    /// Mean of the logit-normal.
    pub logit_mean: f64,
    /// Standard deviation of the logit-normal.
    pub logit_std: f64,
    /// The SD3/FLUX time shift `s` applied to each drawn σ (1 = none).
    pub shift: f64,
    /// Probability of replacing a caption by the empty prompt (for classifier-free guidance at
    /// sampling time; 0 turns it off).
    pub caption_dropout: f64,
}

impl Default for FlowSection {
    fn default() -> Self {
        Self {
            weighting_scheme: WeightingScheme::LogitNormal,
            logit_mean: 0.0,
            logit_std: 1.0,
            shift: 1.0,
            caption_dropout: 0.1,
        }
    }
}

impl FlowSection {
    /// Checks every field; the error names the key.
    pub fn validate(&self) -> Result<()> {
        if !(self.logit_std.is_finite() && self.logit_std > 0.0) {
            return Err(invalid(
                "flow.logit_std",
                format!("must be positive, got {}", self.logit_std),
            ));
        }
        if !self.logit_mean.is_finite() {
            return Err(invalid("flow.logit_mean", "must be finite"));
        }
        if !(self.shift.is_finite() && self.shift > 0.0) {
            return Err(invalid(
                "flow.shift",
                format!("must be positive, got {}", self.shift),
            ));
        }
        if !(0.0..1.0).contains(&self.caption_dropout) {
            return Err(invalid(
                "flow.caption_dropout",
                format!("must be in [0, 1), got {}", self.caption_dropout),
            ));
        }
        Ok(())
    }

    /// The σ distribution before the shift.
    pub fn sampling(&self) -> TimestepSampling {
        match self.weighting_scheme {
            WeightingScheme::Uniform => TimestepSampling::Uniform,
            WeightingScheme::LogitNormal => TimestepSampling::LogitNormal {
                mean: self.logit_mean,
                std: self.logit_std,
            },
        }
    }
}
