//! Reference-free preference losses: CPO, SimPO and AlphaPO, with TRL's `experimental/cpo`
//! semantics.

use burn::tensor::Tensor;
use burn::tensor::activation::log_sigmoid;
use serde::{Deserialize, Serialize};

use super::divergence::MAX_EXP_ARG;
use super::inputs::align;
use super::metrics::read_f64;
use super::{PairMetricValues, PairMetrics};
use crate::{Error, Result};

/// Loss of [`Cpo`] (TRL `CPOConfig.loss_type`). Notation: Δπ = log π(y_c) − log π(y_r), or the
/// AlphaPO reward difference when `alpha ≠ 0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CpoLossType {
    /// CPO (Xu et al. 2024, arXiv:2401.08417, Eq. 3): −(1−ε) log σ(βΔπ) − ε log σ(−βΔπ) on
    /// summed log-probs.
    #[default]
    Sigmoid,
    /// Hinge on summed log-probs: max(0, 1 − βΔπ).
    Hinge,
    /// IPO on per-token-averaged log-probs: (Δπ − 1/(2β))².
    Ipo,
    /// SimPO (Meng et al. 2024, arXiv:2405.14734, Eq. 6) on per-token-averaged log-probs:
    /// −(1−ε) log σ(βΔπ − γ) − ε log σ(−(βΔπ − γ)), γ = `simpo_gamma`.
    Simpo,
}

impl CpoLossType {
    /// Whether this loss works on per-token-averaged log-probs (TRL: `ipo` and `simpo`).
    pub fn averages_log_probs(self) -> bool {
        matches!(self, Self::Ipo | Self::Simpo)
    }
}

/// Configuration of [`Cpo`], field for field TRL's `CPOConfig` loss options (serde struct with
/// `deny_unknown_fields`, for the same reason as [`DpoConfig`](super::DpoConfig)).
///
/// Pure SimPO is `loss_type = "simpo"` with `cpo_alpha = 0` (TRL's default `cpo_alpha = 1`
/// gives CPO-SimPO).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CpoConfig {
    /// The preference loss.
    pub loss_type: CpoLossType,
    /// β (> 0).
    pub beta: f64,
    /// ε of the `sigmoid` and `simpo` losses, in [0, 0.5].
    pub label_smoothing: f64,
    /// SimPO target margin γ (used by `simpo` only).
    pub simpo_gamma: f64,
    /// Weight of the chosen-answer NLL term (≥ 0).
    pub cpo_alpha: f64,
    /// AlphaPO (Gupta et al. 2025, arXiv:2501.03884): reward r = (1 − p^(−α))/α with p =
    /// exp(log π); 0 keeps log π.
    pub alpha: f64,
}

impl Default for CpoConfig {
    fn default() -> Self {
        Self {
            loss_type: CpoLossType::Sigmoid,
            beta: 0.1,
            label_smoothing: 0.0,
            simpo_gamma: 0.5,
            cpo_alpha: 1.0,
            alpha: 0.0,
        }
    }
}

impl burn::config::Config for CpoConfig {}

impl std::fmt::Display for CpoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&burn::config::config_to_json(self))
    }
}

impl CpoConfig {
    /// TRL's defaults: CPO `sigmoid`, β = 0.1, `cpo_alpha` = 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`loss_type`](Self::loss_type).
    #[must_use]
    pub fn with_loss_type(mut self, loss_type: CpoLossType) -> Self {
        self.loss_type = loss_type;
        self
    }

    /// Sets [`beta`](Self::beta).
    #[must_use]
    pub fn with_beta(mut self, beta: f64) -> Self {
        self.beta = beta;
        self
    }

    /// Sets [`label_smoothing`](Self::label_smoothing).
    #[must_use]
    pub fn with_label_smoothing(mut self, label_smoothing: f64) -> Self {
        self.label_smoothing = label_smoothing;
        self
    }

    /// Sets [`simpo_gamma`](Self::simpo_gamma).
    #[must_use]
    pub fn with_simpo_gamma(mut self, simpo_gamma: f64) -> Self {
        self.simpo_gamma = simpo_gamma;
        self
    }

    /// Sets [`cpo_alpha`](Self::cpo_alpha).
    #[must_use]
    pub fn with_cpo_alpha(mut self, cpo_alpha: f64) -> Self {
        self.cpo_alpha = cpo_alpha;
        self
    }

    /// Sets [`alpha`](Self::alpha).
    #[must_use]
    pub fn with_alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// Validates the hyper-parameters and builds the loss.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the offending key.
    pub fn init(&self) -> Result<Cpo> {
        let bad = |field: &'static str, reason: String| Err(Error::InvalidConfig { field, reason });
        if !(self.beta.is_finite() && self.beta > 0.0) {
            return bad("beta", format!("must be finite and > 0, got {}", self.beta));
        }
        let eps = self.label_smoothing;
        if !(eps.is_finite() && (0.0..=0.5).contains(&eps)) {
            return bad("label_smoothing", format!("must be in [0, 0.5], got {eps}"));
        }
        if eps > 0.0 && matches!(self.loss_type, CpoLossType::Hinge | CpoLossType::Ipo) {
            return bad(
                "label_smoothing",
                format!("is {eps} but the {:?} loss ignores it", self.loss_type),
            );
        }
        if !self.simpo_gamma.is_finite() {
            return bad(
                "simpo_gamma",
                format!("must be finite, got {}", self.simpo_gamma),
            );
        }
        if !(self.cpo_alpha.is_finite() && self.cpo_alpha >= 0.0) {
            return bad(
                "cpo_alpha",
                format!("must be finite and ≥ 0, got {}", self.cpo_alpha),
            );
        }
        if !self.alpha.is_finite() {
            return bad("alpha", format!("must be finite, got {}", self.alpha));
        }
        Ok(Cpo {
            config: self.clone(),
        })
    }
}

/// Inputs of [`Cpo::forward`]: policy log-probs only (no reference model).
///
/// # Shapes
/// - every field: `[batch]`
#[derive(Debug, Clone)]
pub struct CpoInputs {
    /// log π_θ(y_c|x), **summed** over the chosen completion (averaged inside when the loss
    /// needs it).
    pub policy_chosen_logps: Tensor<1>,
    /// log π_θ(y_r|x), summed.
    pub policy_rejected_logps: Tensor<1>,
    /// |y_c| (float; clamped ≥ 1 where divided).
    pub chosen_lengths: Tensor<1>,
    /// |y_r|.
    pub rejected_lengths: Tensor<1>,
}

/// What [`Cpo::forward`] returns.
#[derive(Debug, Clone)]
pub struct CpoOutput {
    /// mean(ℓ) + `cpo_alpha`·NLL.
    ///
    /// # Shapes
    /// `[1]`
    pub loss: Tensor<1>,
    /// The preference loss ℓ per pair (without the NLL term).
    ///
    /// # Shapes
    /// `[batch]`
    pub per_pair: Tensor<1>,
    /// Token-mean NLL of the chosen completions (TRL metric `nll_loss`), `[1]`.
    pub nll_loss: Tensor<1>,
    /// Rewards β·(log π or AlphaPO reward) and the log-probs the loss used (averaged for
    /// `ipo`/`simpo`), as TRL logs them.
    pub metrics: PairMetrics,
}

impl CpoOutput {
    /// Reads the metrics to the host as `(TRL name, value)`, `nll_loss` last (one
    /// synchronisation).
    pub fn read_metrics(&self) -> Vec<(&'static str, f64)> {
        let values = read_f64(Tensor::cat(
            vec![self.metrics.summary(), self.nll_loss.clone()],
            0,
        ));
        let pairs = PairMetricValues {
            rewards_chosen: values[0],
            rewards_rejected: values[1],
            rewards_margins: values[2],
            rewards_accuracies: values[3],
            logps_chosen: values[4],
            logps_rejected: values[5],
        };
        let mut out = pairs.named().to_vec();
        out.push(("nll_loss", values[6]));
        out
    }
}

/// Reference-free preference loss (CPO / SimPO / AlphaPO), built by [`CpoConfig::init`].
#[derive(Debug, Clone)]
pub struct Cpo {
    config: CpoConfig,
}

impl Cpo {
    /// The validated configuration.
    pub fn config(&self) -> &CpoConfig {
        &self.config
    }

    /// Computes the loss and metrics.
    ///
    /// # Shapes
    /// - inputs: `[batch]` each (see [`CpoInputs`])
    /// - `loss`: `[1]`; `per_pair`: `[batch]`
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when the inputs disagree on the batch size (or it is 0).
    pub fn forward(&self, inputs: CpoInputs) -> Result<CpoOutput> {
        let cfg = &self.config;
        let batch = inputs.policy_chosen_logps.dims()[0];
        if batch == 0 {
            return Err(Error::ShapeMismatch {
                what: "policy_chosen_logps",
                expected: vec![1],
                got: vec![0],
            });
        }
        let dtype = inputs.policy_chosen_logps.dtype();
        let summed_chosen = inputs.policy_chosen_logps;
        let summed_rejected = align(
            "policy_rejected_logps",
            inputs.policy_rejected_logps,
            batch,
            dtype,
        )?;
        let chosen_lengths = align("chosen_lengths", inputs.chosen_lengths, batch, dtype)?;
        let rejected_lengths = align("rejected_lengths", inputs.rejected_lengths, batch, dtype)?;

        let nll_loss = summed_chosen
            .clone()
            .sum()
            .neg()
            .div(chosen_lengths.clone().sum().clamp_min(1.0));

        let (chosen, rejected) = if cfg.loss_type.averages_log_probs() {
            (
                summed_chosen / chosen_lengths.clamp_min(1.0),
                summed_rejected / rejected_lengths.clamp_min(1.0),
            )
        } else {
            (summed_chosen, summed_rejected)
        };

        let (reward_chosen, reward_rejected) = if cfg.alpha == 0.0 {
            (chosen.clone(), rejected.clone())
        } else {
            let a = cfg.alpha;
            // (1 − p^(−α))/α = (1 − exp(−α log p))/α; the exponent is capped like TRL's
            // α-divergence so a very unlikely sequence cannot overflow.
            let reward = |logp: Tensor<1>| {
                logp.mul_scalar(-a)
                    .clamp_max(MAX_EXP_ARG)
                    .exp()
                    .neg()
                    .add_scalar(1.0)
                    .div_scalar(a)
            };
            (reward(chosen.clone()), reward(rejected.clone()))
        };
        let logits = reward_chosen.clone() - reward_rejected.clone();

        let beta = cfg.beta;
        let eps = cfg.label_smoothing;
        let smoothed = |z: Tensor<1>| {
            log_sigmoid(z.clone()).mul_scalar(-(1.0 - eps)) - log_sigmoid(z.neg()).mul_scalar(eps)
        };
        let per_pair = match cfg.loss_type {
            CpoLossType::Sigmoid => smoothed(logits.mul_scalar(beta)),
            CpoLossType::Simpo => smoothed(logits.mul_scalar(beta).sub_scalar(cfg.simpo_gamma)),
            CpoLossType::Hinge => logits.mul_scalar(-beta).add_scalar(1.0).clamp_min(0.0),
            CpoLossType::Ipo => logits.sub_scalar(0.5 / beta).square(),
        };

        let loss = if cfg.cpo_alpha == 0.0 {
            per_pair.clone().mean()
        } else {
            per_pair.clone().mean() + nll_loss.clone().mul_scalar(cfg.cpo_alpha)
        };
        let metrics = PairMetrics::new(
            reward_chosen.mul_scalar(beta),
            reward_rejected.mul_scalar(beta),
            chosen,
            rejected,
        );
        Ok(CpoOutput {
            loss,
            per_pair,
            nll_loss: nll_loss.detach(),
            metrics,
        })
    }
}
