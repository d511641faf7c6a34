//! The ranking losses of the LiPO paper.

use serde::{Deserialize, Serialize};

/// One listwise, pairwise or pointwise ranking loss from LiPO (Liu et al. 2024,
/// arXiv:2402.01878, §3 and Table 1).
///
/// Notation: s_i = β·(log π_θ(y_i) − log π_ref(y_i)) are the scores (Eq. 2), ψ_i the labels,
/// and "pairs" are the ordered pairs (i, j) of valid items with ψ_i > ψ_j **strictly** (tied
/// labels form no pair). Formulas are per list; how lists and pairs are combined into one
/// number is [`LipoReduction`](super::LipoReduction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LipoLossType {
    /// LiPO-λ (Eq. 8), the paper's method: Σ_pairs Δ_ij · log(1 + e^(−(s_i − s_j))) with the
    /// DCG lambda weight Δ_ij = |G_i − G_j| · |1/D(τ_i) − 1/D(τ_j)|, gain G = 2^ψ − 1 and
    /// discount D(τ) = log(1 + τ), τ_i the 1-based rank of item i under the current scores
    /// (stop-gradient). Rax's `pairwise_logistic_loss(lambdaweight_fn=dcg_lambdaweight)`.
    #[default]
    Lambda,
    /// Pair-logistic (Eq. 5): Σ_pairs log(1 + e^(−(s_i − s_j))). Equals **DPO-BT** (the
    /// Bradley-Terry DPO loss) at K = 2 (Prop. 2.1); with K > 2 it is DPO over all ranked
    /// pairs of the list.
    PairLogistic,
    /// Pair-hinge (Eq. 6): Σ_pairs max(0, 1 − (s_i − s_j)). Equals **SLiC-norm** (RSO's
    /// normalised SLiC; TRL's `hinge` DPO loss) at K = 2 (Prop. 2.2).
    PairHinge,
    /// List-MLE (Eq. 7): −Σ_k log[exp(s_τ(k)) / Σ_{j≥k} exp(s_τ(j))], τ the label-sorted
    /// order (stable: tied labels keep their order of appearance). Equals **DPO-PL**
    /// (Plackett-Luce DPO) and **PRO** (Prop. 2.3).
    ListMle,
    /// Softmax cross-entropy / ListNet (Eq. 11): −Σ_k t_k · log softmax(s)_k, with
    /// t = ψ/Σψ (Eq. 11) or t = ψ (Rax's default), see
    /// [`SoftmaxLabels`](super::SoftmaxLabels). The paper's "NCE" baseline.
    Softmax,
    /// Pointwise mean squared error (Eq. 9): Σ_k (ψ_k − s_k)². No named equivalent.
    PointMse,
    /// Pointwise sigmoid cross-entropy (Eq. 10): −Σ_k [ψ_k log σ(s_k) + (1 − ψ_k) log σ(−s_k)],
    /// labels clamped to [0, 1] as Rax does. No named equivalent.
    PointSigmoid,
}

impl LipoLossType {
    /// Whether the loss is a sum over label-ordered pairs (`lambda`, `pair_logistic`,
    /// `pair_hinge`), so that [`LipoReduction`](super::LipoReduction) counts pairs.
    pub fn is_pairwise(self) -> bool {
        matches!(self, Self::Lambda | Self::PairLogistic | Self::PairHinge)
    }

    /// Whether the loss is a sum over items (`point_mse`, `point_sigmoid`).
    pub fn is_pointwise(self) -> bool {
        matches!(self, Self::PointMse | Self::PointSigmoid)
    }
}
