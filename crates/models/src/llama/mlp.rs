//! SwiGLU feed-forward block: `down(silu(gate(x)) * up(x))`.

use burn::nn::Linear;
use burn::prelude::*;

use super::config::LlamaConfig;
use crate::error::Result;
use crate::lora::{LoraAdapter, LoraSlot, project};
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
    /// LoRA adapter of `gate_proj` (none unless attached, see [`crate::LoraConfig`]).
    pub gate_proj_lora: Option<LoraAdapter>,
    /// LoRA adapter of `up_proj`.
    pub up_proj_lora: Option<LoraAdapter>,
    /// LoRA adapter of `down_proj`.
    pub down_proj_lora: Option<LoraAdapter>,
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
            gate_proj_lora: None,
            up_proj_lora: None,
            down_proj_lora: None,
        })
    }

    pub(crate) fn export(&self, prefix: &str, out: &mut Vec<NamedTensor>) -> Result<()> {
        export_linear(&self.gate_proj, &format!("{prefix}.gate_proj"), out)?;
        export_linear(&self.up_proj, &format!("{prefix}.up_proj"), out)?;
        export_linear(&self.down_proj, &format!("{prefix}.down_proj"), out)
    }

    /// The three projections and their adapter slots, with HF paths under `prefix`.
    pub(crate) fn lora_slots<'a>(&'a mut self, prefix: &str, out: &mut Vec<LoraSlot<'a>>) {
        out.push(LoraSlot::new(
            prefix,
            "gate_proj",
            &mut self.gate_proj,
            &mut self.gate_proj_lora,
        ));
        out.push(LoraSlot::new(
            prefix,
            "up_proj",
            &mut self.up_proj,
            &mut self.up_proj_lora,
        ));
        out.push(LoraSlot::new(
            prefix,
            "down_proj",
            &mut self.down_proj,
            &mut self.down_proj_lora,
        ));
    }

    /// # Shapes
    /// - x: `[b, t, hidden]`
    /// - output: `[b, t, hidden]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let gate = project(&self.gate_proj, self.gate_proj_lora.as_ref(), x.clone());
        let up = project(&self.up_proj, self.up_proj_lora.as_ref(), x);
        project(
            &self.down_proj,
            self.down_proj_lora.as_ref(),
            crate::fused::swiglu(gate, up),
        )
    }
}
