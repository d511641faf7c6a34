//! Listwise ranking losses: list-MLE (Eq. 7) and softmax cross-entropy (Eq. 11).

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use super::list::ListBatch;
use super::masked::{MASKED_LOGIT, masked_logsumexp};
use super::reduction::reduce;
use super::{LipoReduction, SoftmaxLabels};

/// List-MLE (Plackett-Luce likelihood of the label order), mean over lists with a valid item.
///
/// With τ the stable descending label order, the per-list loss is
/// Σ_k [log Σ_{j ≥ k} exp(s_τ(j)) − s_τ(k)]. Rather than sorting and taking a reverse masked
/// log-cumsum-exp, each item's tail set {j : pos_j ≥ pos_i} is a `[K, K]` mask row, so the
/// reverse log-cumsum-exp is one masked log-sum-exp: the same numbers, no gather, O(K²).
pub(crate) fn list_mle_loss(list: &ListBatch) -> Tensor<1> {
    let shape = [list.batch, list.k, list.k];
    let position = list.label_positions();
    let position_i = position.clone().unsqueeze_dim::<3>(2).expand(shape);
    let position_j = position.unsqueeze_dim::<3>(1).expand(shape);
    let valid_j = list.mask.clone().unsqueeze_dim::<3>(1).expand(shape);
    let tail = position_j.greater_equal(position_i).bool_and(valid_j);

    let score_j = list.scores.clone().unsqueeze_dim::<3>(1).expand(shape);
    let log_denominator = masked_logsumexp(score_j, tail, 2).squeeze_dim::<2>(2);
    let per_item =
        (log_denominator - list.scores.clone()).mask_fill(list.mask.clone().bool_not(), 0.0);
    per_list(per_item, list)
}

/// Softmax cross-entropy −Σ_k t_k log softmax(s)_k over valid items, mean over lists with a
/// valid item. Targets t per [`SoftmaxLabels`].
pub(crate) fn softmax_loss(list: &ListBatch, labels: SoftmaxLabels) -> Tensor<1> {
    let padded = list.mask.clone().bool_not();
    let log_p = log_softmax(
        list.scores.clone().mask_fill(padded.clone(), MASKED_LOGIT),
        1,
    );
    let targets = match labels {
        SoftmaxLabels::Raw => list.labels.clone(),
        SoftmaxLabels::Normalized => {
            let sum = list.labels.clone().sum_dim(1);
            let zero = sum.clone().equal_elem(0.0);
            let normalized = list.labels.clone()
                / sum
                    .mask_fill(zero.clone(), 1.0)
                    .expand([list.batch, list.k]);
            // Σψ = 0: uniform over the valid items (Rax's `normalize_probabilities`).
            let uniform = list.valid.clone()
                / list
                    .list_size
                    .clone()
                    .clamp_min(1.0)
                    .expand([list.batch, list.k]);
            normalized.mask_where(zero.expand([list.batch, list.k]), uniform)
        }
    };
    let per_item = (targets * log_p).neg().mask_fill(padded, 0.0);
    per_list(per_item, list)
}

/// Sums per-item terms of each list and averages over the lists with a valid item.
fn per_list(per_item: Tensor<2>, list: &ListBatch) -> Tensor<1> {
    // One term per list: `Sum` and `Mean` coincide (the mean over lists).
    reduce(
        per_item.sum_dim(1),
        list.list_valid.clone(),
        list,
        LipoReduction::Sum,
    )
}
