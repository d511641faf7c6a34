//! Configuration of the LiPO objective: loss type, β, and the paper/Rax convention knobs.

use serde::{Deserialize, Serialize};

use super::{Lipo, LipoLossType};
use crate::{Error, Result};

/// Which set of definitions to follow where the LiPO paper's printed formulas and the Rax code
/// the authors trained with (Appendix B) disagree.
///
/// | knob | `paper` (printed formulas) | `rax` (reference code) |
/// |---|---|---|
/// | λ discount D(τ) | ln(1 + τ) | log₂(1 + τ) |
/// | λ scale | 1 | × list size |
/// | pairwise / pointwise reduction | sum per list, mean over lists | mean over valid pairs / items of the batch |
/// | softmax targets | ψ/Σψ (Eq. 11) | raw ψ |
///
/// For LiPO-λ the two differ by the constant factor K·ln 2 / (number of pairs) on a single
/// unpadded list (0.462098 on the reference list of §2.8 in the research notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LipoConvention {
    /// The formulas as printed in arXiv:2402.01878v3 (Eqs. 3, 8, 11).
    Paper,
    /// google/rax semantics (`dcg_lambdaweight`, `reduce_fn=jnp.mean`, identity `label_fn`),
    /// which produced the paper's results. The default, because it is what was trained.
    #[default]
    Rax,
}

/// Logarithm of the DCG discount D(τ) = log(1 + τ) in the λ weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LambdaDiscount {
    /// Natural logarithm, as printed in the paper (§3, Eq. 8).
    Ln,
    /// Base-2 logarithm, as in Rax's `default_discount_fn` (standard DCG).
    Log2,
}

/// Constant factor on the λ weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LambdaScale {
    /// No factor (the paper).
    One,
    /// Multiply by the number of valid items of the list (Rax's "scale up the lambdaweights by
    /// the constant list size"). Rax multiplies by the padded array width; we use the list's own
    /// size, which is the same for unpadded lists and keeps the loss independent of padding.
    ListSize,
}

/// How per-pair (pairwise losses) or per-item (pointwise losses) terms become one number.
/// Listwise losses (`list_mle`, `softmax`) have one term per list, so both arms give the mean
/// over lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LipoReduction {
    /// Sum the terms of each list (the per-list loss l(ψ, s) as printed), then average over the
    /// lists with at least one valid item (Eq. 3's expectation).
    Sum,
    /// Average over all valid pairs (or valid items) of the batch at once, as Rax's
    /// `reduce_fn=jnp.mean`; 0 when the batch has none.
    Mean,
}

/// Targets of the softmax loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SoftmaxLabels {
    /// t_k = ψ_k / Σ_j ψ_j over valid items (Eq. 11); uniform over valid items when Σψ = 0
    /// (Rax's `normalize_probabilities`).
    Normalized,
    /// t_k = ψ_k (Rax's default identity `label_fn`).
    Raw,
}

/// Configuration of [`Lipo`]. Deserialises from TOML/JSON with snake_case names; missing keys
/// take their defaults and unknown keys are rejected.
///
/// ```toml
/// loss_type = "lambda"     # lambda | pair_logistic | pair_hinge | list_mle | softmax | point_mse | point_sigmoid
/// beta = 0.05
/// convention = "rax"       # rax | paper
/// # optional overrides of the convention:
/// # discount = "ln"        # ln | log2
/// # lambda_scale = "one"   # one | list_size
/// # reduction = "sum"      # sum | mean
/// # softmax_labels = "normalized"  # normalized | raw
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LipoConfig {
    /// The ranking loss. Default `lambda` (LiPO-λ).
    pub loss_type: LipoLossType,
    /// β in s_i = β·(log π_θ(y_i) − log π_ref(y_i)). Default 0.05, the paper's value for every
    /// experiment (§4). Must be finite and > 0.
    pub beta: f64,
    /// Paper or Rax definitions for the knobs below that are not set. Default `rax`.
    pub convention: LipoConvention,
    /// Override of the λ discount logarithm.
    pub discount: Option<LambdaDiscount>,
    /// Override of the λ weight scale.
    pub lambda_scale: Option<LambdaScale>,
    /// Override of the reduction of pairwise and pointwise losses.
    pub reduction: Option<LipoReduction>,
    /// Override of the softmax targets.
    pub softmax_labels: Option<SoftmaxLabels>,
}

impl Default for LipoConfig {
    fn default() -> Self {
        Self {
            loss_type: LipoLossType::default(),
            beta: 0.05,
            convention: LipoConvention::default(),
            discount: None,
            lambda_scale: None,
            reduction: None,
            softmax_labels: None,
        }
    }
}

impl burn::config::Config for LipoConfig {}

impl LipoConfig {
    /// The default configuration: LiPO-λ, β = 0.05, Rax convention.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`loss_type`](Self::loss_type).
    pub fn with_loss_type(mut self, loss_type: LipoLossType) -> Self {
        self.loss_type = loss_type;
        self
    }

    /// Sets [`beta`](Self::beta).
    pub fn with_beta(mut self, beta: f64) -> Self {
        self.beta = beta;
        self
    }

    /// Sets [`convention`](Self::convention).
    pub fn with_convention(mut self, convention: LipoConvention) -> Self {
        self.convention = convention;
        self
    }

    /// Sets [`discount`](Self::discount).
    pub fn with_discount(mut self, discount: Option<LambdaDiscount>) -> Self {
        self.discount = discount;
        self
    }

    /// Sets [`lambda_scale`](Self::lambda_scale).
    pub fn with_lambda_scale(mut self, lambda_scale: Option<LambdaScale>) -> Self {
        self.lambda_scale = lambda_scale;
        self
    }

    /// Sets [`reduction`](Self::reduction).
    pub fn with_reduction(mut self, reduction: Option<LipoReduction>) -> Self {
        self.reduction = reduction;
        self
    }

    /// Sets [`softmax_labels`](Self::softmax_labels).
    pub fn with_softmax_labels(mut self, softmax_labels: Option<SoftmaxLabels>) -> Self {
        self.softmax_labels = softmax_labels;
        self
    }

    /// Validates the hyper-parameters and resolves the convention into concrete knobs.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming `beta` when β is not finite or not > 0.
    pub fn init(&self) -> Result<Lipo> {
        if !(self.beta.is_finite() && self.beta > 0.0) {
            return Err(Error::InvalidConfig {
                field: "beta",
                reason: format!("must be finite and > 0, got {}", self.beta),
            });
        }
        let (discount, lambda_scale, reduction, softmax_labels) = match self.convention {
            LipoConvention::Paper => (
                LambdaDiscount::Ln,
                LambdaScale::One,
                LipoReduction::Sum,
                SoftmaxLabels::Normalized,
            ),
            LipoConvention::Rax => (
                LambdaDiscount::Log2,
                LambdaScale::ListSize,
                LipoReduction::Mean,
                SoftmaxLabels::Raw,
            ),
        };
        Ok(Lipo {
            loss_type: self.loss_type,
            beta: self.beta,
            discount: self.discount.unwrap_or(discount),
            lambda_scale: self.lambda_scale.unwrap_or(lambda_scale),
            reduction: self.reduction.unwrap_or(reduction),
            softmax_labels: self.softmax_labels.unwrap_or(softmax_labels),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conventions_resolve_to_their_knobs() {
        let paper = LipoConfig::new()
            .with_convention(LipoConvention::Paper)
            .init()
            .unwrap();
        assert_eq!(paper.discount(), LambdaDiscount::Ln);
        assert_eq!(paper.lambda_scale(), LambdaScale::One);
        assert_eq!(paper.reduction(), LipoReduction::Sum);
        assert_eq!(paper.softmax_labels(), SoftmaxLabels::Normalized);

        let rax = LipoConfig::new().init().unwrap();
        assert_eq!(rax.discount(), LambdaDiscount::Log2);
        assert_eq!(rax.lambda_scale(), LambdaScale::ListSize);
        assert_eq!(rax.reduction(), LipoReduction::Mean);
        assert_eq!(rax.softmax_labels(), SoftmaxLabels::Raw);
        assert_eq!(rax.beta(), 0.05);
        assert_eq!(rax.loss_type(), LipoLossType::Lambda);
    }

    #[test]
    fn overrides_beat_the_convention() {
        let lipo = LipoConfig::new()
            .with_convention(LipoConvention::Paper)
            .with_reduction(Some(LipoReduction::Mean))
            .with_discount(Some(LambdaDiscount::Log2))
            .init()
            .unwrap();
        assert_eq!(lipo.reduction(), LipoReduction::Mean);
        assert_eq!(lipo.discount(), LambdaDiscount::Log2);
        assert_eq!(lipo.lambda_scale(), LambdaScale::One);
    }

    #[test]
    fn bad_beta_is_rejected_by_name() {
        for beta in [0.0, -0.1, f64::NAN, f64::INFINITY] {
            match LipoConfig::new().with_beta(beta).init() {
                Err(Error::InvalidConfig { field, reason }) => {
                    assert_eq!(field, "beta");
                    assert!(reason.contains("> 0"), "{reason}");
                }
                other => panic!("beta = {beta}: expected InvalidConfig, got {other:?}"),
            }
        }
    }
}
