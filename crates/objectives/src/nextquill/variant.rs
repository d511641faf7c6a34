//! `NextQuillVariant`: the full objective and the paper's ablation rows.

use serde::{Deserialize, Serialize};

/// Which terms the objective trains with, one arm per ablation row of the paper (Table
/// "ablation", as transcribed in the research notes §3.5; mapping to the authors' code in §2.8).
///
/// | variant | L_n weights | L_p in the loss | L_p weights | authors' code |
/// |---|---|---|---|---|
/// | `full` | ω (threshold / JS) | yes, α·L_p | uniform, or ω with `weight_alignment_term` | `CustomTrainer3` |
/// | `mce_only` | uniform | yes, α·L_p | uniform | `CustomTrainer2(causal=True)` |
/// | `dce_only` | ω | no | – | `CustomTrainer2(causal=False, weight_strategy="Target")` |
/// | `mce_dce_alignment` | uniform | yes, α·L_p | ω | not in the code (inferred row) |
///
/// "Uniform" means every valid target token gets weight 1 before normalisation, so with the
/// default `batch` normalisation the term is a plain token mean. In variants without L_p in
/// the loss, [`NextQuillOutput::l_p`](super::NextQuillOutput::l_p) is still reported, detached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NextQuillVariant {
    /// L_n (ω-weighted) + α·L_p: full NextQuill (the default).
    #[default]
    Full,
    /// Uniform L_n + α·uniform L_p: the model-side effect alone ("+ MCE only").
    MceOnly,
    /// ω-weighted L_n alone: the data-side token weighting alone ("+ DCE only").
    DceOnly,
    /// Uniform L_n + α·ω-weighted L_p ("+ MCE-DCE alignment"). The authors' code has no such
    /// configuration; this reading (the data-side weights applied to the alignment term only)
    /// is an inference, see `docs/nextquill.md`.
    MceDceAlignment,
}

impl NextQuillVariant {
    /// Whether L_n uses the preference weights ω (else uniform weights).
    pub fn weights_next_token_term(self) -> bool {
        matches!(self, Self::Full | Self::DceOnly)
    }

    /// Whether α·L_p is part of the loss.
    pub fn has_alignment_term(self) -> bool {
        !matches!(self, Self::DceOnly)
    }
}
