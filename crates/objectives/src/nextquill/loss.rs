//! `NextQuill`: L_n + α·L_p, a pure function of the two aligned passes.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Bool, DType, FloatDType, Tensor};

use super::effect::{gather_gold, js_from_log_probs};
use super::weighting::threshold_weights;
use super::{
    DataEffectSource, NextQuillConfig, NextQuillInputs, NextQuillMetricValues, NextQuillMetrics,
    TokenWeighting,
};
use crate::{Error, Result};

/// The NextQuill objective (Zhao et al., ICLR 2026, arXiv:2506.02368), built by
/// [`NextQuillConfig::init`].
///
/// Per valid target token t, with z^h / z^∅ the with- / null-history logits and y_t the gold id:
/// - data-side effect DCE_t = p(y_t | h) − p(y_t | ∅) (from the trained model, detached, or
///   from a frozen model), and preference weights ω_t = λ if DCE_t > δ else ε (or 2·JSD);
/// - L_n = Σ_t ω̃_t·CE(z^h_t, y_t) with ω̃ the normalised weights;
/// - L_p = Σ_t ũ_t·CE(z^h_t − z^∅_t, y_t), the cross-entropy of the model-side effect, with
///   uniform normalised weights ũ (the code) or ω̃ (the paper, `weight_alignment_term`);
/// - loss = L_n + α·L_p.
///
/// Pure: no model call, no I/O, no logging. Works in f32 (f16/bf16 inputs are upcast) or f64.
#[derive(Debug, Clone)]
pub struct NextQuill {
    config: NextQuillConfig,
}

/// What [`NextQuill::forward`] returns.
#[derive(Debug, Clone)]
pub struct NextQuillOutput {
    /// L_n + α·L_p (or L_n alone for `dce_only`).
    ///
    /// # Shapes
    /// `[1]`
    pub loss: Tensor<1>,
    /// L_n, the weighted cross-entropy of the with-history pass.
    ///
    /// # Shapes
    /// `[1]`
    pub l_n: Tensor<1>,
    /// L_p, the cross-entropy of the logit difference; detached when the variant leaves it out
    /// of the loss (`dce_only`).
    ///
    /// # Shapes
    /// `[1]`
    pub l_p: Tensor<1>,
    /// The normalised preference weights ω̃ (detached, 0 at masked positions), whether or not
    /// the variant trains with them.
    ///
    /// # Shapes
    /// `[batch, T]`
    pub token_weights: Tensor<2>,
    /// The data-side effect DCE_t (detached, 0 at masked positions).
    ///
    /// # Shapes
    /// `[batch, T]`
    pub data_effect: Tensor<2>,
    /// Batch diagnostics.
    pub metrics: NextQuillMetrics,
}

impl NextQuillOutput {
    /// Reads the metrics to the host (one synchronisation).
    pub fn read_metrics(&self) -> NextQuillMetricValues {
        self.metrics.read()
    }
}

/// f64 stays f64; f32 and Flex32 stay; half precisions are upcast to f32.
fn work_dtype(dtype: DType) -> FloatDType {
    match dtype {
        DType::F64 => FloatDType::F64,
        DType::Flex32 => FloatDType::Flex32,
        _ => FloatDType::F32,
    }
}

/// Σ values / count, 0 when count is 0.
fn masked_mean(values: Tensor<2>, mask: Tensor<2, Bool>, count: Tensor<1>) -> Tensor<1> {
    let total = values.mask_fill(mask.bool_not(), 0.0).sum();
    let zero = count.clone().equal_elem(0.0);
    (total / count.mask_fill(zero, 1.0)).detach()
}

impl NextQuill {
    pub(crate) fn from_validated(config: NextQuillConfig) -> Self {
        Self { config }
    }

    /// The validated configuration.
    pub fn config(&self) -> &NextQuillConfig {
        &self.config
    }

    /// Computes the loss, its two terms, the token weights and the metrics of a batch.
    ///
    /// # Shapes
    /// - `logits_with_history`, `logits_null_history` (and the frozen ones): `[batch, T, V]`
    /// - `targets`, `target_mask`: `[batch, T]`
    /// - `loss`, `l_n`, `l_p`: `[1]`; `token_weights`, `data_effect`: `[batch, T]`
    ///
    /// Targets at valid positions must be ids in `[0, V)` (not checked: that would need a host
    /// synchronisation).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when the inputs disagree (or a dimension is 0);
    /// [`Error::InvalidConfig`] naming `data_effect_source` when it is `fixed` without frozen
    /// logits, or `dynamic` with frozen logits.
    pub fn forward(&self, inputs: NextQuillInputs) -> Result<NextQuillOutput> {
        inputs.check_shapes()?;
        let cfg = &self.config;
        match (cfg.data_effect_source, inputs.frozen.is_some()) {
            (DataEffectSource::Fixed, false) => {
                return Err(Error::InvalidConfig {
                    field: "data_effect_source",
                    reason: "is \"fixed\" but NextQuillInputs::frozen is None".into(),
                });
            }
            (DataEffectSource::Dynamic, true) => {
                return Err(Error::InvalidConfig {
                    field: "data_effect_source",
                    reason: "is \"dynamic\" but frozen logits were passed; set it to \"fixed\" \
                             to use them"
                        .into(),
                });
            }
            _ => {}
        }

        let dtype = work_dtype(inputs.logits_with_history.dtype());
        let mask = inputs.target_mask;
        let invalid = mask.clone().bool_not();
        let targets = inputs.targets.mask_fill(invalid.clone(), 0);
        let z_h = inputs.logits_with_history.cast(dtype);
        let z_n = inputs.logits_null_history.cast(dtype);
        let z_n = if cfg.detach_null_history {
            z_n.detach()
        } else {
            z_n
        };

        let log_p_h = log_softmax(z_h.clone(), 2);
        let log_p_n = log_softmax(z_n.clone(), 2);
        let gold_h = gather_gold(log_p_h.clone(), targets.clone());
        let gold_n = gather_gold(log_p_n.clone(), targets.clone());
        // CE(z^h − z^∅, y): the model-side effect scored like logits.
        let effect_ce = gather_gold(log_softmax(z_h - z_n, 2), targets.clone()).neg();
        let ce_h = gold_h.clone().neg();

        // Data-side effect (and the log-probs the JS weights read), from the chosen source.
        let (data_effect, js_log_probs) = match inputs.frozen {
            None => {
                let dce = gold_h.clone().detach().exp() - gold_n.clone().detach().exp();
                (dce, (log_p_h, log_p_n))
            }
            Some(frozen) => {
                let f_h = log_softmax(frozen.logits_with_history.cast(dtype).detach(), 2);
                let f_n = log_softmax(frozen.logits_null_history.cast(dtype).detach(), 2);
                let dce = gather_gold(f_h.clone(), targets.clone()).exp()
                    - gather_gold(f_n.clone(), targets).exp();
                (dce, (f_h, f_n))
            }
        };
        let data_effect = data_effect.mask_fill(invalid.clone(), 0.0);

        let raw_weights = match cfg.token_weighting {
            TokenWeighting::Threshold => threshold_weights(
                data_effect.clone(),
                mask.clone(),
                cfg.delta,
                cfg.lambda,
                cfg.epsilon,
            ),
            TokenWeighting::SoftJs => {
                let (lh, ln) = js_log_probs;
                let (lh, ln) = if cfg.detach_weights {
                    (lh.detach(), ln.detach())
                } else {
                    (lh, ln)
                };
                js_from_log_probs(lh, ln)
                    .clamp_min(0.0)
                    .mask_fill(invalid.clone(), 0.0)
            }
        };
        let raw_weights = if cfg.detach_weights {
            raw_weights.detach()
        } else {
            raw_weights
        };
        let uniform = mask.clone().cast(dtype);

        let norm = cfg.weight_normalization;
        let variant = cfg.variant;
        let l_n_weights = if variant.weights_next_token_term() {
            raw_weights.clone()
        } else {
            uniform.clone()
        };
        let l_p_weights = if cfg.weights_alignment_term() {
            raw_weights.clone()
        } else {
            uniform.clone()
        };
        let l_n = norm.reduce(ce_h.clone(), l_n_weights, mask.clone());
        let l_p = norm.reduce(effect_ce, l_p_weights, mask.clone());
        let (loss, l_p) = if variant.has_alignment_term() {
            (l_n.clone() + l_p.clone().mul_scalar(cfg.alpha), l_p)
        } else {
            (l_n.clone(), l_p.detach())
        };

        let count = uniform.sum().detach();
        let bearing = data_effect
            .clone()
            .greater_elem(cfg.delta)
            .bool_and(mask.clone())
            .cast(dtype);
        let metrics = NextQuillMetrics {
            preference_token_fraction: masked_mean(bearing, mask.clone(), count.clone()),
            mean_preference_weight: masked_mean(
                raw_weights.clone().detach(),
                mask.clone(),
                count.clone(),
            ),
            mean_data_effect: masked_mean(data_effect.clone(), mask.clone(), count.clone()),
            mean_gold_log_ratio: masked_mean(
                (gold_h - gold_n.clone()).detach(),
                mask.clone(),
                count.clone(),
            ),
            nll_with_history: masked_mean(ce_h.detach(), mask.clone(), count.clone()),
            nll_null_history: masked_mean(gold_n.neg().detach(), mask.clone(), count.clone()),
            valid_tokens: count,
        };

        Ok(NextQuillOutput {
            loss,
            l_n,
            l_p,
            token_weights: norm.normalize(raw_weights.detach(), mask).detach(),
            data_effect: data_effect.detach(),
            metrics,
        })
    }
}
