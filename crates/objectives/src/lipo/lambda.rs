//! LiPO-λ's DCG lambda weights (Eq. 8; Rax `dcg_lambdaweight`).

use burn::prelude::*;

use super::list::ListBatch;
use super::{LambdaDiscount, LambdaScale};
use crate::Result;

/// The lambda weights Δ_ij = |G_i − G_j| · |1/D(τ_i) − 1/D(τ_j)| · c of LiPO-λ (Eq. 8), for
/// every label-ordered pair (ψ_i > ψ_j, both valid) and 0 elsewhere.
///
/// - gain G = 2^ψ − 1;
/// - D(τ) = ln(1 + τ) ([`LambdaDiscount::Ln`], the paper) or log₂(1 + τ)
///   ([`LambdaDiscount::Log2`], Rax), τ the 1-based rank under the **current scores**
///   (stable descending, ties in order of appearance, see [`score_ranks`](super::score_ranks));
/// - c = 1 ([`LambdaScale::One`]) or the list's number of valid items
///   ([`LambdaScale::ListSize`]).
///
/// The result is a constant: no gradient flows into the scores or labels through it.
///
/// # Shapes
///
/// - `scores`, `labels`, `mask`: `[batch, K]`
/// - output: `[batch, K, K]`, entry `[b, i, j]` weighting the pair "i above j" of list b
///
/// # Errors
///
/// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if the inputs are not all
/// `[batch, K]`.
pub fn lambda_weights(
    scores: Tensor<2>,
    labels: Tensor<2>,
    mask: Tensor<2, Bool>,
    discount: LambdaDiscount,
    scale: LambdaScale,
) -> Result<Tensor<3>> {
    let list = ListBatch::new(scores, labels, mask)?;
    Ok(lambda_weights_of(&list, discount, scale))
}

/// [`lambda_weights`] on an already validated batch.
pub(crate) fn lambda_weights_of(
    list: &ListBatch,
    discount: LambdaDiscount,
    scale: LambdaScale,
) -> Tensor<3> {
    let shape = [list.batch, list.k, list.k];
    // G = 2^ψ − 1 (labels are already constant).
    let gain = list
        .labels
        .clone()
        .mul_scalar(std::f64::consts::LN_2)
        .exp()
        .sub_scalar(1.0);
    // 1/D(τ) with D = ln(1 + τ), or log₂(1 + τ) = ln(1 + τ)/ln 2. τ ≥ 1, so D ≥ ln 2 > 0.
    let mut inverse_discount = list.score_ranks().log1p().recip();
    if discount == LambdaDiscount::Log2 {
        inverse_discount = inverse_discount.mul_scalar(std::f64::consts::LN_2);
    }
    let pairwise_abs_diff = |x: Tensor<2>| {
        let x_i = x.clone().unsqueeze_dim::<3>(2).expand(shape);
        let x_j = x.unsqueeze_dim::<3>(1).expand(shape);
        (x_i - x_j).abs()
    };
    let mut weights = pairwise_abs_diff(gain) * pairwise_abs_diff(inverse_discount);
    if scale == LambdaScale::ListSize {
        weights = weights * list.list_size.clone().unsqueeze_dim::<3>(2).expand(shape);
    }
    weights.mask_fill(list.pairs.clone().bool_not(), 0.0)
}
