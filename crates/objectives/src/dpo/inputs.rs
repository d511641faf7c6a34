//! `DpoInputs`: what the DPO family reads — sequence log-probs, never a model.

use burn::tensor::{DType, FloatDType, Tensor};

use crate::{Error, Result};

/// Inputs of [`Dpo::forward`](super::Dpo::forward), one entry per preference pair.
///
/// Log-probs are **summed** over completion tokens (prompt and padding masked out), as TRL's
/// trainer produces them. Every tensor is cast to the dtype of `policy_chosen_logps`, so an
/// f64 policy keeps the whole loss in f64.
///
/// # Shapes
/// - every field: `[batch]`
#[derive(Debug, Clone)]
pub struct DpoInputs {
    /// log π_θ(y_c|x), summed over the chosen completion.
    pub policy_chosen_logps: Tensor<1>,
    /// log π_θ(y_r|x), summed over the rejected completion.
    pub policy_rejected_logps: Tensor<1>,
    /// log π_ref(y_c|x) (no gradient is taken through it).
    pub reference_chosen_logps: Tensor<1>,
    /// log π_ref(y_r|x).
    pub reference_rejected_logps: Tensor<1>,
    /// |y_c|: completion token counts of the chosen answers (float; clamped ≥ 1 where divided).
    pub chosen_lengths: Tensor<1>,
    /// |y_r|: completion token counts of the rejected answers.
    pub rejected_lengths: Tensor<1>,
    /// Tail log-probs for LD-DPO; required when `ld_alpha` is set.
    pub tail_logps: Option<TailLogps>,
    /// WPO log-weights; required when `use_weighting` is on.
    pub wpo_log_weights: Option<WpoLogWeights>,
}

/// LD-DPO tails: for each sequence, the sum of its per-token log-probs over the completion
/// tokens past the pair's shared length ℓ_p = min(|y_c|, |y_r|) (zero for the shorter one).
///
/// With ld_alpha = α the loss uses log π(y) − (1 − α)·tail = Σ_{t≤ℓ_p} + α·Σ_{t>ℓ_p}.
/// [`tail_logps`](super::tail_logps) computes a tail from per-token log-probs.
///
/// # Shapes
/// - every field: `[batch]`
#[derive(Debug, Clone)]
pub struct TailLogps {
    /// Tail of log π_θ(y_c|x).
    pub policy_chosen: Tensor<1>,
    /// Tail of log π_θ(y_r|x).
    pub policy_rejected: Tensor<1>,
    /// Tail of log π_ref(y_c|x).
    pub reference_chosen: Tensor<1>,
    /// Tail of log π_ref(y_r|x).
    pub reference_rejected: Tensor<1>,
}

/// WPO log-weights: log w(y) = (1/|y|) Σ_t [log π_θ(y_t) − log Σ_v π_θ(v)²], as computed by
/// [`wpo_log_weights`](super::wpo_log_weights). They are detached inside the loss.
///
/// # Shapes
/// - every field: `[batch]`
#[derive(Debug, Clone)]
pub struct WpoLogWeights {
    /// log w(y_c).
    pub chosen: Tensor<1>,
    /// log w(y_r).
    pub rejected: Tensor<1>,
}

impl DpoInputs {
    /// The required inputs; no LD-DPO tails, no WPO weights.
    pub fn new(
        policy_chosen_logps: Tensor<1>,
        policy_rejected_logps: Tensor<1>,
        reference_chosen_logps: Tensor<1>,
        reference_rejected_logps: Tensor<1>,
        chosen_lengths: Tensor<1>,
        rejected_lengths: Tensor<1>,
    ) -> Self {
        Self {
            policy_chosen_logps,
            policy_rejected_logps,
            reference_chosen_logps,
            reference_rejected_logps,
            chosen_lengths,
            rejected_lengths,
            tail_logps: None,
            wpo_log_weights: None,
        }
    }

    /// Adds the LD-DPO tails.
    #[must_use]
    pub fn with_tail_logps(mut self, tails: TailLogps) -> Self {
        self.tail_logps = Some(tails);
        self
    }

    /// Adds the WPO log-weights.
    #[must_use]
    pub fn with_wpo_log_weights(mut self, weights: WpoLogWeights) -> Self {
        self.wpo_log_weights = Some(weights);
        self
    }

    /// Checks that every tensor is `[batch]` with the same, non-zero batch, and casts them all
    /// to the dtype of `policy_chosen_logps`.
    pub(crate) fn checked(self) -> Result<Self> {
        let batch = self.policy_chosen_logps.dims()[0];
        if batch == 0 {
            return Err(Error::ShapeMismatch {
                what: "policy_chosen_logps",
                expected: vec![1],
                got: vec![0],
            });
        }
        let dtype = self.policy_chosen_logps.dtype();
        let fix = |what: &'static str, t: Tensor<1>| align(what, t, batch, dtype);
        Ok(Self {
            policy_rejected_logps: fix("policy_rejected_logps", self.policy_rejected_logps)?,
            reference_chosen_logps: fix("reference_chosen_logps", self.reference_chosen_logps)?,
            reference_rejected_logps: fix(
                "reference_rejected_logps",
                self.reference_rejected_logps,
            )?,
            chosen_lengths: fix("chosen_lengths", self.chosen_lengths)?,
            rejected_lengths: fix("rejected_lengths", self.rejected_lengths)?,
            tail_logps: match self.tail_logps {
                None => None,
                Some(t) => Some(TailLogps {
                    policy_chosen: fix("tail_logps.policy_chosen", t.policy_chosen)?,
                    policy_rejected: fix("tail_logps.policy_rejected", t.policy_rejected)?,
                    reference_chosen: fix("tail_logps.reference_chosen", t.reference_chosen)?,
                    reference_rejected: fix("tail_logps.reference_rejected", t.reference_rejected)?,
                }),
            },
            wpo_log_weights: match self.wpo_log_weights {
                None => None,
                Some(w) => Some(WpoLogWeights {
                    chosen: fix("wpo_log_weights.chosen", w.chosen)?,
                    rejected: fix("wpo_log_weights.rejected", w.rejected)?,
                }),
            },
            policy_chosen_logps: self.policy_chosen_logps,
        })
    }
}

/// Checks a `[batch]` tensor and casts it to `dtype`.
pub(crate) fn align(
    what: &'static str,
    t: Tensor<1>,
    batch: usize,
    dtype: DType,
) -> Result<Tensor<1>> {
    let got = t.dims()[0];
    if got != batch {
        return Err(Error::ShapeMismatch {
            what,
            expected: vec![batch],
            got: vec![got],
        });
    }
    Ok(if t.dtype() == dtype {
        t
    } else {
        t.cast(FloatDType::from(dtype))
    })
}
