//! The two causal preference effects: model-side (logit difference) and data-side (gold-token
//! probability difference), plus the soft JS effect used by `soft_js` weighting.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};

/// Model-side causal preference effect (MCE), Δ_t = f_θ(x, h, y_<t) − f_θ(x, ∅, y_<t): the
/// logit difference between the with-history and the null-history pass.
///
/// # Shapes
/// - `logits_with_history`, `logits_null_history`, output: `[batch, T, V]`
pub fn model_effect(logits_with_history: Tensor<3>, logits_null_history: Tensor<3>) -> Tensor<3> {
    logits_with_history - logits_null_history
}

/// log softmax(logits)[y_t] for every position: the gold-token log-probability.
///
/// `targets` must hold ids in `[0, V)` (replace ignored positions, e.g. −100, before calling).
///
/// # Shapes
/// - `logits`: `[batch, T, V]`; `targets`, output: `[batch, T]`
pub fn gold_log_probs(logits: Tensor<3>, targets: Tensor<2, Int>) -> Tensor<2> {
    gather_gold(log_softmax(logits, 2), targets)
}

/// Data-side causal preference effect (DCE) of the gold token,
/// DCE_t = p(y_t | x, h, y_<t) − p(y_t | x, ∅, y_<t), a probability difference in [−1, 1].
///
/// Pass the logits of the model being trained (the "dynamic" estimate, the authors' code) or
/// of a frozen model fitted to the data (the "fixed" estimate). Not detached: detach the
/// inputs (or the output) when it must carry no gradient.
///
/// # Shapes
/// - `logits_with_history`, `logits_null_history`: `[batch, T, V]`
/// - `targets`, output: `[batch, T]`
pub fn gold_prob_effect(
    logits_with_history: Tensor<3>,
    logits_null_history: Tensor<3>,
    targets: Tensor<2, Int>,
) -> Tensor<2> {
    let gold_h = gold_log_probs(logits_with_history, targets.clone());
    let gold_n = gold_log_probs(logits_null_history, targets);
    gold_h.exp() - gold_n.exp()
}

/// Soft effect 2·JSD(p_h, p_∅) = KL(p_h ‖ m) + KL(p_∅ ‖ m), m = (p_h + p_∅)/2, per position.
///
/// # Shapes
/// - `logits_with_history`, `logits_null_history`: `[batch, T, V]`; output: `[batch, T]`
pub fn js_effect(logits_with_history: Tensor<3>, logits_null_history: Tensor<3>) -> Tensor<2> {
    js_from_log_probs(
        log_softmax(logits_with_history, 2),
        log_softmax(logits_null_history, 2),
    )
}

/// [`js_effect`] from log-probabilities. Works in log space so that probabilities that
/// underflow to 0 contribute exactly 0 (no 0·∞).
pub(crate) fn js_from_log_probs(log_p_h: Tensor<3>, log_p_n: Tensor<3>) -> Tensor<2> {
    // log m = logaddexp(log p_h, log p_∅) − ln 2, computed stably.
    let hi = log_p_h.clone().max_pair(log_p_n.clone());
    let gap = (log_p_h.clone() - log_p_n.clone()).abs().neg().exp().log1p();
    let log_m = (hi + gap).sub_scalar(std::f64::consts::LN_2);
    let kl_h = log_p_h.clone().exp() * (log_p_h - log_m.clone());
    let kl_n = log_p_n.clone().exp() * (log_p_n - log_m);
    (kl_h + kl_n).sum_dim(2).squeeze_dim::<2>(2)
}

pub(crate) fn gather_gold(log_probs: Tensor<3>, targets: Tensor<2, Int>) -> Tensor<2> {
    log_probs
        .gather(2, targets.unsqueeze_dim::<3>(2))
        .squeeze_dim::<2>(2)
}
