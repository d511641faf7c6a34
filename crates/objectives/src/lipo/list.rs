//! A validated batch of padded lists and the masks every LiPO loss derives from it.

use burn::prelude::*;

use super::masked::{constant, indicator};
use super::ranks::stable_descending_positions;
use crate::{Error, Result};

/// Scores, labels and validity mask of `batch` lists padded to width `k`, with padded slots
/// already neutralised (set to 0, gradient cut) so that no NaN or infinity stored there can reach
/// a sum or a backward pass.
#[derive(Debug, Clone)]
pub(crate) struct ListBatch {
    /// `[batch, K]` scores; padded slots are 0 and pass no gradient.
    pub scores: Tensor<2>,
    /// `[batch, K]` labels, constant (no gradient); padded slots are 0.
    pub labels: Tensor<2>,
    /// `[batch, K]`, `true` for valid items.
    pub mask: Tensor<2, Bool>,
    /// `[batch, K]`, 1 for valid items and 0 for padding, in the scores' dtype.
    pub valid: Tensor<2>,
    /// `[batch, 1]` number of valid items of each list.
    pub list_size: Tensor<2>,
    /// `[batch, 1]`, `true` for lists with at least one valid item.
    pub list_valid: Tensor<2, Bool>,
    /// `[batch, K, K]` mask of the label-ordered pairs: items i and j both valid and
    /// ψ_i > ψ_j strictly (ties form no pair).
    pub pairs: Tensor<3, Bool>,
    pub batch: usize,
    pub k: usize,
}

/// Checks that `got` has the shape `expected`.
pub(crate) fn check_shape(what: &'static str, expected: &[usize], got: &[usize]) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            what,
            expected: expected.to_vec(),
            got: got.to_vec(),
        })
    }
}

impl ListBatch {
    /// Validates the shapes and neutralises the padded slots.
    ///
    /// # Shapes
    ///
    /// `scores`, `labels` and `mask`: `[batch, K]`.
    pub fn new(scores: Tensor<2>, labels: Tensor<2>, mask: Tensor<2, Bool>) -> Result<Self> {
        let dims = scores.dims();
        check_shape("labels", &dims, &labels.dims())?;
        check_shape("mask", &dims, &mask.dims())?;
        let [batch, k] = dims;
        let padded = mask.clone().bool_not();
        let scores = scores.mask_fill(padded.clone(), 0.0);
        // Labels live in the scores' dtype, so an f64 batch stays f64 even if labels came as f32.
        let labels = constant(labels).cast(scores.dtype()).mask_fill(padded, 0.0);
        let valid = indicator(mask.clone(), &scores);
        let list_size = valid.clone().sum_dim(1);
        let list_valid = list_size.clone().greater_elem(0.5);
        let pairs = pair_mask(&labels, &mask);
        Ok(Self {
            scores,
            labels,
            mask,
            valid,
            list_size,
            list_valid,
            pairs,
            batch,
            k,
        })
    }

    /// Number of lists with at least one valid item, as a `[1]` tensor in the scores' dtype.
    pub fn num_lists(&self) -> Tensor<1> {
        indicator(self.list_valid.clone(), &self.list_size).sum()
    }

    /// `[batch, K, K]` score differences s_i − s_j (differentiable).
    pub fn score_differences(&self) -> Tensor<3> {
        let shape = [self.batch, self.k, self.k];
        let score_i = self.scores.clone().unsqueeze_dim::<3>(2).expand(shape);
        let score_j = self.scores.clone().unsqueeze_dim::<3>(1).expand(shape);
        score_i - score_j
    }

    /// `[batch, K]` 0-based positions in the stable descending label order (the τ of
    /// list-MLE), padded items excluded.
    pub fn label_positions(&self) -> Tensor<2> {
        stable_descending_positions(self.labels.clone(), self.mask.clone())
    }

    /// `[batch, K]` 1-based ranks under the current scores, detached (the τ of LiPO-λ).
    pub fn score_ranks(&self) -> Tensor<2> {
        stable_descending_positions(constant(self.scores.clone()), self.mask.clone())
            .add_scalar(1.0)
    }
}

/// `[batch, K, K]` mask of the label-ordered pairs (see [`ListBatch::pairs`]).
fn pair_mask(labels: &Tensor<2>, mask: &Tensor<2, Bool>) -> Tensor<3, Bool> {
    let [batch, k] = labels.dims();
    let shape = [batch, k, k];
    let label_i = labels.clone().unsqueeze_dim::<3>(2).expand(shape);
    let label_j = labels.clone().unsqueeze_dim::<3>(1).expand(shape);
    let valid_i = mask.clone().unsqueeze_dim::<3>(2).expand(shape);
    let valid_j = mask.clone().unsqueeze_dim::<3>(1).expand(shape);
    label_i.greater(label_j).bool_and(valid_i).bool_and(valid_j)
}
