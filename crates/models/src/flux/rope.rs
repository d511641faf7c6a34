//! FLUX's 3-axis rotary position embedding over `[text; image]` position ids.

use burn::prelude::*;

use super::config::ROPE_THETA;
use crate::error::{ModelError, Result};

/// Cosine and sine tables for one joint sequence, built on the host in f64 and cast to f32
/// (as diffusers' `FluxPosEmbed` does).
#[derive(Debug, Clone)]
pub struct FluxRope {
    /// `[1, 1, L, head_dim]`, repeat-interleaved (θ0, θ0, θ1, θ1, …).
    cos: Tensor<4>,
    /// `[1, 1, L, head_dim]`.
    sin: Tensor<4>,
    len: usize,
}

impl FluxRope {
    /// Tables for `ids = cat(txt_ids, img_ids)` (text first), each row `(axis0, axis1, axis2)`.
    ///
    /// Per axis i of width dᵢ: ω_k = 1/θ^(2k/dᵢ), angle = posᵢ·ω_k (f64), cos/sin repeated
    /// twice, the three axes concatenated to `head_dim = Σ dᵢ`.
    pub fn new(
        txt_ids: &[[f32; 3]],
        img_ids: &[[f32; 3]],
        axes_dims: &[usize],
        device: &Device,
    ) -> Result<Self> {
        if axes_dims.len() != 3 || axes_dims.iter().any(|d| !d.is_multiple_of(2)) {
            return Err(ModelError::InvalidInput(format!(
                "axes_dims_rope must be 3 even widths, got {axes_dims:?}"
            )));
        }
        let head_dim: usize = axes_dims.iter().sum();
        let len = txt_ids.len() + img_ids.len();
        let mut cos = Vec::with_capacity(len * head_dim);
        let mut sin = Vec::with_capacity(len * head_dim);
        let freqs: Vec<Vec<f64>> = axes_dims
            .iter()
            .map(|&d| {
                (0..d / 2)
                    .map(|k| 1.0 / ROPE_THETA.powf((2 * k) as f64 / d as f64))
                    .collect()
            })
            .collect();
        for id in txt_ids.iter().chain(img_ids) {
            for (axis, axis_freqs) in freqs.iter().enumerate() {
                let pos = f64::from(id[axis]);
                for &w in axis_freqs {
                    let (s, c) = (pos * w).sin_cos();
                    cos.extend([c as f32, c as f32]);
                    sin.extend([s as f32, s as f32]);
                }
            }
        }
        let shape = [1, 1, len, head_dim];
        Ok(Self {
            cos: Tensor::from_data(TensorData::new(cos, shape), device),
            sin: Tensor::from_data(TensorData::new(sin, shape), device),
            len,
        })
    }

    /// Joint sequence length L = text + image tokens.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the tables cover no token.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Rotates interleaved pairs: `out₂ₖ = x₂ₖ cos − x₂ₖ₊₁ sin`, `out₂ₖ₊₁ = x₂ₖ₊₁ cos + x₂ₖ sin`.
    ///
    /// # Shapes
    /// - x: `[b, heads, L, head_dim]`
    /// - output: same as x
    pub fn apply(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, h, l, d] = x.dims();
        let pairs = x.clone().reshape([b, h, l, d / 2, 2]);
        let even = pairs.clone().slice([0..b, 0..h, 0..l, 0..d / 2, 0..1]);
        let odd = pairs.slice([0..b, 0..h, 0..l, 0..d / 2, 1..2]);
        let rotated = Tensor::cat(vec![odd.neg(), even], 4).reshape([b, h, l, d]);
        x * self.cos.clone() + rotated * self.sin.clone()
    }
}
