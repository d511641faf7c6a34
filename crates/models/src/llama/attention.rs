//! Grouped-query self-attention with rotate-half RoPE (Llama, Mistral, Qwen2).

use burn::prelude::*;

use super::config::LlamaConfig;
use super::rope::RopeTables;
use crate::base_linear::BaseLinear;
use crate::error::Result;
use crate::kv_cache::LayerCache;
use crate::lora::{LoraAdapter, LoraSlot, project, project_many};
use crate::quantized::quantized_path;
use crate::weights::{NamedTensor, WeightSource, load_base_linear};

/// `self_attn` of a decoder layer: `q_proj`, `k_proj`, `v_proj`, `o_proj` (HF names).
#[derive(Module, Debug)]
pub struct LlamaAttention {
    /// Query projection `hidden -> heads * head_dim`.
    pub q_proj: BaseLinear,
    /// Key projection `hidden -> kv_heads * head_dim`.
    pub k_proj: BaseLinear,
    /// Value projection `hidden -> kv_heads * head_dim`.
    pub v_proj: BaseLinear,
    /// Output projection `heads * head_dim -> hidden`.
    pub o_proj: BaseLinear,
    /// LoRA adapter of `q_proj` (none unless attached, see [`crate::LoraConfig`]).
    pub q_proj_lora: Option<LoraAdapter>,
    /// LoRA adapter of `k_proj`.
    pub k_proj_lora: Option<LoraAdapter>,
    /// LoRA adapter of `v_proj`.
    pub v_proj_lora: Option<LoraAdapter>,
    /// LoRA adapter of `o_proj`.
    pub o_proj_lora: Option<LoraAdapter>,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
}

impl LlamaAttention {
    pub(crate) fn load(
        src: &mut dyn WeightSource,
        prefix: &str,
        c: &LlamaConfig,
        device: &Device,
    ) -> Result<Self> {
        let (h, kv, d) = (c.num_attention_heads, c.num_key_value_heads, c.head_dim);
        Ok(Self {
            q_proj: load_base_linear(
                src,
                &format!("{prefix}.q_proj"),
                c.hidden_size,
                h * d,
                c.qkv_bias,
                device,
            )?,
            k_proj: load_base_linear(
                src,
                &format!("{prefix}.k_proj"),
                c.hidden_size,
                kv * d,
                c.qkv_bias,
                device,
            )?,
            v_proj: load_base_linear(
                src,
                &format!("{prefix}.v_proj"),
                c.hidden_size,
                kv * d,
                c.qkv_bias,
                device,
            )?,
            o_proj: load_base_linear(
                src,
                &format!("{prefix}.o_proj"),
                h * d,
                c.hidden_size,
                c.o_bias,
                device,
            )?,
            q_proj_lora: None,
            k_proj_lora: None,
            v_proj_lora: None,
            o_proj_lora: None,
            heads: h,
            kv_heads: kv,
            head_dim: d,
        })
    }

    pub(crate) fn export(&self, prefix: &str, out: &mut Vec<NamedTensor>) -> Result<()> {
        self.q_proj.export(&format!("{prefix}.q_proj"), out)?;
        self.k_proj.export(&format!("{prefix}.k_proj"), out)?;
        self.v_proj.export(&format!("{prefix}.v_proj"), out)?;
        self.o_proj.export(&format!("{prefix}.o_proj"), out)
    }

    /// The four projections and their adapter slots, with HF paths under `prefix`.
    pub(crate) fn lora_slots<'a>(&'a mut self, prefix: &str, out: &mut Vec<LoraSlot<'a>>) {
        out.push(LoraSlot::new(
            prefix,
            "q_proj",
            &mut self.q_proj,
            &mut self.q_proj_lora,
        ));
        out.push(LoraSlot::new(
            prefix,
            "k_proj",
            &mut self.k_proj,
            &mut self.k_proj_lora,
        ));
        out.push(LoraSlot::new(
            prefix,
            "v_proj",
            &mut self.v_proj,
            &mut self.v_proj_lora,
        ));
        out.push(LoraSlot::new(
            prefix,
            "o_proj",
            &mut self.o_proj,
            &mut self.o_proj_lora,
        ));
    }

    /// # Shapes
    /// - x: `[b, t, hidden]`
    /// - mask: `[b, heads, t, past + t]` (true = masked), or `None` for plain causal
    /// - output: `[b, t, hidden]`
    pub(crate) fn forward(
        &self,
        x: Tensor<3>,
        rope: &RopeTables,
        mask: Option<Tensor<4, Bool>>,
        cache: Option<&mut LayerCache>,
    ) -> Tensor<3> {
        let [b, t, _] = x.dims();
        let (h, kv, d) = (self.heads, self.kv_heads, self.head_dim);
        let path = quantized_path(cache.is_some());
        let [q, k, v] = project_many(
            [
                (&self.q_proj, self.q_proj_lora.as_ref()),
                (&self.k_proj, self.k_proj_lora.as_ref()),
                (&self.v_proj, self.v_proj_lora.as_ref()),
            ],
            x,
            path,
        );
        let q = q.reshape([b, t, h, d]).swap_dims(1, 2);
        let k = k.reshape([b, t, kv, d]).swap_dims(1, 2);
        let v = v.reshape([b, t, kv, d]).swap_dims(1, 2);
        let q = rope.apply(q);
        let k = rope.apply(k);
        let (k, v) = match cache {
            Some(c) => c.append(k, v),
            None => (k, v),
        };
        let out = crate::fused::attention(q, k, v, mask);
        let out = out.swap_dims(1, 2).reshape([b, t, h * d]);
        project(&self.o_proj, self.o_proj_lora.as_ref(), out, path)
    }
}
