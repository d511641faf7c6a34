//! The single-stream block (diffusers' `FluxSingleTransformerBlock`): one stream over
//! `[text; image]`, attention and MLP in parallel.

use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::gelu_approximate;

use super::attention::{QkvProjection, SAMPLE_QKV, joint_attention};
use super::config::FluxConfig;
use super::modulation::{chunks, modulate};
use super::rope::FluxRope;
use crate::error::Result;
use crate::weights::{NamedTensor, WeightSource, export_linear, load_linear};

/// `single_transformer_blocks.{i}`.
#[derive(Module, Debug)]
pub struct FluxSingleBlock {
    /// `norm.linear`: modulation `D -> 3D` (shift, scale, gate).
    pub norm: Linear,
    /// q/k/v (`attn.to_{q,k,v}`, `attn.norm_{q,k}`); no output projection.
    pub attn: QkvProjection,
    /// `proj_mlp`: `D -> 4D`.
    pub proj_mlp: Linear,
    /// `proj_out`: `[attention | mlp]` `5D -> D`.
    pub proj_out: Linear,
}

impl FluxSingleBlock {
    pub(crate) fn load(
        src: &mut dyn WeightSource,
        prefix: &str,
        c: &FluxConfig,
        device: &Device,
    ) -> Result<Self> {
        let (d, m) = (c.inner_dim(), c.mlp_dim());
        Ok(Self {
            norm: load_linear(
                src,
                &format!("{prefix}.norm.linear"),
                d,
                3 * d,
                true,
                device,
            )?,
            attn: QkvProjection::load(
                src,
                &format!("{prefix}.attn"),
                &SAMPLE_QKV,
                c.num_attention_heads,
                c.attention_head_dim,
                device,
            )?,
            proj_mlp: load_linear(src, &format!("{prefix}.proj_mlp"), d, m, true, device)?,
            proj_out: load_linear(src, &format!("{prefix}.proj_out"), d + m, d, true, device)?,
        })
    }

    pub(crate) fn export(&self, prefix: &str, out: &mut Vec<NamedTensor>) -> Result<()> {
        export_linear(&self.norm, &format!("{prefix}.norm.linear"), out)?;
        export_linear(&self.proj_mlp, &format!("{prefix}.proj_mlp"), out)?;
        export_linear(&self.proj_out, &format!("{prefix}.proj_out"), out)?;
        self.attn
            .export(&format!("{prefix}.attn"), &SAMPLE_QKV, out)
    }

    /// One block over the joint sequence `h = [text; image]`.
    ///
    /// # Shapes
    /// - h: `[b, L, D]`
    /// - temb_silu: `[b, D]`
    /// - output: `[b, L, D]`
    pub fn forward(&self, h: Tensor<3>, temb_silu: Tensor<2>, rope: &FluxRope) -> Tensor<3> {
        let m = chunks(&self.norm, temb_silu, 3);
        let h_mod = modulate(h.clone(), m[0].clone(), m[1].clone());
        let mlp = gelu_approximate(self.proj_mlp.forward(h_mod.clone()));
        let (q, k, v) = self.attn.forward(h_mod);
        let attn = joint_attention(q, k, v, rope);
        let out = self.proj_out.forward(Tensor::cat(vec![attn, mlp], 2));
        h + m[2].clone().unsqueeze_dim::<3>(1) * out
    }
}
