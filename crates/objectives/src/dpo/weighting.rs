//! WPO (Zhou et al. 2024, "WPO: Enhancing RLHF with Weighted Preference Optimization",
//! arXiv:2406.11827, Eq. 2): per-sequence weights that favour on-policy pairs.

use burn::tensor::{FloatDType, Tensor};

/// log Σ_v π(v)² at each position, from logits: logsumexp(2·x) − 2·logsumexp(x).
///
/// Computed on detached logits (WPO weights carry no gradient).
///
/// # Shapes
/// - `logits`: `[batch, seq, vocab]`
/// - output: `[batch, seq]`
pub fn log_sum_squared_probs(logits: Tensor<3>) -> Tensor<2> {
    let logits = logits.detach();
    let lse2 = logsumexp_last(logits.clone().mul_scalar(2.0));
    let lse1 = logsumexp_last(logits);
    lse2 - lse1.mul_scalar(2.0)
}

/// WPO log-weight of each sequence: (1/|y|) Σ_t [log π(y_t) − log Σ_v π(v)²] over completion
/// tokens (|y| clamped ≥ 1), detached. Feed chosen and rejected rows into
/// [`WpoLogWeights`](super::WpoLogWeights).
///
/// # Shapes
/// - `per_token_logps`, `log_sum_squared_probs`, `completion_mask`: `[batch, seq]`
/// - output: `[batch]`
pub fn wpo_log_weights(
    per_token_logps: Tensor<2>,
    log_sum_squared_probs: Tensor<2>,
    completion_mask: Tensor<2>,
) -> Tensor<1> {
    let dtype = FloatDType::from(per_token_logps.dtype());
    let mask = completion_mask.cast(dtype);
    let aligned = (per_token_logps.detach() - log_sum_squared_probs.detach()) * mask.clone();
    let lengths = mask.sum_dim(1).clamp_min(1.0);
    (aligned.sum_dim(1) / lengths).squeeze_dim::<1>(1)
}

/// Stable logsumexp over the last axis.
fn logsumexp_last(x: Tensor<3>) -> Tensor<2> {
    let max = x.clone().max_dim(2).detach();
    let sum = (x - max.clone()).exp().sum_dim(2);
    (max + sum.log()).squeeze_dim::<2>(2)
}
