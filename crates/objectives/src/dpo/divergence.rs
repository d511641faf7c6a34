//! f-divergence scores (f-DPO, Wang et al. 2023, arXiv:2309.16240): the log-ratio r is mapped
//! through f′ before the pairwise loss.

use burn::tensor::Tensor;
use burn::tensor::activation::log_sigmoid;
use serde::{Deserialize, Serialize};

/// The largest exponent fed to `exp` by the score transforms. TRL clamps the α-divergence
/// exponent at 80 for f32/bf16 (e^80 ≈ 5.5e34 is finite in f32); we use the same cap for every
/// dtype and also for `forward_kl`, where TRL has none and overflows to `inf`/`NaN` instead.
pub(crate) const MAX_EXP_ARG: f64 = 80.0;

/// Which f-divergence regularises the policy against the reference (TRL `f_divergence_type`).
///
/// Scores follow the TRL HEAD formulas (additive constants dropped, as there): a score is used
/// through differences Δs = s_c − s_r by most losses, where constants cancel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FDivergenceType {
    /// Reverse KL, standard DPO: s = r.
    #[default]
    ReverseKl,
    /// Forward KL: s = −e^(−r) (exponent capped at 80, see the docs page).
    ForwardKl,
    /// Jensen–Shannon: s = log σ(r).
    JsDivergence,
    /// α-divergence: s = e^((a−1)r)/(a−1), a = `f_alpha_divergence_coef` (TRL HEAD
    /// convention; TRL ≤ 0.28 used α′ = 1 − a). The exponent is capped at 80; |a − 1| < 1e-6
    /// falls back to reverse KL.
    AlphaDivergence,
}

impl FDivergenceType {
    /// Maps log-ratios r to scores s.
    ///
    /// # Shapes
    /// - `log_ratios`: `[batch]`
    /// - output: `[batch]`
    pub fn scores(self, log_ratios: Tensor<1>, alpha_coef: f64) -> Tensor<1> {
        match self {
            Self::ReverseKl => log_ratios,
            Self::ForwardKl => log_ratios.neg().clamp_max(MAX_EXP_ARG).exp().neg(),
            Self::JsDivergence => log_sigmoid(log_ratios),
            Self::AlphaDivergence => {
                let a1 = alpha_coef - 1.0;
                if a1.abs() < 1e-6 {
                    log_ratios
                } else {
                    log_ratios
                        .mul_scalar(a1)
                        .clamp_max(MAX_EXP_ARG)
                        .exp()
                        .div_scalar(a1)
                }
            }
        }
    }
}
