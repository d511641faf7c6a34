//! The base layer under a projection (and its LoRA adapter): f32 weights, or frozen weights
//! kept quantized.

use burn::nn::Linear;
use burn::prelude::*;

use crate::error::Result;
use crate::quantized::{QuantizedLinear, QuantizedPath};
use crate::weights::{NamedTensor, export_linear, read_back};

/// A projection's base layer.
#[derive(Module, Debug)]
pub enum BaseLinear {
    /// burn's `Linear`, weight `[in, out]` in f32: trainable.
    Dense(Linear),
    /// A GGUF-quantized weight (frozen) and an optional f32 bias.
    Quantized(QuantizedLinear),
}

impl From<Linear> for BaseLinear {
    fn from(linear: Linear) -> Self {
        Self::Dense(linear)
    }
}

impl BaseLinear {
    /// `path` chooses a quantized weight's kernels; f32 layers ignore it.
    ///
    /// # Shapes
    /// - x: `[n, in]`
    /// - output: `[n, out]`
    pub fn forward(&self, x: Tensor<2>, path: QuantizedPath) -> Tensor<2> {
        match self {
            Self::Dense(linear) => linear.forward(x),
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

    /// The f32 layer, mutably, when the weight is not quantized.
    pub fn dense_mut(&mut self) -> Option<&mut Linear> {
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
            Self::Quantized(linear) => {
                out.push(NamedTensor {
                    name: format!("{prefix}.weight"),
                    shape: vec![linear.weight.d_out(), linear.weight.d_in()],
                    data: linear.weight.matrix().dequantize(),
                });
                if let Some(b) = &linear.bias {
                    out.push(NamedTensor {
                        name: format!("{prefix}.bias"),
                        shape: vec![linear.weight.d_out()],
                        data: read_back(b.val())?,
                    });
                }
                Ok(())
            }
        }
    }
}
