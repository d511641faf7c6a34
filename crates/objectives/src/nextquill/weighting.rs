//! `TokenWeighting`: how the data-side effect becomes per-token weights ω.

use burn::tensor::{Bool, Tensor};
use serde::{Deserialize, Serialize};

/// The rule that turns a per-token effect score into the preference weight ω_t (before
/// normalisation; see [`WeightNormalization`](super::WeightNormalization)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenWeighting {
    /// ω_t = λ if DCE_t > δ else ε, with DCE_t = p(y_t | x, h, y_<t) − p(y_t | x, ∅, y_<t)
    /// (the paper, and the authors' `weight_strategy="Target"`). The default.
    #[default]
    Threshold,
    /// ω_t = KL(p_h ‖ m) + KL(p_∅ ‖ m) with m = (p_h + p_∅)/2, i.e. 2·JSD between the two
    /// next-token distributions (the authors' unused `weight_strategy="JS"`).
    SoftJs,
}

/// Threshold weights: λ where `effect > delta`, ε elsewhere, 0 at masked positions.
///
/// The comparison is strict, as in the authors' code (`dce > 0.05`).
///
/// # Shapes
/// - `effect`, `mask`, output: `[batch, T]`
pub fn threshold_weights(
    effect: Tensor<2>,
    mask: Tensor<2, Bool>,
    delta: f64,
    lambda: f64,
    epsilon: f64,
) -> Tensor<2> {
    let bearing = effect.clone().greater_elem(delta);
    effect
        .full_like(epsilon)
        .mask_fill(bearing, lambda)
        .mask_fill(mask.bool_not(), 0.0)
}
