//! LD-DPO (Liu et al. 2024, "Length Desensitization in DPO", arXiv:2409.06411): the tail of a
//! completion past the pair's shared length is down-weighted by `ld_alpha`.

use burn::tensor::{FloatDType, Tensor};

/// Shared length ℓ_p = min(|y_c|, |y_r|) of each pair.
///
/// # Shapes
/// - `chosen_lengths`, `rejected_lengths`: `[batch]`
/// - output: `[batch]`
pub fn shared_lengths(chosen_lengths: Tensor<1>, rejected_lengths: Tensor<1>) -> Tensor<1> {
    chosen_lengths.min_pair(rejected_lengths)
}

/// Sum of per-token log-probs over the completion tokens past `shared_lengths`, i.e. the
/// [`TailLogps`](super::TailLogps) entry of one sequence batch.
///
/// Completion tokens are counted in order along the mask (TRL's `cumsum` of the completion
/// mask), so prompt and padding positions never count, whatever the padding side.
///
/// # Shapes
/// - `per_token_logps`: `[batch, seq]` (any value where the mask is 0)
/// - `completion_mask`: `[batch, seq]`, 1 on completion tokens, 0 elsewhere
/// - `shared_lengths`: `[batch]`
/// - output: `[batch]`
pub fn tail_logps(
    per_token_logps: Tensor<2>,
    completion_mask: Tensor<2>,
    shared_lengths: Tensor<1>,
) -> Tensor<1> {
    let dtype = FloatDType::from(per_token_logps.dtype());
    let mask = completion_mask.cast(dtype);
    let position = mask.clone().cumsum(1);
    let shared = shared_lengths.cast(dtype).unsqueeze_dim::<2>(1);
    let tail = (position - shared).greater_elem(0.0).cast(dtype) * mask;
    (per_token_logps * tail).sum_dim(1).squeeze_dim::<1>(1)
}
