//! Stable descending ranks within padded lists, computed by pairwise comparison.
//!
//! The position of item i is the number of valid items j that a stable descending sort puts
//! before it: those with a larger key, and those with an equal key that appear earlier
//! (j < i). That is exactly the order `jax.lax.sort` gives Rax's `sort_ranks` without a PRNG
//! key, padded items last. Comparing all pairs costs O(K²) per list, the same as the pairwise
//! losses themselves, needs no sort kernel (whose stability differs between backends) and no
//! gather, and yields ranks that carry no gradient by construction.

use burn::prelude::*;

use super::masked::indicator;
use crate::{Error, Result};

/// 0-based positions of the valid items of each list in a stable descending sort of `keys`.
/// Padded items never move a valid item; their own positions are meaningless.
///
/// # Shapes
///
/// - `keys`: `[batch, K]`
/// - `mask`: `[batch, K]`
/// - output: `[batch, K]`, in the dtype of `keys`
pub(crate) fn stable_descending_positions(keys: Tensor<2>, mask: Tensor<2, Bool>) -> Tensor<2> {
    let [batch, k] = keys.dims();
    let shape = [batch, k, k];
    // Index [b, i, j]: item i is the one being placed, item j a candidate to go before it.
    let key_i = keys.clone().unsqueeze_dim::<3>(2).expand(shape);
    let key_j = keys.unsqueeze_dim::<3>(1).expand(shape);
    let valid_j = mask.unsqueeze_dim::<3>(1).expand(shape);

    let index = Tensor::<1, Int>::arange(0..k as i64, &key_i.device());
    let index_i = index.clone().reshape([1, k, 1]).expand(shape);
    let index_j = index.reshape([1, 1, k]).expand(shape);
    let earlier = index_j.lower(index_i);

    let ahead = key_j
        .clone()
        .greater(key_i.clone())
        .bool_or(key_j.equal(key_i.clone()).bool_and(earlier))
        .bool_and(valid_j);
    indicator(ahead, &key_i).sum_dim(2).squeeze_dim::<2>(2)
}

/// 1-based ranks τ of the items of each list under their current scores: descending, ties in
/// order of appearance, padded items after all valid ones. These are the τ(i) of LiPO-λ's
/// discount (Eq. 8). No gradient flows through them.
///
/// # Shapes
///
/// - `scores`: `[batch, K]`
/// - `mask`: `[batch, K]`, `true` for valid items
/// - output: `[batch, K]` float ranks in the dtype of `scores` (values at padded slots are
///   meaningless)
///
/// # Errors
///
/// [`Error::ShapeMismatch`] if `mask` is not shaped like `scores`.
pub fn score_ranks(scores: Tensor<2>, mask: Tensor<2, Bool>) -> Result<Tensor<2>> {
    let expected = scores.dims().to_vec();
    let got = mask.dims().to_vec();
    if got != expected {
        return Err(Error::ShapeMismatch {
            what: "mask",
            expected,
            got,
        });
    }
    let scores = super::masked::constant(scores);
    Ok(stable_descending_positions(scores, mask).add_scalar(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranks(scores: [[f64; 5]; 1], mask: [[bool; 5]; 1]) -> Vec<f64> {
        let device = Device::flex();
        let scores = Tensor::<2>::from_data(scores, &device);
        let mask = Tensor::<2, Bool>::from_data(mask, &device);
        score_ranks(scores, mask)
            .unwrap()
            .try_into_vec_as::<f64>()
            .unwrap()
    }

    #[test]
    fn ranks_are_descending_and_one_based() {
        // §2.8 of the research notes: s = [0.2, 0.5, −0.1, 0.0] → ranks [2, 1, 4, 3].
        let got = ranks(
            [[0.2, 0.5, -0.1, 0.0, 9.0]],
            [[true, true, true, true, false]],
        );
        assert_eq!(&got[..4], &[2.0, 1.0, 4.0, 3.0]);
    }

    #[test]
    fn ties_keep_their_order_of_appearance() {
        let got = ranks([[1.0, 3.0, 1.0, 3.0, 1.0]], [[true; 5]]);
        assert_eq!(got, vec![3.0, 1.0, 4.0, 2.0, 5.0]);
    }

    #[test]
    fn padding_never_shifts_valid_ranks() {
        // A padded slot with the largest score, a NaN and an infinity: valid ranks are 1..=2.
        let got = ranks(
            [[100.0, 0.3, f64::NAN, 0.7, f64::INFINITY]],
            [[false, true, false, true, false]],
        );
        assert_eq!((got[1], got[3]), (2.0, 1.0));
    }
}
