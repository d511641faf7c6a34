//! A linear layer whose frozen weight stays quantized.

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;

use super::{QuantizedPath, QuantizedWeight, quantized_matmul};

/// `x · Wᵀ (+ b)` with `W` quantized (`[out, in]`); the bias, when there is one, is an
/// ordinary f32 parameter.
#[derive(Module, Debug)]
pub struct QuantizedLinear {
    /// The weight, `[out, in]` in GGUF blocks.
    #[module(skip)]
    pub weight: QuantizedWeight,
    /// The bias `[out]`.
    pub bias: Option<Param<Tensor<1>>>,
}

impl QuantizedLinear {
    /// A layer of `weight` and an optional `bias`.
    pub fn new(weight: QuantizedWeight, bias: Option<Param<Tensor<1>>>) -> Self {
        Self { weight, bias }
    }

    /// # Shapes
    /// - x: `[n, in]`
    /// - output: `[n, out]`
    pub fn forward(&self, x: Tensor<2>, path: QuantizedPath) -> Tensor<2> {
        let y = quantized_matmul(x, &self.weight, path);
        match &self.bias {
            Some(b) => y + b.val().unsqueeze_dim(0),
            None => y,
        }
    }

    /// The same layer in f32 on `device` (weight dequantized, in burn's `[in, out]` layout;
    /// the bias shared): what an adapter merges into.
    pub fn dequantized(&self, device: &Device) -> Linear {
        let (d_in, d_out) = (self.weight.d_in(), self.weight.d_out());
        let w = crate::weights::transpose(&self.weight.matrix().dequantize(), d_out, d_in);
        Linear {
            weight: Param::from_data(TensorData::new(w, [d_in, d_out]), device),
            bias: self.bias.clone(),
        }
    }
}
