//! The DPO family: pairwise preference losses on sequence log-probs.
//!
//! [`DpoConfig`] → [`DpoConfig::init`] (validates) → [`Dpo::forward`] on [`DpoInputs`] →
//! [`DpoOutput`] `{ loss, per_pair, metrics }`. Every TRL `DPOTrainer` `loss_type` is a
//! [`DpoLossType`] arm, with TRL's modifiers: f-divergence scores ([`FDivergenceType`]),
//! LD-DPO (`ld_alpha` + [`TailLogps`]), WPO (`use_weighting` + [`WpoLogWeights`]) and loss
//! mixes (`loss_weights`). The reference-free CPO / SimPO / AlphaPO losses are [`Cpo`].
//!
//! The losses are pure functions of tensors: the trainer computes summed completion log-probs
//! with the model, and passes them here. The helpers [`tail_logps`], [`log_sum_squared_probs`]
//! and [`wpo_log_weights`] turn per-token data into the extra inputs LD-DPO and WPO need.
//! See `docs/objectives-dpo.md` for formulas and conventions.

mod config;
mod cpo;
mod divergence;
mod inputs;
mod length_desensitized;
mod loss;
mod loss_type;
mod metrics;
mod weighting;

pub use config::{DpoConfig, IpoNormalization};
pub use cpo::{Cpo, CpoConfig, CpoInputs, CpoLossType, CpoOutput};
pub use divergence::FDivergenceType;
pub use inputs::{DpoInputs, TailLogps, WpoLogWeights};
pub use length_desensitized::{shared_lengths, tail_logps};
pub use loss::{Dpo, DpoOutput};
pub use loss_type::DpoLossType;
pub use metrics::{PairMetricValues, PairMetrics};
pub use weighting::{log_sum_squared_probs, wpo_log_weights};
