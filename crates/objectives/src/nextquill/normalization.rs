//! `WeightNormalization`: how token weights and per-token losses become one number.

use burn::tensor::{Bool, FloatDType, Tensor};
use serde::{Deserialize, Serialize};

/// How the per-token weights are normalised, which fixes how a weighted token loss
/// Σ ω̃_t·ℓ_t is reduced over the batch.
///
/// The same rule serves L_n and L_p; for an unweighted term the weights are 1 at every valid
/// token. With N valid tokens in the batch, n_b in row b and S valid rows (rows with ≥ 1 valid
/// token):
///
/// | value | normalised weights ω̃ | loss | source |
/// |---|---|---|---|
/// | `batch` | ω / Σ_batch ω (sum to 1 over the batch) | Σ ω̃ ℓ | authors' code (default) |
/// | `sequence` | ω / Σ_row ω (sum to 1 in each row) | (1/S) Σ_b Σ_t ω̃ ℓ | per-example variant |
/// | `token_count` | ω / N | Σ ω̃ ℓ | "by token count" |
/// | `sum` | ω (unnormalised) | (1/S) Σ_b Σ_t ω ℓ | the paper's printed L_n, L_p |
///
/// A group whose weights are all zero (no valid token, or every weight 0) contributes 0
/// instead of dividing by zero. With uniform weights `batch` and `token_count` are both the
/// token mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightNormalization {
    /// Weights sum to 1 over all valid tokens of the (micro-)batch: the authors' code.
    #[default]
    Batch,
    /// Weights sum to 1 within each sequence; sequences are then averaged.
    Sequence,
    /// Weights divided by the number of valid tokens of the batch.
    TokenCount,
    /// Raw weights summed over each sequence's tokens, then averaged over sequences: the
    /// paper's (1/|D|) Σ_(x,h,y) Σ_t ω_t·CE as printed.
    Sum,
}

/// Divides `num` by `den` where `den > 0`, and yields 0 where `den == 0` (`num` is then 0 too,
/// since weights are non-negative).
fn safe_div<const D: usize>(num: Tensor<D>, den: Tensor<D>) -> Tensor<D> {
    let zero = den.clone().equal_elem(0.0);
    num / den.mask_fill(zero, 1.0)
}

impl WeightNormalization {
    /// The normalised weights ω̃ of the table above.
    ///
    /// `weights` must be non-negative and 0 at masked positions.
    ///
    /// # Shapes
    /// - `weights`, output: `[batch, T]`
    pub fn normalize(self, weights: Tensor<2>, mask: Tensor<2, Bool>) -> Tensor<2> {
        let [batch, t] = weights.dims();
        match self {
            Self::Batch => {
                let total = weights.clone().sum().reshape([1, 1]).expand([batch, t]);
                safe_div(weights, total)
            }
            Self::Sequence => {
                let rows = weights.clone().sum_dim(1).expand([batch, t]);
                safe_div(weights, rows)
            }
            Self::TokenCount => {
                let dtype = FloatDType::from(weights.dtype());
                let count = mask.cast(dtype).sum().reshape([1, 1]).expand([batch, t]);
                safe_div(weights, count)
            }
            Self::Sum => weights,
        }
    }

    /// Σ ω̃·ℓ reduced as in the table above (dividing by S for `sequence` and `sum`).
    ///
    /// # Shapes
    /// - `token_losses`, `weights`, `mask`: `[batch, T]`
    /// - output: `[1]`
    pub fn reduce(
        self,
        token_losses: Tensor<2>,
        weights: Tensor<2>,
        mask: Tensor<2, Bool>,
    ) -> Tensor<1> {
        let normalized = self.normalize(weights, mask.clone());
        // `mask_fill` (not a product) so a non-finite loss at a masked position cannot leak in,
        // not even as a NaN gradient of the weights.
        let losses = token_losses.mask_fill(mask.clone().bool_not(), 0.0);
        let total = (losses * normalized).sum();
        match self {
            Self::Batch | Self::TokenCount => total,
            Self::Sequence | Self::Sum => {
                let dtype = FloatDType::from(total.dtype());
                let rows = mask.any_dim(1).cast(dtype).sum();
                safe_div(total, rows)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::prelude::*;
    use burn::tensor::{DType, TensorData};

    use super::*;

    fn setup() -> (Tensor<2>, Tensor<2>, Tensor<2, Bool>) {
        let device = Device::flex();
        let f = |v: Vec<f64>| Tensor::from_data(TensorData::new(v, [3, 2]), (&device, DType::F64));
        // Row 0: two valid tokens; row 1: one valid token of weight 0; row 2: padding only.
        let weights = f(vec![0.9, 0.1, 0.0, 0.0, 0.0, 0.0]);
        let losses = f(vec![1.0, 2.0, 3.0, f64::NAN, f64::NAN, f64::NAN]);
        let mask = Tensor::from_data(
            TensorData::new(vec![true, true, true, false, false, false], [3, 2]),
            &device,
        );
        (losses, weights, mask)
    }

    fn read(t: Tensor<1>) -> f64 {
        t.try_into_vec_as::<f64>().unwrap()[0]
    }

    #[test]
    fn zero_weight_groups_contribute_zero_and_padding_never_leaks() {
        let cases = [
            (WeightNormalization::Batch, 0.9 + 0.2),
            // Rows 0 and 1 are valid (S = 2); row 1 has weight 0 and contributes 0.
            (WeightNormalization::Sequence, (0.9 + 0.2) / 2.0),
            (WeightNormalization::TokenCount, (0.9 + 0.2) / 3.0),
            (WeightNormalization::Sum, (0.9 + 0.2) / 2.0),
        ];
        for (norm, want) in cases {
            let (losses, weights, mask) = setup();
            let got = read(norm.reduce(losses, weights, mask));
            assert!((got - want).abs() < 1e-15, "{norm:?}: {got} vs {want}");
        }
    }
}
