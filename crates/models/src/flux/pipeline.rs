//! A text-to-image model in pixel space: [`FluxTextEncoder`] + [`FluxTransformer`], stored in a
//! diffusers-like folder (`model_index.json`, `transformer/`, `text_encoder/`).
//!
//! There is no VAE: the "latent" is the image itself (channels scaled to about [−1, 1] by the
//! caller), packed into 2×2 patches, so `in_channels = 4 · channels`.

use std::path::Path;

use burn::prelude::*;
use prefopt_core::write_atomic;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::config::{FluxConfig, read_json};
use super::init::FluxInit;
use super::packing::{image_ids, pack_latents, text_ids, unpack_latents};
use super::rope::FluxRope;
use super::text_encoder::{FluxTextEncoder, TextConditioning, TextEncoderConfig};
use super::transformer::FluxTransformer;
use crate::error::{ModelError, Result};

/// Name of the pipeline index file.
pub const MODEL_INDEX_FILE: &str = "model_index.json";
/// `_class_name` of the pipeline in `model_index.json`.
pub const PIXEL_PIPELINE_CLASS_NAME: &str = "PrefoptFluxPixelPipeline";

/// Geometry of the generated images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PixelImageSpec {
    /// Image height in pixels (even).
    pub height: usize,
    /// Image width in pixels (even).
    pub width: usize,
    /// Colour channels (3 for RGB).
    pub channels: usize,
}

impl PixelImageSpec {
    /// Image tokens after 2×2 packing.
    pub fn tokens(&self) -> usize {
        (self.height / 2) * (self.width / 2)
    }

    fn check(&self, config: &FluxConfig, path: &Path) -> Result<()> {
        let bad = |message: String| ModelError::InvalidConfig {
            path: path.to_path_buf(),
            message,
        };
        if self.height == 0
            || self.width == 0
            || !self.height.is_multiple_of(2)
            || !self.width.is_multiple_of(2)
        {
            return Err(bad(format!(
                "field `image` is {}x{}; height and width must be even and positive",
                self.height, self.width
            )));
        }
        if self.height > 4096 || self.width > 4096 || self.channels == 0 || self.channels > 64 {
            return Err(bad(format!("field `image` {self:?} is out of range")));
        }
        if config.in_channels != 4 * self.channels || config.output_dim() != 4 * self.channels {
            return Err(bad(format!(
                "the transformer takes {} and gives {} channels per token, but {} image channels \
                 packed 2x2 need {}",
                config.in_channels,
                config.output_dim(),
                self.channels,
                4 * self.channels
            )));
        }
        Ok(())
    }
}

/// Text encoder + FLUX transformer for pixel-space text-to-image (see the module docs).
#[derive(Module, Debug)]
pub struct FluxPipelineModel {
    /// The text encoder (`text_encoder/`).
    pub text_encoder: FluxTextEncoder,
    /// The transformer (`transformer/`).
    pub transformer: FluxTransformer,
    #[module(skip)]
    image: PixelImageSpec,
}

impl FluxPipelineModel {
    /// A freshly initialised pipeline; the text encoder's output widths must match the
    /// transformer's `joint_attention_dim` / `pooled_projection_dim`.
    pub fn init(
        text: TextEncoderConfig,
        transformer: FluxConfig,
        image: PixelImageSpec,
        init: FluxInit,
        device: &Device,
    ) -> Result<Self> {
        let text_init = FluxInit {
            seed: init.seed ^ 0x7E57,
            ..init
        };
        Self::assemble(
            FluxTextEncoder::init(text, text_init, device)?,
            FluxTransformer::init(transformer, init, device)?,
            image,
            Path::new("<memory>"),
        )
    }

    fn assemble(
        text_encoder: FluxTextEncoder,
        transformer: FluxTransformer,
        image: PixelImageSpec,
        path: &Path,
    ) -> Result<Self> {
        let (t, f) = (text_encoder.config(), transformer.config());
        if t.joint_attention_dim != f.joint_attention_dim
            || t.pooled_projection_dim != f.pooled_projection_dim
        {
            return Err(ModelError::InvalidConfig {
                path: path.to_path_buf(),
                message: format!(
                    "text encoder gives widths {}/{} but the transformer takes \
                     joint_attention_dim {} / pooled_projection_dim {}",
                    t.joint_attention_dim,
                    t.pooled_projection_dim,
                    f.joint_attention_dim,
                    f.pooled_projection_dim
                ),
            });
        }
        image.check(f, path)?;
        Ok(Self {
            text_encoder,
            transformer,
            image,
        })
    }

    /// Loads `dir/model_index.json`, `dir/text_encoder/` and `dir/transformer/`.
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let dir = dir.as_ref();
        let index_path = dir.join(MODEL_INDEX_FILE);
        let index = read_json(&index_path)?;
        if index.get("_class_name").and_then(|v| v.as_str()) != Some(PIXEL_PIPELINE_CLASS_NAME) {
            return Err(ModelError::InvalidConfig {
                path: index_path,
                message: format!("field `_class_name` must be `{PIXEL_PIPELINE_CLASS_NAME}`"),
            });
        }
        let image: PixelImageSpec = index
            .get("image")
            .cloned()
            .ok_or_else(|| ModelError::InvalidConfig {
                path: index_path.clone(),
                message: "missing field `image` (height, width, channels)".into(),
            })
            .and_then(|v| {
                serde_json::from_value(v).map_err(|source| ModelError::Json {
                    path: index_path.clone(),
                    source,
                })
            })?;
        Self::assemble(
            FluxTextEncoder::load(dir.join("text_encoder"), device)?,
            FluxTransformer::load(dir.join("transformer"), device)?,
            image,
            &index_path,
        )
    }

    /// Writes `model_index.json`, `text_encoder/` and `transformer/` (each file atomically).
    /// `transformer/` is a diffusers `FluxTransformer2DModel` directory.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        self.transformer.save(dir.join("transformer"))?;
        self.text_encoder.save(dir.join("text_encoder"))?;
        let index = json!({
            "_class_name": PIXEL_PIPELINE_CLASS_NAME,
            "transformer": ["diffusers", "FluxTransformer2DModel"],
            "text_encoder": ["prefopt_models", "FluxTextEncoder"],
            "image": self.image,
        });
        let text = serde_json::to_string_pretty(&index).unwrap_or_default();
        write_atomic(&dir.join(MODEL_INDEX_FILE), text.as_bytes())?;
        Ok(())
    }

    /// The image geometry.
    pub fn image(&self) -> PixelImageSpec {
        self.image
    }

    /// Encodes token-id prompts (padded to the encoder's fixed length).
    pub fn encode_prompts(
        &self,
        prompts: &[Vec<u32>],
        device: &Device,
    ) -> Result<TextConditioning> {
        self.text_encoder.encode(prompts, device)
    }

    /// RoPE tables for the fixed text length and the image token grid.
    pub fn rope(&self, device: &Device) -> Result<FluxRope> {
        self.transformer.rope(
            &text_ids(self.text_encoder.config().max_position_embeddings),
            &image_ids(self.image.height / 2, self.image.width / 2),
            device,
        )
    }

    /// Images `[b, c, h, w]` → packed tokens `[b, N, 4c]`.
    pub fn pack(&self, images: Tensor<4>) -> Result<Tensor<3>> {
        let [_, c, h, w] = images.dims();
        if (c, h, w) != (self.image.channels, self.image.height, self.image.width) {
            return Err(ModelError::InvalidInput(format!(
                "images are {c}x{h}x{w}; the model makes {}x{}x{}",
                self.image.channels, self.image.height, self.image.width
            )));
        }
        pack_latents(images)
    }

    /// Packed tokens `[b, N, 4c]` → images `[b, c, h, w]`.
    pub fn unpack(&self, packed: Tensor<3>) -> Result<Tensor<4>> {
        unpack_latents(packed, self.image.height, self.image.width)
    }

    /// The velocity for packed images `x` at noise level `sigma` (one per sample).
    ///
    /// # Shapes
    /// - x: `[b, N, 4c]`
    /// - sigma: `[b]`
    /// - output: `[b, N, 4c]`
    pub fn velocity(
        &self,
        x: Tensor<3>,
        sigma: Tensor<1>,
        text: &TextConditioning,
        guidance: Option<f32>,
        rope: &FluxRope,
    ) -> Result<Tensor<3>> {
        let [b, ..] = x.dims();
        let device = x.device();
        let guidance = guidance.map(|g| Tensor::<1>::full([b], g, &device));
        self.transformer.forward(
            x,
            text.sequence.clone(),
            text.pooled.clone(),
            sigma,
            guidance,
            rope,
        )
    }

    /// A velocity closure `v(x, σ)` for the samplers ([`crate::euler_sample`],
    /// [`crate::sde_sample`], [`crate::transition_log_prob`]), all samples at the same σ.
    pub fn velocity_fn<'a>(
        &'a self,
        text: &'a TextConditioning,
        guidance: Option<f32>,
        rope: &'a FluxRope,
    ) -> impl FnMut(Tensor<3>, f32) -> Result<Tensor<3>> + 'a {
        move |x, sigma| {
            let [b, ..] = x.dims();
            let s = Tensor::<1>::full([b], sigma, &x.device());
            self.velocity(x, s, text, guidance, rope)
        }
    }

    /// Like [`FluxPipelineModel::velocity_fn`] with classifier-free guidance:
    /// `v = v(∅) + scale·(v(text) − v(∅))`, both branches in one batched forward. `uncond`
    /// (for example the empty prompt, encoded once per sample) must have `text`'s batch size.
    pub fn cfg_velocity_fn<'a>(
        &'a self,
        text: &'a TextConditioning,
        uncond: &'a TextConditioning,
        scale: f32,
        rope: &'a FluxRope,
    ) -> impl FnMut(Tensor<3>, f32) -> Result<Tensor<3>> + 'a {
        move |x, sigma| {
            let [b, n, c] = x.dims();
            if uncond.pooled.dims()[0] != b || text.pooled.dims()[0] != b {
                return Err(ModelError::InvalidInput(format!(
                    "CFG needs {b} conditional and {b} unconditional text rows, got {} and {}",
                    text.pooled.dims()[0],
                    uncond.pooled.dims()[0]
                )));
            }
            let both = TextConditioning {
                sequence: Tensor::cat(vec![text.sequence.clone(), uncond.sequence.clone()], 0),
                pooled: Tensor::cat(vec![text.pooled.clone(), uncond.pooled.clone()], 0),
            };
            let s = Tensor::<1>::full([2 * b], sigma, &x.device());
            let v = self.velocity(Tensor::cat(vec![x.clone(), x], 0), s, &both, None, rope)?;
            let v_cond = v.clone().slice([0..b, 0..n, 0..c]);
            let v_uncond = v.slice([b..2 * b, 0..n, 0..c]);
            Ok(v_uncond.clone() + (v_cond - v_uncond).mul_scalar(scale))
        }
    }
}
