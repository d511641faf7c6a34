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
    let gap = (log_p_h.clone() - log_p_n.clone())
        .abs()
        .neg()
        .exp()
        .log1p();
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

#[cfg(test)]
mod tests {
    use burn::prelude::*;
    use burn::tensor::{DType, TensorData};

    use super::*;

    fn logits(values: Vec<f64>, v: usize) -> Tensor<3> {
        let n = values.len() / v;
        Tensor::from_data(
            TensorData::new(values, [1, n, v]),
            (&Device::flex(), DType::F64),
        )
    }

    #[test]
    fn js_effect_bounds_and_underflow() {
        // Identical distributions: 0. Disjoint (one-hot far apart, probabilities underflow to
        // exactly 0): 2·ln 2, the maximum of 2·JSD, and finite.
        let same = js_effect(
            logits(vec![0.3, -1.0, 2.0], 3),
            logits(vec![0.3, -1.0, 2.0], 3),
        );
        let far = js_effect(
            logits(vec![1e3, -1e3, -1e3], 3),
            logits(vec![-1e3, 1e3, -1e3], 3),
        );
        let same: f64 = same.into_scalar();
        let far: f64 = far.into_scalar();
        assert!(same.abs() < 1e-15, "{same}");
        assert!((far - 2.0 * std::f64::consts::LN_2).abs() < 1e-12, "{far}");
    }

    #[test]
    fn js_effect_matches_the_probability_formula() {
        let (zh, zn) = ([0.5, 1.5, -0.2, 0.0], [1.0, 0.1, 0.3, -0.7]);
        let softmax = |z: &[f64]| {
            let s: f64 = z.iter().map(|x| x.exp()).sum();
            z.iter().map(|x| x.exp() / s).collect::<Vec<_>>()
        };
        let (p, q) = (softmax(&zh), softmax(&zn));
        let want: f64 = p
            .iter()
            .zip(&q)
            .map(|(a, b)| {
                let m = 0.5 * (a + b);
                a * (a / m).ln() + b * (b / m).ln()
            })
            .sum();
        let got: f64 = js_effect(logits(zh.to_vec(), 4), logits(zn.to_vec(), 4)).into_scalar();
        assert!((got - want).abs() < 1e-14, "{got} vs {want}");
    }

    #[test]
    fn gold_prob_effect_is_a_probability_difference() {
        let device = Device::flex();
        let targets = Tensor::<2, Int>::from_data([[0, 2]], &device);
        let dce = gold_prob_effect(
            logits(vec![0.0, 0.0, 0.0, 5.0, 0.0, -5.0], 3),
            logits(vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0], 3),
            targets,
        );
        let v = dce.try_into_vec_as::<f64>().unwrap();
        assert!(v[0].abs() < 1e-15);
        let p = (-5f64).exp() / (5f64.exp() + 1.0 + (-5f64).exp());
        assert!((v[1] - (p - 1.0 / 3.0)).abs() < 1e-15);
    }
}
