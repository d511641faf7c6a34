//! Linear layers over the rows of a folded tensor.

use burn::prelude::*;

/// A `[..., d]` tensor as the rows of a `[n, d]` matrix, and the way back.
///
/// burn's `linear` keeps a 3-d input as a batched matmul against the broadcast weight when it
/// tiles well, and the autodiff backward of that broadcast then computes one weight gradient
/// per batch row (`[b, in, out]`) and sums them. As one `[n, in] @ [in, out]` product the
/// weight gradient is a single GEMM over all `n` rows.
pub(crate) struct FoldedRows<const D: usize> {
    /// `[n, d]`
    pub values: Tensor<2>,
    dims: [usize; D],
}

/// Folds every leading dimension of `x` into rows.
pub(crate) fn fold_rows<const D: usize>(x: Tensor<D>) -> FoldedRows<D> {
    let dims = x.dims();
    let d = dims[D - 1];
    let n = dims[..D - 1].iter().product();
    FoldedRows {
        values: x.reshape([n, d]),
        dims,
    }
}

impl<const D: usize> FoldedRows<D> {
    /// `y` (`[n, d_out]`) with the leading dimensions of the folded input restored.
    pub fn unfold(&self, y: Tensor<2>) -> Tensor<D> {
        let mut dims = self.dims;
        dims[D - 1] = y.dims()[1];
        y.reshape(dims)
    }
}
