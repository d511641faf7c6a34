//! A small non-causal transformer text encoder giving FLUX its two text inputs: the token
//! sequence `[b, T, joint_attention_dim]` and a pooled vector `[b, pooled_projection_dim]`.
//!
//! It stands in for FLUX's T5 + CLIP pair in worlds small enough to train from scratch:
//! learned token and position embeddings, pre-RMSNorm blocks (bidirectional attention with a
//! padding mask, GELU-tanh MLP), a final RMSNorm, then `seq_proj` for the sequence and
//! `pooled_proj` over the mean of the non-pad tokens for the pooled vector. Saved as
//! `config.json` + `model.safetensors`.

use std::path::{Path, PathBuf};

use burn::nn::{Embedding, Linear, RmsNorm};
use burn::prelude::*;
use burn::tensor::activation::gelu_approximate;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use serde::{Deserialize, Serialize};

use super::config::read_json;
use super::init::{FluxInit, InitWeights};
use crate::checkpoint::{CONFIG_FILE, CheckpointWeights, SaveDtype, write_checkpoint};
use crate::error::{ModelError, Result};
use crate::weights::{
    NamedTensor, WeightSource, export_embedding, export_linear, export_rms_norm, load_embedding,
    load_linear, load_rms_norm,
};

/// `_class_name` written to the text encoder's `config.json`.
pub const TEXT_ENCODER_CLASS_NAME: &str = "PrefoptFluxTextEncoder";

/// Hyper-parameters of [`FluxTextEncoder`] (its `config.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextEncoderConfig {
    /// Always [`TEXT_ENCODER_CLASS_NAME`].
    #[serde(rename = "_class_name")]
    pub class_name: String,
    /// Token vocabulary size.
    pub vocab_size: usize,
    /// Fixed prompt length: every prompt is padded to it (FLUX applies no text mask, so a
    /// fixed length keeps a prompt's conditioning independent of its batch).
    pub max_position_embeddings: usize,
    /// Residual width.
    pub hidden_size: usize,
    /// Number of blocks.
    pub num_hidden_layers: usize,
    /// Attention heads (must divide `hidden_size`).
    pub num_attention_heads: usize,
    /// MLP width.
    pub intermediate_size: usize,
    /// Output sequence width (the transformer's `joint_attention_dim`).
    pub joint_attention_dim: usize,
    /// Pooled output width (the transformer's `pooled_projection_dim`).
    pub pooled_projection_dim: usize,
    /// Padding token id.
    pub pad_token_id: u32,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
}

impl TextEncoderConfig {
    /// A config with `rms_norm_eps` 1e-6 and the class name set.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        vocab_size: usize,
        max_position_embeddings: usize,
        hidden_size: usize,
        num_hidden_layers: usize,
        num_attention_heads: usize,
        joint_attention_dim: usize,
        pooled_projection_dim: usize,
        pad_token_id: u32,
    ) -> Self {
        Self {
            class_name: TEXT_ENCODER_CLASS_NAME.into(),
            vocab_size,
            max_position_embeddings,
            hidden_size,
            num_hidden_layers,
            num_attention_heads,
            intermediate_size: 4 * hidden_size,
            joint_attention_dim,
            pooled_projection_dim,
            pad_token_id,
            rms_norm_eps: 1e-6,
        }
    }

    /// Reads and checks `config.json`.
    pub fn from_json_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let config: Self =
            serde_json::from_value(read_json(path)?).map_err(|source| ModelError::Json {
                path: path.to_path_buf(),
                source,
            })?;
        config.validate(path)?;
        Ok(config)
    }

    /// Checks the sizes; `path` names the config in errors.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let bad = |message: String| ModelError::InvalidConfig {
            path: PathBuf::from(path),
            message,
        };
        if self.class_name != TEXT_ENCODER_CLASS_NAME {
            return Err(bad(format!(
                "field `_class_name` is `{}`; expected `{TEXT_ENCODER_CLASS_NAME}`",
                self.class_name
            )));
        }
        for (key, value, max) in [
            ("vocab_size", self.vocab_size, 1 << 20),
            (
                "max_position_embeddings",
                self.max_position_embeddings,
                1 << 14,
            ),
            ("hidden_size", self.hidden_size, 1 << 14),
            ("num_attention_heads", self.num_attention_heads, 1 << 10),
            ("intermediate_size", self.intermediate_size, 1 << 16),
            ("joint_attention_dim", self.joint_attention_dim, 1 << 16),
            ("pooled_projection_dim", self.pooled_projection_dim, 1 << 16),
        ] {
            if value == 0 || value > max {
                return Err(bad(format!(
                    "field `{key}` is {value}; it must be in 1..={max}"
                )));
            }
        }
        if self.num_hidden_layers > 1024 {
            return Err(bad(format!(
                "field `num_hidden_layers` is {}; at most 1024 is supported",
                self.num_hidden_layers
            )));
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(bad(format!(
                "field `num_attention_heads` ({}) must divide `hidden_size` ({})",
                self.num_attention_heads, self.hidden_size
            )));
        }
        if self.pad_token_id as usize >= self.vocab_size {
            return Err(bad(format!(
                "field `pad_token_id` ({}) is outside the vocabulary ({})",
                self.pad_token_id, self.vocab_size
            )));
        }
        if !(self.rms_norm_eps > 0.0 && self.rms_norm_eps.is_finite()) {
            return Err(bad(format!(
                "field `rms_norm_eps` must be positive, found {}",
                self.rms_norm_eps
            )));
        }
        Ok(())
    }

    fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// The two text inputs of the FLUX transformer.
#[derive(Debug, Clone)]
pub struct TextConditioning {
    /// Token features `[b, T, joint_attention_dim]` (zero at padding positions).
    pub sequence: Tensor<3>,
    /// Pooled vector `[b, pooled_projection_dim]`.
    pub pooled: Tensor<2>,
}

impl TextConditioning {
    /// The rows `indices` of a batch (for example one prompt repeated G times for a group).
    pub fn select(&self, indices: &[usize]) -> Self {
        let device = self.pooled.device();
        let idx = Tensor::<1, Int>::from_data(
            TensorData::new(
                indices.iter().map(|&i| i as i64).collect::<Vec<_>>(),
                [indices.len()],
            ),
            &device,
        );
        Self {
            sequence: self.sequence.clone().select(0, idx.clone()),
            pooled: self.pooled.clone().select(0, idx),
        }
    }
}

/// One pre-norm encoder block: `x += attn(norm1(x))`, `x += mlp(norm2(x))`.
#[derive(Module, Debug)]
pub struct TextEncoderLayer {
    /// `norm1` (RMSNorm).
    pub norm1: RmsNorm,
    /// `self_attn.q_proj`.
    pub q_proj: Linear,
    /// `self_attn.k_proj`.
    pub k_proj: Linear,
    /// `self_attn.v_proj`.
    pub v_proj: Linear,
    /// `self_attn.o_proj`.
    pub o_proj: Linear,
    /// `norm2` (RMSNorm).
    pub norm2: RmsNorm,
    /// `mlp.fc1`.
    pub fc1: Linear,
    /// `mlp.fc2`.
    pub fc2: Linear,
    heads: usize,
}

impl TextEncoderLayer {
    fn load(
        src: &mut dyn WeightSource,
        p: &str,
        c: &TextEncoderConfig,
        device: &Device,
    ) -> Result<Self> {
        let (d, m) = (c.hidden_size, c.intermediate_size);
        let lin = |src: &mut dyn WeightSource, name: &str, i: usize, o: usize| {
            load_linear(src, &format!("{p}.{name}"), i, o, true, device)
        };
        Ok(Self {
            norm1: load_rms_norm(src, &format!("{p}.norm1.weight"), d, c.rms_norm_eps, device)?,
            q_proj: lin(src, "self_attn.q_proj", d, d)?,
            k_proj: lin(src, "self_attn.k_proj", d, d)?,
            v_proj: lin(src, "self_attn.v_proj", d, d)?,
            o_proj: lin(src, "self_attn.o_proj", d, d)?,
            norm2: load_rms_norm(src, &format!("{p}.norm2.weight"), d, c.rms_norm_eps, device)?,
            fc1: lin(src, "mlp.fc1", d, m)?,
            fc2: lin(src, "mlp.fc2", m, d)?,
            heads: c.num_attention_heads,
        })
    }

    fn export(&self, p: &str, out: &mut Vec<NamedTensor>) -> Result<()> {
        export_rms_norm(&self.norm1, &format!("{p}.norm1.weight"), out)?;
        export_linear(&self.q_proj, &format!("{p}.self_attn.q_proj"), out)?;
        export_linear(&self.k_proj, &format!("{p}.self_attn.k_proj"), out)?;
        export_linear(&self.v_proj, &format!("{p}.self_attn.v_proj"), out)?;
        export_linear(&self.o_proj, &format!("{p}.self_attn.o_proj"), out)?;
        export_rms_norm(&self.norm2, &format!("{p}.norm2.weight"), out)?;
        export_linear(&self.fc1, &format!("{p}.mlp.fc1"), out)?;
        export_linear(&self.fc2, &format!("{p}.mlp.fc2"), out)
    }

    /// # Shapes
    /// - x: `[b, t, d]`
    /// - mask: `[b, heads, t, t]` (true = the key is padding, ignored)
    /// - output: `[b, t, d]`
    pub fn forward(&self, x: Tensor<3>, mask: Tensor<4, Bool>) -> Tensor<3> {
        let [b, t, d] = x.dims();
        let (h, dh) = (self.heads, d / self.heads);
        let n = self.norm1.forward(x.clone());
        let split = |y: Tensor<3>| y.reshape([b, t, h, dh]).swap_dims(1, 2);
        let q = split(self.q_proj.forward(n.clone()));
        let k = split(self.k_proj.forward(n.clone()));
        let v = split(self.v_proj.forward(n));
        let a = attention(
            q,
            k,
            v,
            Some(mask),
            None,
            AttentionModuleOptions {
                scale: None,
                softcap: None,
                is_causal: false,
            },
        );
        let x = x + self.o_proj.forward(a.swap_dims(1, 2).reshape([b, t, d]));
        let n = self.norm2.forward(x.clone());
        x.clone() + self.fc2.forward(gelu_approximate(self.fc1.forward(n)))
    }
}

/// The text encoder (see the module docs).
#[derive(Module, Debug)]
pub struct FluxTextEncoder {
    /// `embed_tokens` `[vocab, d]`.
    pub embed_tokens: Embedding,
    /// `embed_positions` `[max_position_embeddings, d]`.
    pub embed_positions: Embedding,
    /// `layers.{i}`.
    pub layers: Vec<TextEncoderLayer>,
    /// `norm` (final RMSNorm).
    pub norm: RmsNorm,
    /// `seq_proj`: `d -> joint_attention_dim`.
    pub seq_proj: Linear,
    /// `pooled_proj`: `d -> pooled_projection_dim`.
    pub pooled_proj: Linear,
    #[module(skip)]
    config: TextEncoderConfig,
}

impl FluxTextEncoder {
    /// A freshly initialised encoder.
    pub fn init(config: TextEncoderConfig, init: FluxInit, device: &Device) -> Result<Self> {
        config.validate(Path::new("<memory>"))?;
        Self::build(&mut InitWeights::new(init), config, device)
    }

    /// Loads `config.json` and `model.safetensors` from `dir`.
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let dir = dir.as_ref();
        let config = TextEncoderConfig::from_json_file(dir.join(CONFIG_FILE))?;
        CheckpointWeights::load_with(dir, |w| Self::build(w, config, device))
    }

    fn build(
        src: &mut dyn WeightSource,
        config: TextEncoderConfig,
        device: &Device,
    ) -> Result<Self> {
        let c = &config;
        let d = c.hidden_size;
        let embed_tokens = load_embedding(src, "embed_tokens.weight", c.vocab_size, d, device)?;
        let embed_positions = load_embedding(
            src,
            "embed_positions.weight",
            c.max_position_embeddings,
            d,
            device,
        )?;
        let layers = (0..c.num_hidden_layers)
            .map(|i| TextEncoderLayer::load(src, &format!("layers.{i}"), c, device))
            .collect::<Result<Vec<_>>>()?;
        let norm = load_rms_norm(src, "norm.weight", d, c.rms_norm_eps, device)?;
        let seq_proj = load_linear(src, "seq_proj", d, c.joint_attention_dim, true, device)?;
        let pooled_proj =
            load_linear(src, "pooled_proj", d, c.pooled_projection_dim, true, device)?;
        Ok(Self {
            embed_tokens,
            embed_positions,
            layers,
            norm,
            seq_proj,
            pooled_proj,
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &TextEncoderConfig {
        &self.config
    }

    fn export(&self) -> Result<Vec<NamedTensor>> {
        let mut out = Vec::new();
        export_embedding(&self.embed_tokens, "embed_tokens.weight", &mut out)?;
        export_embedding(&self.embed_positions, "embed_positions.weight", &mut out)?;
        for (i, layer) in self.layers.iter().enumerate() {
            layer.export(&format!("layers.{i}"), &mut out)?;
        }
        export_rms_norm(&self.norm, "norm.weight", &mut out)?;
        export_linear(&self.seq_proj, "seq_proj", &mut out)?;
        export_linear(&self.pooled_proj, "pooled_proj", &mut out)?;
        Ok(out)
    }

    /// Writes `config.json` and `model.safetensors` (f32) into `dir`.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        write_checkpoint(
            dir.as_ref(),
            &self.config.to_json(),
            self.export()?,
            SaveDtype::F32,
            None,
        )
    }

    /// Pads each prompt's token ids to `max_position_embeddings` and encodes the batch.
    /// An empty prompt (all padding) is allowed: it is the unconditional input.
    pub fn encode(&self, prompts: &[Vec<u32>], device: &Device) -> Result<TextConditioning> {
        let c = &self.config;
        let t = c.max_position_embeddings;
        let mut ids = Vec::with_capacity(prompts.len() * t);
        let mut mask = Vec::with_capacity(prompts.len() * t);
        for (k, p) in prompts.iter().enumerate() {
            if p.len() > t {
                return Err(ModelError::InvalidInput(format!(
                    "prompt {k} has {} tokens; the text encoder takes at most {t} \
                     (max_position_embeddings)",
                    p.len()
                )));
            }
            if let Some(bad) = p.iter().find(|&&id| id as usize >= c.vocab_size) {
                return Err(ModelError::InvalidInput(format!(
                    "prompt {k} holds token id {bad}, outside the vocabulary of {}",
                    c.vocab_size
                )));
            }
            ids.extend(p.iter().map(|&i| i64::from(i)));
            ids.extend(std::iter::repeat_n(i64::from(c.pad_token_id), t - p.len()));
            mask.extend(std::iter::repeat_n(1i64, p.len()));
            mask.extend(std::iter::repeat_n(0i64, t - p.len()));
        }
        let b = prompts.len();
        if b == 0 {
            return Err(ModelError::InvalidInput("no prompts to encode".into()));
        }
        let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [b, t]), device);
        self.forward(ids, &mask)
    }

    /// Encodes padded token ids; `mask` (row-major `[b, t]`) is 1 for real tokens, 0 for
    /// padding.
    ///
    /// # Shapes
    /// - input_ids: `[b, t]` (t ≤ `max_position_embeddings`)
    /// - output: sequence `[b, t, joint_attention_dim]`, pooled `[b, pooled_projection_dim]`
    pub fn forward(&self, input_ids: Tensor<2, Int>, mask: &[i64]) -> Result<TextConditioning> {
        let [b, t] = input_ids.dims();
        let device = input_ids.device();
        if mask.len() != b * t || t > self.config.max_position_embeddings {
            return Err(ModelError::InvalidInput(format!(
                "text encoder input is [{b}, {t}] with a mask of {} values (max length {})",
                mask.len(),
                self.config.max_position_embeddings
            )));
        }
        let h = self.config.num_attention_heads;
        // Key-padding mask; a row without real tokens attends everywhere (its output is
        // zeroed below), which avoids an all-masked softmax.
        let mut blocked = Vec::with_capacity(b * t);
        for row in mask.chunks_exact(t) {
            let any = row.iter().any(|&m| m != 0);
            blocked.extend(row.iter().map(|&m| any && m == 0));
        }
        let attn_mask = Tensor::<2, Bool>::from_data(TensorData::new(blocked, [b, t]), &device)
            .reshape([b, 1, 1, t])
            .expand([b, h, t, t]);
        let positions = Tensor::<1, Int>::arange(0..t as i64, &device)
            .reshape([1, t])
            .expand([b, t]);
        let mut x = self.embed_tokens.forward(input_ids) + self.embed_positions.forward(positions);
        for layer in &self.layers {
            x = layer.forward(x, attn_mask.clone());
        }
        let x = self.norm.forward(x);
        let keep: Vec<f32> = mask
            .iter()
            .map(|&m| if m != 0 { 1.0 } else { 0.0 })
            .collect();
        let counts: Vec<f32> = keep
            .chunks_exact(t)
            .map(|r| r.iter().sum::<f32>().max(1.0))
            .collect();
        let keep =
            Tensor::<2>::from_data(TensorData::new(keep, [b, t]), &device).reshape([b, t, 1]);
        let counts = Tensor::<2>::from_data(TensorData::new(counts, [b, 1]), &device);
        let pooled = (x.clone() * keep.clone())
            .sum_dim(1)
            .reshape([b, x.dims()[2]])
            / counts;
        Ok(TextConditioning {
            sequence: self.seq_proj.forward(x) * keep,
            pooled: self.pooled_proj.forward(pooled),
        })
    }
}
