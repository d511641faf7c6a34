//! NextQuill: causal preference modelling for LLM personalisation (Zhao et al., ICLR 2026,
//! arXiv:2506.02368; code `juntaoyou/NextQuill`).
//!
//! Every example is run twice with teacher forcing on the same target: with the user's history
//! in the prompt and with a null history. From the two aligned logit tensors at the target
//! positions the objective builds
//! - the **model-side effect** Δ_t = z^h_t − z^∅_t ([`model_effect`]),
//! - the **data-side effect** DCE_t = p(y_t | h) − p(y_t | ∅) of the gold token
//!   ([`gold_prob_effect`]), from the trained model ("dynamic", the code) or a frozen one
//!   ("fixed"),
//! - **preference weights** ω_t = λ if DCE_t > δ else ε ([`TokenWeighting::Threshold`]) or
//!   2·JSD ([`TokenWeighting::SoftJs`], [`js_effect`]), normalised ([`WeightNormalization`]),
//!
//! and the loss L_n + α·L_p: L_n = Σ ω̃_t·CE(z^h_t, y_t), L_p = Σ ũ_t·CE(z^h_t − z^∅_t, y_t).
//!
//! [`NextQuillConfig`] → [`NextQuillConfig::init`] (validates) → [`NextQuill::forward`] on
//! [`NextQuillInputs`] → [`NextQuillOutput`] `{ loss, l_n, l_p, token_weights, data_effect,
//! metrics }`. The defaults follow the authors' code; the paper's variants and the ablation
//! rows ([`NextQuillVariant`]) are config keys. See `docs/nextquill.md`.
//!
//! # Example
//!
//! ```
//! use burn::prelude::*;
//! use prefopt_objectives::nextquill::{NextQuillConfig, NextQuillInputs};
//!
//! let device = Device::flex();
//! let nq = NextQuillConfig::new().init()?;
//! // One sequence, T = 2 target tokens, V = 3. Equal passes: the history has no effect.
//! let logits = Tensor::<3>::from_data([[[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]]], &device);
//! let targets = Tensor::<2, Int>::from_data([[1, 2]], &device);
//! let mask = Tensor::<2, Bool>::from_data([[true, true]], &device);
//! let out = nq.forward(NextQuillInputs::new(logits.clone(), logits, targets, mask))?;
//! // With z^h = z^∅ the effect distribution is uniform: L_p = ln |V|.
//! let l_p: f32 = out.l_p.into_scalar();
//! assert!((l_p - 3f32.ln()).abs() < 1e-6);
//! # Ok::<(), prefopt_objectives::Error>(())
//! ```

mod config;
mod effect;
mod inputs;
mod loss;
mod metrics;
mod normalization;
mod source;
mod variant;
mod weighting;

pub use config::NextQuillConfig;
pub use effect::{gold_log_probs, gold_prob_effect, js_effect, model_effect};
pub use inputs::{FrozenLogits, NextQuillInputs};
pub use loss::{NextQuill, NextQuillOutput};
pub use metrics::{NextQuillMetricValues, NextQuillMetrics};
pub use normalization::WeightNormalization;
pub use source::DataEffectSource;
pub use variant::NextQuillVariant;
pub use weighting::{TokenWeighting, threshold_weights};
