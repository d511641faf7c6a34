//! `NextQuillMetrics`: per-batch diagnostics of the objective, kept on the device.

use burn::tensor::Tensor;

/// Batch diagnostics of [`NextQuill::forward`](super::NextQuill::forward), all detached and
/// averaged over the valid target tokens of the batch (0 when there are none).
///
/// Reading them costs one host synchronisation: call [`summary`](Self::summary) to keep them
/// on the device, or [`read`](Self::read) for host values.
///
/// # Shapes
/// - every field: `[1]`
#[derive(Debug, Clone)]
pub struct NextQuillMetrics {
    /// Fraction of valid tokens whose data-side effect exceeds δ (the preference-bearing
    /// tokens of the threshold rule; reported for `soft_js` too).
    pub preference_token_fraction: Tensor<1>,
    /// Mean unnormalised preference weight ω (λ/ε, or 2·JSD for `soft_js`).
    pub mean_preference_weight: Tensor<1>,
    /// Mean data-side effect p(y_t | h) − p(y_t | ∅) of the source in use (dynamic or fixed).
    pub mean_data_effect: Tensor<1>,
    /// Mean log p_θ(y_t | h) − log p_θ(y_t | ∅) of the trained model (the gold token's entry
    /// of the centred model-side effect); > 0 when the history helps the gold token.
    pub mean_gold_log_ratio: Tensor<1>,
    /// Unweighted token-mean cross-entropy of the with-history pass.
    pub nll_with_history: Tensor<1>,
    /// Unweighted token-mean cross-entropy of the null-history pass.
    pub nll_null_history: Tensor<1>,
    /// Number of valid target tokens.
    pub valid_tokens: Tensor<1>,
}

/// Host values of [`NextQuillMetrics`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NextQuillMetricValues {
    /// See [`NextQuillMetrics::preference_token_fraction`].
    pub preference_token_fraction: f64,
    /// See [`NextQuillMetrics::mean_preference_weight`].
    pub mean_preference_weight: f64,
    /// See [`NextQuillMetrics::mean_data_effect`].
    pub mean_data_effect: f64,
    /// See [`NextQuillMetrics::mean_gold_log_ratio`].
    pub mean_gold_log_ratio: f64,
    /// See [`NextQuillMetrics::nll_with_history`].
    pub nll_with_history: f64,
    /// See [`NextQuillMetrics::nll_null_history`].
    pub nll_null_history: f64,
    /// See [`NextQuillMetrics::valid_tokens`].
    pub valid_tokens: f64,
}

impl NextQuillMetrics {
    /// Metric names, in the order of [`summary`](Self::summary).
    pub const NAMES: [&'static str; 7] = [
        "preference_token_fraction",
        "mean_preference_weight",
        "mean_data_effect",
        "mean_gold_log_ratio",
        "nll_with_history",
        "nll_null_history",
        "valid_tokens",
    ];

    /// All metrics in [`NAMES`](Self::NAMES) order, still on the device.
    ///
    /// # Shapes
    /// - output: `[7]`
    pub fn summary(&self) -> Tensor<1> {
        Tensor::cat(
            vec![
                self.preference_token_fraction.clone(),
                self.mean_preference_weight.clone(),
                self.mean_data_effect.clone(),
                self.mean_gold_log_ratio.clone(),
                self.nll_with_history.clone(),
                self.nll_null_history.clone(),
                self.valid_tokens.clone(),
            ],
            0,
        )
    }

    /// Reads the metrics to the host (one synchronisation).
    pub fn read(&self) -> NextQuillMetricValues {
        let v = self
            .summary()
            .into_data()
            .try_into_vec_as::<f64>()
            .expect("float metrics convert to f64");
        NextQuillMetricValues {
            preference_token_fraction: v[0],
            mean_preference_weight: v[1],
            mean_data_effect: v[2],
            mean_gold_log_ratio: v[3],
            nll_with_history: v[4],
            nll_null_history: v[5],
            valid_tokens: v[6],
        }
    }
}

impl NextQuillMetricValues {
    /// `(name, value)` pairs in [`NextQuillMetrics::NAMES`] order, ready for a logger.
    pub fn named(&self) -> [(&'static str, f64); 7] {
        let n = NextQuillMetrics::NAMES;
        [
            (n[0], self.preference_token_fraction),
            (n[1], self.mean_preference_weight),
            (n[2], self.mean_data_effect),
            (n[3], self.mean_gold_log_ratio),
            (n[4], self.nll_with_history),
            (n[5], self.nll_null_history),
            (n[6], self.valid_tokens),
        ]
    }
}
