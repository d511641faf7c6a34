//! Multi-head attention pieces of FLUX: q/k/v projections with per-head RMSNorm, and
//! unmasked softmax attention with RoPE over a joint sequence.

use burn::nn::{Linear, RmsNorm};
use burn::prelude::*;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;

use super::config::NORM_EPS;
use super::rope::FluxRope;
use crate::error::Result;
use crate::weights::{
    NamedTensor, WeightSource, export_linear, export_rms_norm, load_linear, load_rms_norm,
};

/// Key names of one q/k/v group inside an `attn` module.
pub(crate) struct QkvNames {
    pub q: &'static str,
    pub k: &'static str,
    pub v: &'static str,
    pub norm_q: &'static str,
    pub norm_k: &'static str,
}

/// The image-side (or single-stream) names: `to_{q,k,v}`, `norm_{q,k}`.
pub(crate) const SAMPLE_QKV: QkvNames = QkvNames {
    q: "to_q",
    k: "to_k",
    v: "to_v",
    norm_q: "norm_q",
    norm_k: "norm_k",
};

/// The text-side names of a double-stream block: `add_{q,k,v}_proj`, `norm_added_{q,k}`.
pub(crate) const CONTEXT_QKV: QkvNames = QkvNames {
    q: "add_q_proj",
    k: "add_k_proj",
    v: "add_v_proj",
    norm_q: "norm_added_q",
    norm_k: "norm_added_k",
};

/// Query/key/value projections (with bias) and the per-head QK RMSNorm (eps 1e-6).
#[derive(Module, Debug)]
pub struct QkvProjection {
    /// Query projection `D -> D`.
    pub q: Linear,
    /// Key projection `D -> D`.
    pub k: Linear,
    /// Value projection `D -> D`.
    pub v: Linear,
    /// RMSNorm over each query head (`[head_dim]` weight).
    pub norm_q: RmsNorm,
    /// RMSNorm over each key head.
    pub norm_k: RmsNorm,
    heads: usize,
}

impl QkvProjection {
    pub(crate) fn load(
        src: &mut dyn WeightSource,
        prefix: &str,
        names: &QkvNames,
        heads: usize,
        head_dim: usize,
        device: &Device,
    ) -> Result<Self> {
        let d = heads * head_dim;
        let lin = |src: &mut dyn WeightSource, n: &str| {
            load_linear(src, &format!("{prefix}.{n}"), d, d, true, device)
        };
        let norm = |src: &mut dyn WeightSource, n: &str| {
            load_rms_norm(
                src,
                &format!("{prefix}.{n}.weight"),
                head_dim,
                NORM_EPS,
                device,
            )
        };
        Ok(Self {
            q: lin(src, names.q)?,
            k: lin(src, names.k)?,
            v: lin(src, names.v)?,
            norm_q: norm(src, names.norm_q)?,
            norm_k: norm(src, names.norm_k)?,
            heads,
        })
    }

    pub(crate) fn export(
        &self,
        prefix: &str,
        names: &QkvNames,
        out: &mut Vec<NamedTensor>,
    ) -> Result<()> {
        export_linear(&self.q, &format!("{prefix}.{}", names.q), out)?;
        export_linear(&self.k, &format!("{prefix}.{}", names.k), out)?;
        export_linear(&self.v, &format!("{prefix}.{}", names.v), out)?;
        export_rms_norm(
            &self.norm_q,
            &format!("{prefix}.{}.weight", names.norm_q),
            out,
        )?;
        export_rms_norm(
            &self.norm_k,
            &format!("{prefix}.{}.weight", names.norm_k),
            out,
        )
    }

    /// Projected, normalised heads (RoPE not yet applied).
    ///
    /// # Shapes
    /// - x: `[b, l, D]`
    /// - output: q, k, v each `[b, l, heads, head_dim]`
    pub fn forward(&self, x: Tensor<3>) -> (Tensor<4>, Tensor<4>, Tensor<4>) {
        let [b, l, d] = x.dims();
        let shape = [b, l, self.heads, d / self.heads];
        let q = self
            .norm_q
            .forward(self.q.forward(x.clone()).reshape(shape));
        let k = self
            .norm_k
            .forward(self.k.forward(x.clone()).reshape(shape));
        let v = self.v.forward(x).reshape(shape);
        (q, k, v)
    }
}

/// Softmax attention over the whole joint sequence: RoPE on q and k, no mask, scale
/// 1/√head_dim.
///
/// # Shapes
/// - q, k, v: `[b, L, heads, head_dim]`
/// - output: `[b, L, heads · head_dim]`
pub(crate) fn joint_attention(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    rope: &FluxRope,
) -> Tensor<3> {
    let [b, l, h, dh] = q.dims();
    let q = rope.apply(q.swap_dims(1, 2));
    let k = rope.apply(k.swap_dims(1, 2));
    let v = v.swap_dims(1, 2);
    let out = attention(
        q,
        k,
        v,
        None,
        None,
        AttentionModuleOptions {
            scale: None,
            softcap: None,
            is_causal: false,
        },
    );
    out.swap_dims(1, 2).reshape([b, l, h * dh])
}
