//! `DataEffectSource`: which model estimates the data-side effect.

use serde::{Deserialize, Serialize};

/// Which model's probabilities estimate the data-side effect (and the soft JS effect).
///
/// The paper's appendix describes a "dynamic" and a "fixed" estimator (research notes §1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataEffectSource {
    /// The model being trained, from the same two passes as the loss, detached: the authors'
    /// code (the default). Costs no extra forward.
    #[default]
    Dynamic,
    /// A frozen model fitted to the data (e.g. a ContextSFT checkpoint), whose with- and
    /// null-history logits are passed in [`NextQuillInputs::frozen`](super::NextQuillInputs::frozen):
    /// two extra forwards without gradients. Used by the third-party MIRROR reimplementation.
    Fixed,
}
