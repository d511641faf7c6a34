//! `config.json` of a diffusers `FluxTransformer2DModel`.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::error::{ModelError, Result};

/// The diffusers class this module implements (`_class_name` in `config.json`).
pub const FLUX_CLASS_NAME: &str = "FluxTransformer2DModel";

/// RoPE base of FLUX (hard-coded in diffusers' `FluxPosEmbed`).
pub(crate) const ROPE_THETA: f64 = 10_000.0;

/// Width of the FF / single-block MLP relative to the inner dimension (`mlp_ratio`, fixed).
pub(crate) const MLP_RATIO: usize = 4;

/// Epsilon of every LayerNorm and QK RMSNorm of the model.
pub(crate) const NORM_EPS: f64 = 1e-6;

/// Hyper-parameters of a FLUX rectified-flow transformer, as diffusers'
/// `FluxTransformer2DModel` stores them in `config.json` (same field names).
///
/// The original JSON is kept and written back by [`crate::FluxTransformer::save`], so fields
/// this crate does not interpret (`_class_name`, `_diffusers_version`, …) survive a round trip.
#[derive(Debug, Clone, PartialEq)]
pub struct FluxConfig {
    /// Used only by `proj_out` (output width `patch_size² · out_channels`); the 2×2 packing of
    /// the input is done outside the model (see [`crate::pack_latents`]).
    pub patch_size: usize,
    /// Width of one packed input token (4 × latent channels for 2×2 packing).
    pub in_channels: usize,
    /// Output channels; `None` means `in_channels`.
    pub out_channels: Option<usize>,
    /// Number of double-stream blocks (`transformer_blocks.{i}`).
    pub num_layers: usize,
    /// Number of single-stream blocks (`single_transformer_blocks.{i}`).
    pub num_single_layers: usize,
    /// Per-head width; must equal the sum of `axes_dims_rope`.
    pub attention_head_dim: usize,
    /// Number of attention heads (inner width = heads × head dim).
    pub num_attention_heads: usize,
    /// Width of the text tokens (input of `context_embedder`).
    pub joint_attention_dim: usize,
    /// Width of the pooled text vector (input of `time_text_embed.text_embedder`).
    pub pooled_projection_dim: usize,
    /// Whether a guidance embedding is added to the conditioning vector (FLUX.1-dev style).
    pub guidance_embeds: bool,
    /// RoPE widths per position-id axis (three axes, each even).
    pub axes_dims_rope: Vec<usize>,
    raw: Value,
}

fn invalid(path: &Path, message: String) -> ModelError {
    ModelError::InvalidConfig {
        path: path.to_path_buf(),
        message,
    }
}

/// A JSON file (a config or `model_index.json`), errors naming the file.
pub(crate) fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| ModelError::Json {
        path: path.to_path_buf(),
        source,
    })
}

fn field_usize(raw: &Value, path: &Path, key: &str, default: Option<usize>) -> Result<usize> {
    match raw.get(key) {
        None | Some(Value::Null) => {
            default.ok_or_else(|| invalid(path, format!("missing field `{key}`")))
        }
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                invalid(
                    path,
                    format!("field `{key}` must be a non-negative integer, found {v}"),
                )
            }),
    }
}

impl FluxConfig {
    /// A configuration built in code (diffusers defaults for the fields not given here).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        in_channels: usize,
        num_layers: usize,
        num_single_layers: usize,
        attention_head_dim: usize,
        num_attention_heads: usize,
        joint_attention_dim: usize,
        pooled_projection_dim: usize,
        axes_dims_rope: Vec<usize>,
    ) -> Result<Self> {
        let raw = json!({
            "_class_name": FLUX_CLASS_NAME,
            "patch_size": 1,
            "in_channels": in_channels,
            "out_channels": null,
            "num_layers": num_layers,
            "num_single_layers": num_single_layers,
            "attention_head_dim": attention_head_dim,
            "num_attention_heads": num_attention_heads,
            "joint_attention_dim": joint_attention_dim,
            "pooled_projection_dim": pooled_projection_dim,
            "guidance_embeds": false,
            "axes_dims_rope": axes_dims_rope,
        });
        Self::from_value(raw, Path::new("<memory>"))
    }

    /// The same configuration with the guidance embedding switched on or off.
    pub fn with_guidance_embeds(mut self, on: bool) -> Self {
        self.guidance_embeds = on;
        self.raw["guidance_embeds"] = Value::Bool(on);
        self
    }

    /// Reads and checks a diffusers `config.json`.
    pub fn from_json_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        Self::from_value(read_json(path)?, path)
    }

    /// Parses and checks a config object; `path` names it in errors.
    pub fn from_value(raw: Value, path: &Path) -> Result<Self> {
        let path: PathBuf = path.to_path_buf();
        if !raw.is_object() {
            return Err(invalid(&path, "config must be a JSON object".into()));
        }
        if let Some(class) = raw.get("_class_name")
            && class.as_str() != Some(FLUX_CLASS_NAME)
        {
            return Err(invalid(
                &path,
                format!("field `_class_name` is {class}; only `{FLUX_CLASS_NAME}` is supported"),
            ));
        }
        let out_channels = match raw.get("out_channels") {
            None | Some(Value::Null) => None,
            Some(_) => Some(field_usize(&raw, &path, "out_channels", None)?),
        };
        let guidance_embeds = match raw.get("guidance_embeds") {
            None | Some(Value::Null) => false,
            Some(v) => v.as_bool().ok_or_else(|| {
                invalid(
                    &path,
                    format!("field `guidance_embeds` must be a boolean, found {v}"),
                )
            })?,
        };
        let axes_dims_rope = match raw.get("axes_dims_rope") {
            None | Some(Value::Null) => vec![16, 56, 56],
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_u64()
                        .and_then(|n| usize::try_from(n).ok())
                        .ok_or_else(|| {
                            invalid(
                                &path,
                                format!("field `axes_dims_rope` holds {v}, not an integer"),
                            )
                        })
                })
                .collect::<Result<Vec<_>>>()?,
            Some(v) => {
                return Err(invalid(
                    &path,
                    format!("field `axes_dims_rope` must be a list of 3 integers, found {v}"),
                ));
            }
        };
        let config = Self {
            patch_size: field_usize(&raw, &path, "patch_size", Some(1))?,
            in_channels: field_usize(&raw, &path, "in_channels", Some(64))?,
            out_channels,
            num_layers: field_usize(&raw, &path, "num_layers", Some(19))?,
            num_single_layers: field_usize(&raw, &path, "num_single_layers", Some(38))?,
            attention_head_dim: field_usize(&raw, &path, "attention_head_dim", Some(128))?,
            num_attention_heads: field_usize(&raw, &path, "num_attention_heads", Some(24))?,
            joint_attention_dim: field_usize(&raw, &path, "joint_attention_dim", Some(4096))?,
            pooled_projection_dim: field_usize(&raw, &path, "pooled_projection_dim", Some(768))?,
            guidance_embeds,
            axes_dims_rope,
            raw,
        };
        config.validate(&path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<()> {
        let positive = [
            ("patch_size", self.patch_size),
            ("in_channels", self.in_channels),
            ("attention_head_dim", self.attention_head_dim),
            ("num_attention_heads", self.num_attention_heads),
            ("joint_attention_dim", self.joint_attention_dim),
            ("pooled_projection_dim", self.pooled_projection_dim),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(invalid(path, format!("field `{key}` must be positive")));
            }
        }
        if self.out_channels == Some(0) {
            return Err(invalid(
                path,
                "field `out_channels` must be positive".into(),
            ));
        }
        if self.axes_dims_rope.len() != 3 {
            return Err(invalid(
                path,
                format!(
                    "field `axes_dims_rope` has {} entries; only 3 axes (FLUX's id layout) are supported",
                    self.axes_dims_rope.len()
                ),
            ));
        }
        if let Some(d) = self.axes_dims_rope.iter().find(|d| !d.is_multiple_of(2)) {
            return Err(invalid(
                path,
                format!("field `axes_dims_rope` holds the odd width {d}; every axis must be even"),
            ));
        }
        let sum: usize = self.axes_dims_rope.iter().sum();
        if sum != self.attention_head_dim {
            return Err(invalid(
                path,
                format!(
                    "field `axes_dims_rope` sums to {sum} but `attention_head_dim` is {}; they must be equal",
                    self.attention_head_dim
                ),
            ));
        }
        // Bound the sizes before anything is allocated from them.
        if self
            .attention_head_dim
            .checked_mul(self.num_attention_heads)
            .is_none_or(|d| d > 1 << 16)
        {
            return Err(invalid(
                path,
                "fields `attention_head_dim` × `num_attention_heads` exceed 65536".into(),
            ));
        }
        for (key, value, max) in [
            ("num_layers", self.num_layers, 1024),
            ("num_single_layers", self.num_single_layers, 1024),
            ("in_channels", self.in_channels, 1 << 16),
            ("out_channels", self.out_channels.unwrap_or(1), 1 << 16),
            ("patch_size", self.patch_size, 64),
            ("joint_attention_dim", self.joint_attention_dim, 1 << 16),
            ("pooled_projection_dim", self.pooled_projection_dim, 1 << 16),
        ] {
            if value > max {
                return Err(invalid(
                    path,
                    format!("field `{key}` is {value}; at most {max} is supported"),
                ));
            }
        }
        Ok(())
    }

    /// Inner width D = heads × head dim.
    pub fn inner_dim(&self) -> usize {
        self.num_attention_heads * self.attention_head_dim
    }

    /// Width of the feed-forward layers (4·D).
    pub fn mlp_dim(&self) -> usize {
        MLP_RATIO * self.inner_dim()
    }

    /// Width of one output token: `patch_size² · out_channels` (`out_channels` defaulting to
    /// `in_channels`).
    pub fn output_dim(&self) -> usize {
        self.patch_size * self.patch_size * self.out_channels.unwrap_or(self.in_channels)
    }

    /// The config as diffusers writes it (the loaded JSON with this struct's fields applied).
    pub fn to_json(&self) -> String {
        let mut raw = self.raw.clone();
        raw["_class_name"] = json!(FLUX_CLASS_NAME);
        raw["patch_size"] = json!(self.patch_size);
        raw["in_channels"] = json!(self.in_channels);
        raw["out_channels"] = json!(self.out_channels);
        raw["num_layers"] = json!(self.num_layers);
        raw["num_single_layers"] = json!(self.num_single_layers);
        raw["attention_head_dim"] = json!(self.attention_head_dim);
        raw["num_attention_heads"] = json!(self.num_attention_heads);
        raw["joint_attention_dim"] = json!(self.joint_attention_dim);
        raw["pooled_projection_dim"] = json!(self.pooled_projection_dim);
        raw["guidance_embeds"] = json!(self.guidance_embeds);
        raw["axes_dims_rope"] = json!(self.axes_dims_rope);
        serde_json::to_string_pretty(&raw).unwrap_or_default()
    }
}
