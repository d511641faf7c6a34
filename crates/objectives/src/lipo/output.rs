//! What a LiPO forward returns: the loss, the scores and detached metrics.

use burn::prelude::*;

use super::list::ListBatch;
use super::masked::{constant, indicator};

/// Result of [`Lipo::forward`](super::Lipo::forward).
#[derive(Debug, Clone)]
pub struct LipoOutput {
    /// The scalar loss, shape `[1]`, differentiable.
    pub loss: Tensor<1>,
    /// The scores s = β·(log π_θ − log π_ref), `[batch, K]`, differentiable; padded slots 0.
    pub scores: Tensor<2>,
    /// Detached metrics.
    pub metrics: LipoMetrics,
}

/// Detached `[1]`-shaped metrics of a batch, in the scores' dtype. Reading them is the caller's
/// choice (each read is a device sync).
///
/// "Best" and "worst" are the first and last items of the stable descending label order of each
/// list (ties in order of appearance); their means run over the lists with a valid item.
#[derive(Debug, Clone)]
pub struct LipoMetrics {
    /// Fraction of label-ordered pairs (ψ_i > ψ_j) with s_i > s_j **strictly**, pooled over
    /// the batch (tied scores count as wrong, like TRL's `rewards/accuracies`); 0 with no pair.
    pub pair_accuracy: Tensor<1>,
    /// Number of label-ordered pairs in the batch.
    pub num_pairs: Tensor<1>,
    /// Mean score of the best-labelled item of each list.
    pub best_score: Tensor<1>,
    /// Mean score of the worst-labelled item of each list.
    pub worst_score: Tensor<1>,
    /// Mean score over all valid items.
    pub mean_score: Tensor<1>,
}

impl LipoMetrics {
    pub(crate) fn of(list: &ListBatch) -> Self {
        let scores = constant(list.scores.clone());
        let pairs = list.pairs.clone();
        let diff = constant(list.score_differences());
        let correct = diff.clone().greater_elem(0.0).bool_and(pairs.clone());
        let num_pairs = indicator(pairs, &diff).sum();
        let pair_accuracy = indicator(correct, &diff).sum() / num_pairs.clone().clamp_min(1.0);

        let position = list.label_positions();
        let last = list
            .list_size
            .clone()
            .sub_scalar(1.0)
            .expand([list.batch, list.k]);
        let best = position.clone().equal_elem(0.0).bool_and(list.mask.clone());
        let worst = position.equal(last).bool_and(list.mask.clone());
        let num_lists = list.num_lists().clamp_min(1.0);
        let mean_at = |at: Tensor<2, Bool>| {
            scores.clone().mask_fill(at.bool_not(), 0.0).sum() / num_lists.clone()
        };
        let num_items = list.valid.clone().sum().clamp_min(1.0);
        Self {
            pair_accuracy,
            num_pairs,
            best_score: mean_at(best),
            worst_score: mean_at(worst),
            mean_score: (scores * list.valid.clone()).sum() / num_items,
        }
    }
}
