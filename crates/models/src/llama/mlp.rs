//! SwiGLU feed-forward block: `down(silu(gate(x)) * up(x))`.

use burn::prelude::*;

use super::config::LlamaConfig;
use crate::base_linear::BaseLinear;
use crate::error::Result;
use crate::lora::{LoraAdapter, LoraSlot, project, project_many};
use crate::quantized::QuantizedPath;
use crate::weights::{NamedTensor, WeightSource, load_base_linear};

/// `mlp` of a decoder layer (HF names `gate_proj`, `up_proj`, `down_proj`).
#[derive(Module, Debug)]
pub struct LlamaMlp {
    /// `hidden -> intermediate`, passed through SiLU.
    pub gate_proj: BaseLinear,
    /// `hidden -> intermediate`.
    pub up_proj: BaseLinear,
    /// `intermediate -> hidden`.
    pub down_proj: BaseLinear,
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
            gate_proj: load_base_linear(src, &format!("{prefix}.gate_proj"), d, i, bias, device)?,
            up_proj: load_base_linear(src, &format!("{prefix}.up_proj"), d, i, bias, device)?,
            down_proj: load_base_linear(src, &format!("{prefix}.down_proj"), i, d, bias, device)?,
            gate_proj_lora: None,
            up_proj_lora: None,
            down_proj_lora: None,
        })
    }

    pub(crate) fn export(&self, prefix: &str, out: &mut Vec<NamedTensor>) -> Result<()> {
        self.gate_proj.export(&format!("{prefix}.gate_proj"), out)?;
        self.up_proj.export(&format!("{prefix}.up_proj"), out)?;
        self.down_proj.export(&format!("{prefix}.down_proj"), out)
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
        self.forward_path(x, QuantizedPath::Exact)
    }

    /// [`LlamaMlp::forward`] with a quantized base's kernels chosen by `path`.
    ///
    /// # Shapes
    /// - x: `[b, t, hidden]`
    /// - output: `[b, t, hidden]`
    pub fn forward_path(&self, x: Tensor<3>, path: QuantizedPath) -> Tensor<3> {
        let [gate, up] = project_many(
            [
                (&self.gate_proj, self.gate_proj_lora.as_ref()),
                (&self.up_proj, self.up_proj_lora.as_ref()),
            ],
            x,
            path,
        );
        project(
            &self.down_proj,
            self.down_proj_lora.as_ref(),
            crate::fused::swiglu(gate, up),
            path,
        )
    }
}
