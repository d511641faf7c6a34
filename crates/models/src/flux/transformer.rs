//! diffusers' `FluxTransformer2DModel`: load from and save to a diffusers directory, forward.

use std::path::Path;

use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::silu;

use super::config::FluxConfig;
use super::double_block::FluxDoubleBlock;
use super::embeddings::TimeTextEmbed;
use super::init::{FluxInit, InitWeights};
use super::modulation::layer_norm;
use super::rope::FluxRope;
use super::single_block::FluxSingleBlock;
use crate::checkpoint::{CONFIG_FILE, CheckpointWeights, SaveDtype, write_checkpoint_stem};
use crate::error::{ModelError, Result};
use crate::weights::{NamedTensor, WeightSource, export_linear, load_linear};

/// Weights file stem of a diffusers model directory.
pub const DIFFUSERS_WEIGHTS_STEM: &str = "diffusion_pytorch_model";
/// Single-file weights name of a diffusers model directory.
pub const DIFFUSERS_WEIGHTS_FILE: &str = "diffusion_pytorch_model.safetensors";

/// The FLUX rectified-flow transformer (double-stream then single-stream blocks), with the
/// parameter names of diffusers' `FluxTransformer2DModel`.
///
/// Parameters live on the device passed to [`FluxTransformer::load`] / [`FluxTransformer::init`];
/// use `device.autodiff()` to train.
#[derive(Module, Debug)]
pub struct FluxTransformer {
    /// `x_embedder`: packed image token `in_channels -> D`.
    pub x_embedder: Linear,
    /// `context_embedder`: text token `joint_attention_dim -> D`.
    pub context_embedder: Linear,
    /// `time_text_embed`.
    pub time_text_embed: TimeTextEmbed,
    /// `transformer_blocks`.
    pub transformer_blocks: Vec<FluxDoubleBlock>,
    /// `single_transformer_blocks`.
    pub single_transformer_blocks: Vec<FluxSingleBlock>,
    /// `norm_out.linear` (AdaLayerNormContinuous: scale, shift) `D -> 2D`.
    pub norm_out: Linear,
    /// `proj_out`: `D -> patch_size² · out_channels`.
    pub proj_out: Linear,
    #[module(skip)]
    config: FluxConfig,
}

impl FluxTransformer {
    /// Loads `config.json` and `diffusion_pytorch_model.safetensors` (or its sharded form) of a
    /// diffusers model directory. Weights stored as f16/bf16/f64 become f32.
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let dir = dir.as_ref();
        let config = FluxConfig::from_json_file(dir.join(CONFIG_FILE))?;
        let single = dir.join(DIFFUSERS_WEIGHTS_FILE);
        let index = dir.join(format!("{DIFFUSERS_WEIGHTS_STEM}.safetensors.index.json"));
        if !single.is_file() && !index.is_file() {
            return Err(ModelError::Io {
                path: single,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no diffusers weights (nor their sharded index) in this directory",
                ),
            });
        }
        CheckpointWeights::load_stem_with(dir, DIFFUSERS_WEIGHTS_STEM, |w| {
            Self::build(w, config, device)
        })
    }

    /// A freshly initialised model (see [`FluxInit`]).
    pub fn init(config: FluxConfig, init: FluxInit, device: &Device) -> Result<Self> {
        Self::build(&mut InitWeights::new(init), config, device)
    }

    pub(crate) fn build(
        src: &mut dyn WeightSource,
        config: FluxConfig,
        device: &Device,
    ) -> Result<Self> {
        let d = config.inner_dim();
        let time_text_embed = TimeTextEmbed::load(src, "time_text_embed", &config, device)?;
        let context_embedder = load_linear(
            src,
            "context_embedder",
            config.joint_attention_dim,
            d,
            true,
            device,
        )?;
        let x_embedder = load_linear(src, "x_embedder", config.in_channels, d, true, device)?;
        let transformer_blocks = (0..config.num_layers)
            .map(|i| {
                FluxDoubleBlock::load(src, &format!("transformer_blocks.{i}"), &config, device)
            })
            .collect::<Result<Vec<_>>>()?;
        let single_transformer_blocks = (0..config.num_single_layers)
            .map(|i| {
                FluxSingleBlock::load(
                    src,
                    &format!("single_transformer_blocks.{i}"),
                    &config,
                    device,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let norm_out = load_linear(src, "norm_out.linear", d, 2 * d, true, device)?;
        let proj_out = load_linear(src, "proj_out", d, config.output_dim(), true, device)?;
        Ok(Self {
            x_embedder,
            context_embedder,
            time_text_embed,
            transformer_blocks,
            single_transformer_blocks,
            norm_out,
            proj_out,
            config,
        })
    }

    /// The configuration the model was built from.
    pub fn config(&self) -> &FluxConfig {
        &self.config
    }

    /// The parameters in diffusers names and layouts, in diffusers' registration order.
    pub(crate) fn export(&self) -> Result<Vec<NamedTensor>> {
        let mut out = Vec::new();
        self.time_text_embed.export("time_text_embed", &mut out)?;
        export_linear(&self.context_embedder, "context_embedder", &mut out)?;
        export_linear(&self.x_embedder, "x_embedder", &mut out)?;
        for (i, block) in self.transformer_blocks.iter().enumerate() {
            block.export(&format!("transformer_blocks.{i}"), &mut out)?;
        }
        for (i, block) in self.single_transformer_blocks.iter().enumerate() {
            block.export(&format!("single_transformer_blocks.{i}"), &mut out)?;
        }
        export_linear(&self.norm_out, "norm_out.linear", &mut out)?;
        export_linear(&self.proj_out, "proj_out", &mut out)?;
        Ok(out)
    }

    /// Writes `config.json` and `diffusion_pytorch_model.safetensors` (f32) so that
    /// `FluxTransformer2DModel.from_pretrained(dir)` loads it unchanged.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        self.save_with(dir, SaveDtype::F32, None)
    }

    /// Like [`FluxTransformer::save`] with an explicit dtype and optional sharding.
    pub fn save_with(
        &self,
        dir: impl AsRef<Path>,
        dtype: SaveDtype,
        max_shard_bytes: Option<usize>,
    ) -> Result<()> {
        write_checkpoint_stem(
            dir.as_ref(),
            DIFFUSERS_WEIGHTS_STEM,
            &self.config.to_json(),
            self.export()?,
            dtype,
            max_shard_bytes,
        )
    }

    /// RoPE tables for this model's `axes_dims_rope` (text ids first, as diffusers does).
    pub fn rope(
        &self,
        txt_ids: &[[f32; 3]],
        img_ids: &[[f32; 3]],
        device: &Device,
    ) -> Result<FluxRope> {
        FluxRope::new(txt_ids, img_ids, &self.config.axes_dims_rope, device)
    }

    /// The predicted velocity `v = ε − x₀` for packed noisy latents at noise level σ.
    ///
    /// `timestep` is σ ∈ [0, 1] (not 1000σ: the model scales it). `guidance` is the raw
    /// guidance scale and must be given exactly when `guidance_embeds` is on. `rope` covers
    /// the T text tokens followed by the N image tokens.
    ///
    /// # Shapes
    /// - hidden_states: `[b, N, in_channels]`
    /// - encoder_hidden_states: `[b, T, joint_attention_dim]`
    /// - pooled_projections: `[b, pooled_projection_dim]`
    /// - timestep, guidance: `[b]`
    /// - output: `[b, N, patch_size² · out_channels]`
    pub fn forward(
        &self,
        hidden_states: Tensor<3>,
        encoder_hidden_states: Tensor<3>,
        pooled_projections: Tensor<2>,
        timestep: Tensor<1>,
        guidance: Option<Tensor<1>>,
        rope: &FluxRope,
    ) -> Result<Tensor<3>> {
        let c = &self.config;
        let [b, n, cin] = hidden_states.dims();
        let [bt, t, j] = encoder_hidden_states.dims();
        let [bp, p] = pooled_projections.dims();
        let [bs] = timestep.dims();
        if cin != c.in_channels || j != c.joint_attention_dim || p != c.pooled_projection_dim {
            return Err(ModelError::InvalidInput(format!(
                "FLUX input widths (hidden {cin}, text {j}, pooled {p}) do not match the config \
                 (in_channels {}, joint_attention_dim {}, pooled_projection_dim {})",
                c.in_channels, c.joint_attention_dim, c.pooled_projection_dim
            )));
        }
        if bt != b || bp != b || bs != b || guidance.as_ref().is_some_and(|g| g.dims()[0] != b) {
            return Err(ModelError::InvalidInput(format!(
                "FLUX batch sizes disagree: hidden {b}, text {bt}, pooled {bp}, timestep {bs}"
            )));
        }
        if rope.len() != t + n {
            return Err(ModelError::InvalidInput(format!(
                "RoPE tables cover {} tokens but the sequence has {t} text + {n} image tokens",
                rope.len()
            )));
        }
        let temb = self
            .time_text_embed
            .forward(timestep, guidance, pooled_projections)?;
        let temb_silu = silu(temb);
        let mut x = self.x_embedder.forward(hidden_states);
        let mut ctx = self.context_embedder.forward(encoder_hidden_states);
        for block in &self.transformer_blocks {
            (ctx, x) = block.forward(ctx, x, temb_silu.clone(), rope);
        }
        let d = c.inner_dim();
        let mut h = Tensor::cat(vec![ctx, x], 1);
        for block in &self.single_transformer_blocks {
            h = block.forward(h, temb_silu.clone(), rope);
        }
        let x = h.slice([0..b, t..t + n, 0..d]);
        let m = self.norm_out.forward(temb_silu).chunk(2, 1);
        let (scale, shift) = (m[0].clone(), m[1].clone());
        let x = layer_norm(x) * scale.add_scalar(1.0).unsqueeze_dim(1) + shift.unsqueeze_dim(1);
        Ok(self.proj_out.forward(x))
    }
}
