//! AdaLN pieces: the parameter-free LayerNorm (eps 1e-6) and the modulation
//! `LN(x)·(1 + scale) + shift`, plus the GELU-tanh feed-forward.

use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::gelu_approximate;

use super::config::NORM_EPS;
use crate::error::Result;
use crate::weights::{NamedTensor, WeightSource, export_linear, load_linear};

/// LayerNorm over the last dimension without affine parameters (biased variance, eps 1e-6).
///
/// # Shapes
/// - x: `[b, l, d]`
/// - output: same as x
pub(crate) fn layer_norm(x: Tensor<3>) -> Tensor<3> {
    let mean = x.clone().mean_dim(2);
    let centered = x - mean;
    let var = centered.clone().powi_scalar(2).mean_dim(2);
    centered / var.add_scalar(NORM_EPS).sqrt()
}

/// `LN(x)·(1 + scale) + shift`.
///
/// # Shapes
/// - x: `[b, l, d]`
/// - shift, scale: `[b, d]`
/// - output: `[b, l, d]`
pub(crate) fn modulate(x: Tensor<3>, shift: Tensor<2>, scale: Tensor<2>) -> Tensor<3> {
    layer_norm(x) * scale.add_scalar(1.0).unsqueeze_dim(1) + shift.unsqueeze_dim(1)
}

/// `Linear(SiLU(temb))` chunked into `n` modulation vectors `[b, D]` (in diffusers' order).
pub(crate) fn chunks(linear: &Linear, temb_silu: Tensor<2>, n: usize) -> Vec<Tensor<2>> {
    linear.forward(temb_silu).chunk(n, 1)
}

/// `FeedForward(dim, activation_fn="gelu-approximate")`: `net.0.proj` → GELU(tanh) → `net.2`.
#[derive(Module, Debug)]
pub struct FeedForward {
    /// `net.0.proj`, `D -> 4D`.
    pub proj_in: Linear,
    /// `net.2`, `4D -> D`.
    pub proj_out: Linear,
}

impl FeedForward {
    pub(crate) fn load(
        src: &mut dyn WeightSource,
        prefix: &str,
        d: usize,
        mlp: usize,
        device: &Device,
    ) -> Result<Self> {
        Ok(Self {
            proj_in: load_linear(src, &format!("{prefix}.net.0.proj"), d, mlp, true, device)?,
            proj_out: load_linear(src, &format!("{prefix}.net.2"), mlp, d, true, device)?,
        })
    }

    pub(crate) fn export(&self, prefix: &str, out: &mut Vec<NamedTensor>) -> Result<()> {
        export_linear(&self.proj_in, &format!("{prefix}.net.0.proj"), out)?;
        export_linear(&self.proj_out, &format!("{prefix}.net.2"), out)
    }

    /// # Shapes
    /// - x: `[b, l, D]`
    /// - output: `[b, l, D]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.proj_out
            .forward(gelu_approximate(self.proj_in.forward(x)))
    }
}
