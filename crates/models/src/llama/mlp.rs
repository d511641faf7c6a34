//! SwiGLU feed-forward block: `down(silu(gate(x)) * up(x))`.

use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::silu;

use super::config::LlamaConfig;
use crate::error::Result;
use crate::weights::{NamedTensor, WeightSource, export_linear, load_linear};

/// `mlp` of a decoder layer (HF names `gate_proj`, `up_proj`, `down_proj`).
#[derive(Module, Debug)]
pub struct LlamaMlp {
    /// `hidden -> intermediate`, passed through SiLU.
    pub gate_proj: Linear,
    /// `hidden -> intermediate`.
    pub up_proj: Linear,
    /// `intermediate -> hidden`.
    pub down_proj: Linear,
}

impl LlamaMlp {
    pub(crate) fn load(
        src: &mut dyn WeightSource,
        prefix: &str,
        c: &LlamaConfig,
        device: &Device,
    ) -> Result<Self> {
        let (d, i, bias) = (c.hidden_size, c.intermediate_size, c.mlp_bias);
        Ok(Self {
            gate_proj: load_linear(src, &format!("{prefix}.gate_proj"), d, i, bias, device)?,
            up_proj: load_linear(src, &format!("{prefix}.up_proj"), d, i, bias, device)?,
            down_proj: load_linear(src, &format!("{prefix}.down_proj"), i, d, bias, device)?,
        })
    }

    pub(crate) fn export(&self, prefix: &str, out: &mut Vec<NamedTensor>) -> Result<()> {
        export_linear(&self.gate_proj, &format!("{prefix}.gate_proj"), out)?;
        export_linear(&self.up_proj, &format!("{prefix}.up_proj"), out)?;
        export_linear(&self.down_proj, &format!("{prefix}.down_proj"), out)
    }

    /// # Shapes
    /// - x: `[b, t, hidden]`
    /// - output: `[b, t, hidden]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let gate = silu(self.gate_proj.forward(x.clone()));
        self.down_proj.forward(gate * self.up_proj.forward(x))
    }
}
