//! Turning per-pair, per-item or per-list terms into the scalar loss ([`LipoReduction`]).

use burn::prelude::*;

use super::LipoReduction;
use super::list::ListBatch;
use super::masked::indicator;

/// Reduces `terms` (`[batch, U]`: U pairs, items or a single per-list term per list) over the
/// entries where `units` is true.
///
/// - [`LipoReduction::Sum`]: Σ of each list's terms, averaged over the lists with at least one
///   valid item.
/// - [`LipoReduction::Mean`]: Σ of all terms / number of units in the batch.
///
/// Either gives 0 (not NaN) when there is nothing to average. Masked terms are replaced, not
/// multiplied, so a non-finite value there cannot leak into the loss or its gradient.
pub(crate) fn reduce(
    terms: Tensor<2>,
    units: Tensor<2, Bool>,
    list: &ListBatch,
    reduction: LipoReduction,
) -> Tensor<1> {
    let total = terms.clone().mask_fill(units.clone().bool_not(), 0.0).sum();
    let denominator = match reduction {
        LipoReduction::Sum => list.num_lists(),
        LipoReduction::Mean => indicator(units, &terms).sum(),
    };
    total / denominator.clamp_min(1.0)
}
