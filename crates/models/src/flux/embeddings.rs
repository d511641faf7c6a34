//! Conditioning embeddings: the sinusoidal timestep projection and `time_text_embed`
//! (diffusers' `CombinedTimestep(Guidance)TextProjEmbeddings`).

use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::silu;

use super::config::FluxConfig;
use crate::error::{ModelError, Result};
use crate::weights::{NamedTensor, WeightSource, export_linear, load_linear};

/// Width of the sinusoidal timestep projection (`time_proj`, fixed at 256 in FLUX).
pub const TIMESTEP_PROJ_DIM: usize = 256;

/// Linear → SiLU → Linear (`TimestepEmbedding` and `PixArtAlphaTextProjection` with SiLU).
#[derive(Module, Debug)]
pub struct MlpEmbedder {
    /// First projection (`linear_1`).
    pub linear_1: Linear,
    /// Second projection (`linear_2`).
    pub linear_2: Linear,
}

impl MlpEmbedder {
    fn load(
        src: &mut dyn WeightSource,
        prefix: &str,
        d_in: usize,
        d: usize,
        device: &Device,
    ) -> Result<Self> {
        Ok(Self {
            linear_1: load_linear(src, &format!("{prefix}.linear_1"), d_in, d, true, device)?,
            linear_2: load_linear(src, &format!("{prefix}.linear_2"), d, d, true, device)?,
        })
    }

    fn export(&self, prefix: &str, out: &mut Vec<NamedTensor>) -> Result<()> {
        export_linear(&self.linear_1, &format!("{prefix}.linear_1"), out)?;
        export_linear(&self.linear_2, &format!("{prefix}.linear_2"), out)
    }

    /// # Shapes
    /// - x: `[b, d_in]`
    /// - output: `[b, d]`
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.linear_2.forward(silu(self.linear_1.forward(x)))
    }
}

/// diffusers' `get_timestep_embedding(t, 256, flip_sin_to_cos=True, downscale_freq_shift=0)`:
/// `[cos(t·f_k) | sin(t·f_k)]` with `f_k = exp(−ln(10000)·k/128)`, in f32. `t` is already
/// scaled (FLUX passes 1000·σ).
///
/// # Shapes
/// - t: `[b]`
/// - output: `[b, 256]`
pub fn timestep_projection(t: Tensor<1>) -> Tensor<2> {
    let half = TIMESTEP_PROJ_DIM / 2;
    let log_period = (10_000f64).ln() as f32;
    let freqs: Vec<f32> = (0..half)
        .map(|k| ((-log_period * k as f32) / half as f32).exp())
        .collect();
    let freqs = Tensor::<1>::from_data(TensorData::new(freqs, [half]), &t.device());
    let angles = t.unsqueeze_dim::<2>(1) * freqs.unsqueeze_dim::<2>(0);
    Tensor::cat(vec![angles.clone().cos(), angles.sin()], 1)
}

/// `time_text_embed`: `temb = MLP_t(proj(1000σ)) [+ MLP_g(proj(1000g))] + MLP_y(pooled)`.
#[derive(Module, Debug)]
pub struct TimeTextEmbed {
    /// `timestep_embedder` (256 → D → D).
    pub timestep_embedder: MlpEmbedder,
    /// `guidance_embedder` (256 → D → D), present when `guidance_embeds`.
    pub guidance_embedder: Option<MlpEmbedder>,
    /// `text_embedder` (pooled → D → D).
    pub text_embedder: MlpEmbedder,
}

impl TimeTextEmbed {
    pub(crate) fn load(
        src: &mut dyn WeightSource,
        prefix: &str,
        c: &FluxConfig,
        device: &Device,
    ) -> Result<Self> {
        let d = c.inner_dim();
        let timestep_embedder = MlpEmbedder::load(
            src,
            &format!("{prefix}.timestep_embedder"),
            TIMESTEP_PROJ_DIM,
            d,
            device,
        )?;
        let guidance_embedder = if c.guidance_embeds {
            Some(MlpEmbedder::load(
                src,
                &format!("{prefix}.guidance_embedder"),
                TIMESTEP_PROJ_DIM,
                d,
                device,
            )?)
        } else {
            None
        };
        let text_embedder = MlpEmbedder::load(
            src,
            &format!("{prefix}.text_embedder"),
            c.pooled_projection_dim,
            d,
            device,
        )?;
        Ok(Self {
            timestep_embedder,
            guidance_embedder,
            text_embedder,
        })
    }

    pub(crate) fn export(&self, prefix: &str, out: &mut Vec<NamedTensor>) -> Result<()> {
        self.timestep_embedder
            .export(&format!("{prefix}.timestep_embedder"), out)?;
        if let Some(g) = &self.guidance_embedder {
            g.export(&format!("{prefix}.guidance_embedder"), out)?;
        }
        self.text_embedder
            .export(&format!("{prefix}.text_embedder"), out)
    }

    /// The conditioning vector `temb`. `timestep` is σ ∈ [0, 1] and `guidance` the raw
    /// guidance scale; both are multiplied by 1000 here, as in diffusers.
    ///
    /// # Shapes
    /// - timestep: `[b]`
    /// - guidance: `[b]` (required exactly when the model has a guidance embedding)
    /// - pooled: `[b, pooled_projection_dim]`
    /// - output: `[b, D]`
    pub fn forward(
        &self,
        timestep: Tensor<1>,
        guidance: Option<Tensor<1>>,
        pooled: Tensor<2>,
    ) -> Result<Tensor<2>> {
        let mut temb = self
            .timestep_embedder
            .forward(timestep_projection(timestep.mul_scalar(1000.0)));
        match (&self.guidance_embedder, guidance) {
            (Some(embedder), Some(g)) => {
                temb = temb + embedder.forward(timestep_projection(g.mul_scalar(1000.0)));
            }
            (None, None) => {}
            (Some(_), None) => {
                return Err(ModelError::InvalidInput(
                    "this FLUX model has a guidance embedding (`guidance_embeds: true`); pass a guidance value".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(ModelError::InvalidInput(
                    "this FLUX model has no guidance embedding (`guidance_embeds: false`); pass no guidance".into(),
                ));
            }
        }
        Ok(temb + self.text_embedder.forward(pooled))
    }
}
