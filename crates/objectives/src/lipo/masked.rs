//! Masked tensor operations on padded lists, written so that padded slots never reach a sum and
//! never receive a gradient, and that keep the float dtype of their input (f32 or f64).

use burn::prelude::*;

/// Fill value for masked entries before a log-sum-exp or a log-softmax: far below any score, yet
/// finite in f32 so that an all-masked row gives a finite (ignored) value instead of NaN.
pub(crate) const MASKED_LOGIT: f64 = -1e30;

/// 1 where `mask` is true, 0 elsewhere, in the dtype and on the device of `like`.
///
/// Built with `mask_fill` on `zeros_like` rather than `Bool::float()`, which would produce the
/// device's default float dtype (f32) even in an f64 computation.
pub(crate) fn indicator<const D: usize>(mask: Tensor<D, Bool>, like: &Tensor<D>) -> Tensor<D> {
    like.zeros_like().mask_fill(mask, 1.0)
}

/// `log Σ_{j: mask} exp(x_j)` along `dim` (kept with size 1). Rows with no `true` entry give a
/// finite, meaningless value: callers must mask them out.
pub(crate) fn masked_logsumexp<const D: usize>(
    x: Tensor<D>,
    mask: Tensor<D, Bool>,
    dim: usize,
) -> Tensor<D> {
    let filled = x.mask_fill(mask.bool_not(), MASKED_LOGIT);
    // The shift cancels exactly, so holding it constant leaves the gradient unchanged.
    let shift = filled.clone().detach().max_dim(dim);
    filled
        .sub(shift.clone())
        .exp()
        .sum_dim(dim)
        .log()
        .add(shift)
}

/// A copy of `x` that is cut from the autodiff graph and not itself tracked: for weights and
/// ranks that must carry no gradient.
pub(crate) fn constant<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    x.detach().set_require_grad(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_logsumexp_ignores_masked_entries() {
        let device = Device::flex();
        let x = Tensor::<2>::from_data([[1.0, 2.0, 1000.0], [0.5, f32::NAN, -3.0]], &device);
        let mask =
            Tensor::<2, Bool>::from_data([[true, true, false], [true, false, true]], &device);
        let got = masked_logsumexp(x, mask, 1)
            .try_into_vec_as::<f64>()
            .unwrap();
        let want = [
            (1f64.exp() + 2f64.exp()).ln(),
            (0.5f64.exp() + (-3f64).exp()).ln(),
        ];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{g} vs {w}");
        }
    }
}
