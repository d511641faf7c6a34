//! The base layer under a projection (and its LoRA adapter): f32 weights, or frozen weights
//! kept quantized.

use burn::nn::Linear;
use burn::prelude::*;

use crate::error::Result;
use crate::quantized::{QuantizedLinear, QuantizedPath};
use crate::weights::{NamedTensor, export_hf_linear, export_linear};

/// A projection's base layer.
#[derive(Module, Debug)]
pub enum BaseLinear {
    /// burn's `Linear`, weight `[in, out]` in f32: trainable.
    Dense(Linear),
    /// A GGUF-quantized weight (frozen) and an optional f32 bias.
    Quantized(QuantizedLinear),
}

impl BaseLinear {
    /// `path` chooses a quantized weight's kernels; f32 layers ignore it.
    ///
    /// # Shapes
    /// - x: `[n, in]`
    /// - output: `[n, out]`
    pub fn forward(&self, x: Tensor<2>, path: QuantizedPath) -> Tensor<2> {
        match self {
            Self::Dense(linear) => {
                // burn's `Linear::forward`, with the product through the fused matmul.
                let y = crate::fused::matmul(x, linear.weight.val());
                match &linear.bias {
                    Some(bias) => y + bias.val().unsqueeze::<2>(),
                    None => y,
                }
            }
            Self::Quantized(linear) => linear.forward(x, path),
        }
    }

    /// `(in, out)`.
    pub fn dims(&self) -> (usize, usize) {
        match self {
            Self::Dense(linear) => {
                let [d_in, d_out] = linear.weight.val().dims();
                (d_in, d_out)
            }
            Self::Quantized(linear) => (linear.weight.d_in(), linear.weight.d_out()),
        }
    }

    /// The f32 layer, when the weight is not quantized.
    pub fn dense(&self) -> Option<&Linear> {
        match self {
            Self::Dense(linear) => Some(linear),
            Self::Quantized(_) => None,
        }
    }

    /// Whether the weight is kept quantized.
    pub fn is_quantized(&self) -> bool {
        matches!(self, Self::Quantized(_))
    }

    /// The layer in HF names and layout (`{prefix}.weight [out, in]`, `{prefix}.bias`); a
    /// quantized weight is written dequantized.
    pub(crate) fn export(&self, prefix: &str, out: &mut Vec<NamedTensor>) -> Result<()> {
        match self {
            Self::Dense(linear) => export_linear(linear, prefix, out),
            Self::Quantized(linear) => export_hf_linear(
                prefix,
                linear.weight.matrix().dequantize(),
                [linear.weight.d_out(), linear.weight.d_in()],
                linear.bias.as_ref(),
                out,
            ),
        }
    }
}
