//! The double-stream block (diffusers' `FluxTransformerBlock`): separate image and text
//! streams with AdaLN-Zero modulation, joined only inside the attention.

use burn::nn::Linear;
use burn::prelude::*;

use super::attention::{CONTEXT_QKV, QkvProjection, SAMPLE_QKV, joint_attention};
use super::config::FluxConfig;
use super::modulation::{FeedForward, chunks, modulate};
use super::rope::FluxRope;
use crate::error::Result;
use crate::weights::{NamedTensor, WeightSource, export_linear, load_linear};

/// `transformer_blocks.{i}`.
#[derive(Module, Debug)]
pub struct FluxDoubleBlock {
    /// `norm1.linear`: image-stream modulation `D -> 6D`
    /// (shift, scale, gate for attention; shift, scale, gate for the MLP).
    pub norm1: Linear,
    /// `norm1_context.linear`: text-stream modulation `D -> 6D`.
    pub norm1_context: Linear,
    /// Image q/k/v (`attn.to_{q,k,v}`, `attn.norm_{q,k}`).
    pub attn_sample: QkvProjection,
    /// Text q/k/v (`attn.add_{q,k,v}_proj`, `attn.norm_added_{q,k}`).
    pub attn_context: QkvProjection,
    /// `attn.to_out.0`: image attention output `D -> D`.
    pub to_out: Linear,
    /// `attn.to_add_out`: text attention output `D -> D`.
    pub to_add_out: Linear,
    /// `ff`: image MLP.
    pub ff: FeedForward,
    /// `ff_context`: text MLP.
    pub ff_context: FeedForward,
}

impl FluxDoubleBlock {
    pub(crate) fn load(
        src: &mut dyn WeightSource,
        prefix: &str,
        c: &FluxConfig,
        device: &Device,
    ) -> Result<Self> {
        let (d, h, dh) = (c.inner_dim(), c.num_attention_heads, c.attention_head_dim);
        let attn = format!("{prefix}.attn");
        Ok(Self {
            norm1: load_linear(
                src,
                &format!("{prefix}.norm1.linear"),
                d,
                6 * d,
                true,
                device,
            )?,
            norm1_context: load_linear(
                src,
                &format!("{prefix}.norm1_context.linear"),
                d,
                6 * d,
                true,
                device,
            )?,
            attn_sample: QkvProjection::load(src, &attn, &SAMPLE_QKV, h, dh, device)?,
            attn_context: QkvProjection::load(src, &attn, &CONTEXT_QKV, h, dh, device)?,
            to_out: load_linear(src, &format!("{attn}.to_out.0"), d, d, true, device)?,
            to_add_out: load_linear(src, &format!("{attn}.to_add_out"), d, d, true, device)?,
            ff: FeedForward::load(src, &format!("{prefix}.ff"), d, c.mlp_dim(), device)?,
            ff_context: FeedForward::load(
                src,
                &format!("{prefix}.ff_context"),
                d,
                c.mlp_dim(),
                device,
            )?,
        })
    }

    pub(crate) fn export(&self, prefix: &str, out: &mut Vec<NamedTensor>) -> Result<()> {
        let attn = format!("{prefix}.attn");
        export_linear(&self.norm1, &format!("{prefix}.norm1.linear"), out)?;
        export_linear(
            &self.norm1_context,
            &format!("{prefix}.norm1_context.linear"),
            out,
        )?;
        self.attn_sample.export(&attn, &SAMPLE_QKV, out)?;
        export_linear(&self.to_out, &format!("{attn}.to_out.0"), out)?;
        self.attn_context.export(&attn, &CONTEXT_QKV, out)?;
        export_linear(&self.to_add_out, &format!("{attn}.to_add_out"), out)?;
        self.ff.export(&format!("{prefix}.ff"), out)?;
        self.ff_context.export(&format!("{prefix}.ff_context"), out)
    }

    /// One block; returns the updated `(text, image)` streams.
    ///
    /// # Shapes
    /// - context: `[b, T, D]`
    /// - sample: `[b, N, D]`
    /// - temb_silu: `[b, D]` (SiLU of the conditioning vector)
    /// - output: (`[b, T, D]`, `[b, N, D]`)
    pub fn forward(
        &self,
        context: Tensor<3>,
        sample: Tensor<3>,
        temb_silu: Tensor<2>,
        rope: &FluxRope,
    ) -> (Tensor<3>, Tensor<3>) {
        let t = context.dims()[1];
        let [b, n, d] = sample.dims();
        let m = chunks(&self.norm1, temb_silu.clone(), 6);
        let mc = chunks(&self.norm1_context, temb_silu, 6);
        let x_mod = modulate(sample.clone(), m[0].clone(), m[1].clone());
        let c_mod = modulate(context.clone(), mc[0].clone(), mc[1].clone());
        let (qx, kx, vx) = self.attn_sample.forward(x_mod);
        let (qc, kc, vc) = self.attn_context.forward(c_mod);
        let attn = joint_attention(
            Tensor::cat(vec![qc, qx], 1),
            Tensor::cat(vec![kc, kx], 1),
            Tensor::cat(vec![vc, vx], 1),
            rope,
        );
        let attn_c = self
            .to_add_out
            .forward(attn.clone().slice([0..b, 0..t, 0..d]));
        let attn_x = self.to_out.forward(attn.slice([0..b, t..t + n, 0..d]));

        let gate = |g: &Tensor<2>| g.clone().unsqueeze_dim::<3>(1);
        let sample = sample + gate(&m[2]) * attn_x;
        let ff = self
            .ff
            .forward(modulate(sample.clone(), m[3].clone(), m[4].clone()));
        let sample = sample + gate(&m[5]) * ff;

        let context = context + gate(&mc[2]) * attn_c;
        let ff_c = self
            .ff_context
            .forward(modulate(context.clone(), mc[3].clone(), mc[4].clone()));
        let context = context + gate(&mc[5]) * ff_c;
        (context, sample)
    }
}
