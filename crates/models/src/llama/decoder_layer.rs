//! One pre-norm decoder layer.

use burn::nn::RmsNorm;
use burn::prelude::*;

use super::attention::LlamaAttention;
use super::config::LlamaConfig;
use super::mlp::LlamaMlp;
use super::rope::RopeTables;
use crate::base_linear::BaseLinear;
use crate::error::Result;
use crate::kv_cache::LayerCache;
use crate::lora::LoraSlot;
use crate::weights::{NamedTensor, WeightSource, export_rms_norm, load_rms_norm};

/// `x + attn(norm(x))`, then `x + mlp(norm(x))` (HF `LlamaDecoderLayer`).
#[derive(Module, Debug)]
pub struct DecoderLayer {
    /// Attention block.
    pub self_attn: LlamaAttention,
    /// Feed-forward block.
    pub mlp: LlamaMlp,
    /// Norm before attention.
    pub input_layernorm: RmsNorm,
    /// Norm before the MLP.
    pub post_attention_layernorm: RmsNorm,
}

impl DecoderLayer {
    pub(crate) fn load(
        src: &mut dyn WeightSource,
        prefix: &str,
        c: &LlamaConfig,
        device: &Device,
    ) -> Result<Self> {
        let (d, eps) = (c.hidden_size, c.rms_norm_eps);
        Ok(Self {
            self_attn: LlamaAttention::load(src, &format!("{prefix}.self_attn"), c, device)?,
            mlp: LlamaMlp::load(src, &format!("{prefix}.mlp"), c, device)?,
            input_layernorm: load_rms_norm(
                src,
                &format!("{prefix}.input_layernorm.weight"),
                d,
                eps,
                device,
            )?,
            post_attention_layernorm: load_rms_norm(
                src,
                &format!("{prefix}.post_attention_layernorm.weight"),
                d,
                eps,
                device,
            )?,
        })
    }

    pub(crate) fn export(&self, prefix: &str, out: &mut Vec<NamedTensor>) -> Result<()> {
        self.self_attn.export(&format!("{prefix}.self_attn"), out)?;
        self.mlp.export(&format!("{prefix}.mlp"), out)?;
        export_rms_norm(
            &self.input_layernorm,
            &format!("{prefix}.input_layernorm.weight"),
            out,
        )?;
        export_rms_norm(
            &self.post_attention_layernorm,
            &format!("{prefix}.post_attention_layernorm.weight"),
            out,
        )
    }

    /// The seven projections' base layers in HF order: `q_proj`, `k_proj`, `v_proj`, `o_proj`,
    /// `gate_proj`, `up_proj`, `down_proj`.
    pub fn projections(&self) -> [&BaseLinear; 7] {
        let (a, m) = (&self.self_attn, &self.mlp);
        [
            &a.q_proj,
            &a.k_proj,
            &a.v_proj,
            &a.o_proj,
            &m.gate_proj,
            &m.up_proj,
            &m.down_proj,
        ]
    }

    /// Whether any projection of the layer is kept quantized.
    pub(crate) fn is_quantized(&self) -> bool {
        self.projections().iter().any(|l| l.is_quantized())
    }

    /// The adapter slots of the layer's seven projections, with HF paths under `prefix`.
    pub(crate) fn lora_slots<'a>(&'a mut self, prefix: &str, out: &mut Vec<LoraSlot<'a>>) {
        self.self_attn
            .lora_slots(&format!("{prefix}.self_attn"), out);
        self.mlp.lora_slots(&format!("{prefix}.mlp"), out);
    }

    /// # Shapes
    /// - x: `[b, t, hidden]`; output: `[b, t, hidden]`
    pub(crate) fn forward(
        &self,
        x: Tensor<3>,
        rope: &RopeTables,
        mask: Option<Tensor<4, Bool>>,
        cache: Option<&mut LayerCache>,
    ) -> Tensor<3> {
        let path = crate::quantized::quantized_path(cache.is_some());
        let h = x.clone()
            + self
                .self_attn
                .forward(norm(&self.input_layernorm, x), rope, mask, cache);
        h.clone()
            + self
                .mlp
                .forward_path(norm(&self.post_attention_layernorm, h), path)
    }
}

/// `norm(x)` through the fused RMSNorm (burn's arithmetic, one pass on the CPU backend).
pub(crate) fn norm<const D: usize>(norm: &RmsNorm, x: Tensor<D>) -> Tensor<D> {
    crate::fused::rms_norm(x, norm.gamma.val(), norm.epsilon)
}
