//! Pointwise losses: point-mse (Eq. 9) and point-sigmoid (Eq. 10).

use burn::prelude::*;
use burn::tensor::activation::log_sigmoid;

use super::LipoReduction;
use super::list::ListBatch;
use super::reduction::reduce;

/// (ψ_k − s_k)² per valid item, reduced with items as the units.
pub(crate) fn point_mse_loss(list: &ListBatch, reduction: LipoReduction) -> Tensor<1> {
    let terms = (list.labels.clone() - list.scores.clone()).powi_scalar(2);
    reduce(terms, list.mask.clone(), list, reduction)
}

/// −[ψ_k log σ(s_k) + (1 − ψ_k) log σ(−s_k)] per valid item (labels clamped to [0, 1] as Rax
/// does), reduced with items as the units. Uses the stable fused `log_sigmoid`.
pub(crate) fn point_sigmoid_loss(list: &ListBatch, reduction: LipoReduction) -> Tensor<1> {
    let labels = list.labels.clone().clamp(0.0, 1.0);
    let scores = list.scores.clone();
    let terms = (labels.clone() * log_sigmoid(scores.clone())
        + labels.neg().add_scalar(1.0) * log_sigmoid(scores.neg()))
    .neg();
    reduce(terms, list.mask.clone(), list, reduction)
}
