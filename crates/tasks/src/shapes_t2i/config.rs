//! `t2i.toml`: the world, the pipeline's sizes, the loop and the flow-matching knobs.

use std::path::Path;

use prefopt_models::{FluxConfig, FluxInit, FluxPipelineModel, PixelImageSpec, TextEncoderConfig};
use prefopt_train::{FlowSection, TrainerConfig, load_table};
use serde::{Deserialize, Serialize};

use crate::shapes::{MAX_CAPTION_WORDS, PAD_ID, WorldConfig, WorldTokenizer};
use crate::{Result, TaskError};

/// The world's config, written next to a trained pipeline so that generation and checking
/// use the same world.
pub const WORLD_FILE: &str = "world.json";

/// `[model]`: sizes of the text encoder and the flow transformer trained from scratch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct T2iModelSection {
    /// Double-stream blocks.
    pub num_layers: usize,
    /// Single-stream blocks.
    pub num_single_layers: usize,
    /// Attention heads of the transformer.
    pub num_attention_heads: usize,
    /// Width per head (= the sum of `axes_dims_rope`).
    pub attention_head_dim: usize,
    /// RoPE widths of the three position axes (text index, row, column).
    pub axes_dims_rope: Vec<usize>,
    /// Text encoder width.
    pub text_hidden_size: usize,
    /// Text encoder blocks.
    pub text_layers: usize,
    /// Text encoder heads.
    pub text_heads: usize,
    /// Width of the text tokens handed to the transformer (`joint_attention_dim`).
    pub joint_attention_dim: usize,
    /// Width of the pooled text vector (`pooled_projection_dim`).
    pub pooled_projection_dim: usize,
    /// Seed of the initial weights.
    pub init_seed: u64,
}

impl Default for T2iModelSection {
    fn default() -> Self {
        Self {
            num_layers: 2,
            num_single_layers: 2,
            num_attention_heads: 4,
            attention_head_dim: 16,
            axes_dims_rope: vec![4, 6, 6],
            text_hidden_size: 64,
            text_layers: 2,
            text_heads: 4,
            joint_attention_dim: 64,
            pooled_projection_dim: 64,
            init_seed: 0,
        }
    }
}

/// A whole `prefopt t2i train` config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct T2iConfig {
    /// `[world]`: image and object sizes.
    pub world: WorldConfig,
    /// `[model]`: pipeline sizes.
    pub model: T2iModelSection,
    /// `[training]`: HF `TrainingArguments` names (`max_steps` is required: the data is
    /// endless).
    pub training: TrainerConfig,
    /// `[flow]`: noise-level sampling and caption dropout.
    pub flow: FlowSection,
}

impl Default for T2iConfig {
    fn default() -> Self {
        Self {
            world: WorldConfig::default(),
            model: T2iModelSection::default(),
            training: TrainerConfig {
                output_dir: "t2i_base".into(),
                learning_rate: 1e-3,
                max_steps: 2000,
                per_device_train_batch_size: 32,
                warmup_steps: 100.0,
                lr_scheduler_type: prefopt_train::LrSchedulerType::Cosine,
                logging_steps: 10,
                save_steps: 250,
                save_total_limit: Some(2),
                weight_decay: 0.0,
                seed: 0,
                ..TrainerConfig::default()
            },
            flow: FlowSection::default(),
        }
    }
}

fn bad(path: &Path, message: impl std::fmt::Display) -> TaskError {
    TaskError::InvalidInput(format!("{}: {message}", path.display()))
}

impl T2iConfig {
    /// Reads `path` (TOML; missing keys take the defaults, unknown keys are errors naming
    /// them), applies `overrides` (`section.key=value`) and checks it.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        let table = load_table(path, overrides)?;
        let config: Self = toml::Value::Table(table)
            .try_into()
            .map_err(|e| bad(path, e))?;
        config.validate().map_err(|e| bad(path, e))?;
        Ok(config)
    }

    /// Checks the values (each error names its key).
    pub fn validate(&self) -> Result<()> {
        self.world.validate()?;
        if !self.world.width.is_multiple_of(2) || !self.world.height.is_multiple_of(2) {
            return Err(TaskError::InvalidInput(
                "world.width and world.height must be even (2x2 patches)".into(),
            ));
        }
        if self.training.max_steps <= 0 {
            return Err(TaskError::InvalidInput(
                "training.max_steps must be set (> 0): the training data is endless".into(),
            ));
        }
        self.training.validate()?;
        self.flow.validate()?;
        self.text_encoder_config().validate(Path::new("[model]"))?;
        self.transformer_config()?;
        Ok(())
    }

    /// The text encoder's config over the world's vocabulary.
    pub fn text_encoder_config(&self) -> TextEncoderConfig {
        let m = &self.model;
        TextEncoderConfig::new(
            WorldTokenizer::new().vocab_size(),
            MAX_CAPTION_WORDS,
            m.text_hidden_size,
            m.text_layers,
            m.text_heads,
            m.joint_attention_dim,
            m.pooled_projection_dim,
            PAD_ID,
        )
    }

    /// The flow transformer's config (RGB packed 2×2: 12 channels per token).
    pub fn transformer_config(&self) -> Result<FluxConfig> {
        Ok(self.flux_config()?)
    }

    fn flux_config(&self) -> prefopt_models::Result<FluxConfig> {
        let m = &self.model;
        FluxConfig::new(
            12,
            m.num_layers,
            m.num_single_layers,
            m.attention_head_dim,
            m.num_attention_heads,
            m.joint_attention_dim,
            m.pooled_projection_dim,
            m.axes_dims_rope.clone(),
        )
    }

    /// A freshly initialised pipeline of these sizes.
    pub fn init_pipeline(&self, device: &burn::prelude::Device) -> Result<FluxPipelineModel> {
        Ok(self.init_pipeline_models(device)?)
    }

    /// [`T2iConfig::init_pipeline`] with the models crate's error (for the training loop).
    pub(crate) fn init_pipeline_models(
        &self,
        device: &burn::prelude::Device,
    ) -> prefopt_models::Result<FluxPipelineModel> {
        let image = PixelImageSpec {
            height: self.world.height,
            width: self.world.width,
            channels: 3,
        };
        let transformer = self.flux_config()?;
        FluxPipelineModel::init(
            self.text_encoder_config(),
            transformer,
            image,
            FluxInit::new(self.model.init_seed),
            device,
        )
    }
}
