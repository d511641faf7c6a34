//! Labels from a pairwise preference model (LiPO §3.3 / §4.1).

use burn::prelude::*;

use super::list::check_shape;
use super::masked::indicator;
use crate::Result;

/// Aggregates a pairwise win-probability matrix into listwise labels:
/// ψ_k = (1/n) Σ_{i valid} Ψ_{k,i}, with Ψ_{k,i} = P(y_k ≻ y_i) and n the number of valid items
/// of the list. The sum includes the diagonal Ψ_{k,k} (0.5 by the paper's convention, also for
/// human ranks: M_ii = 0.5), so for an unpadded list this is exactly the paper's
/// ψ_k = (1/K) Σ_i Ψ_{k,i}. Padded rows and columns are ignored; padded labels are 0.
///
/// # Shapes
///
/// - `win_probabilities`: `[batch, K, K]`, entry `[b, k, i]` = P(y_k ≻ y_i)
/// - `mask`: `[batch, K]`
/// - output: `[batch, K]`, in the dtype of `win_probabilities`
///
/// # Errors
///
/// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if the matrix is not square or does
/// not match the mask.
pub fn aggregate_win_probabilities(
    win_probabilities: Tensor<3>,
    mask: Tensor<2, Bool>,
) -> Result<Tensor<2>> {
    let [batch, k] = mask.dims();
    check_shape(
        "win_probabilities",
        &[batch, k, k],
        &win_probabilities.dims(),
    )?;
    let shape = [batch, k, k];
    let valid_i = mask.clone().unsqueeze_dim::<3>(1).expand(shape);
    let valid_k = mask.clone().unsqueeze_dim::<3>(2).expand(shape);
    let counted = valid_i.bool_and(valid_k);
    let total = win_probabilities
        .mask_fill(counted.bool_not(), 0.0)
        .sum_dim(2)
        .squeeze_dim::<2>(2);
    let list_size = indicator(mask, &total).sum_dim(1).clamp_min(1.0);
    Ok(total / list_size.expand([batch, k]))
}
