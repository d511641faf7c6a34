//! Reward-model head: `LlamaForSequenceClassification` (HF layout: `model.*` + `score.weight`).

use std::path::Path;

use burn::nn::Linear;
use burn::prelude::*;

use crate::causal_lm::read_mask;
use crate::checkpoint::{CONFIG_FILE, CheckpointWeights, SaveDtype, write_checkpoint};
use crate::error::{ModelError, Result};
use crate::llama::LlamaConfig;
use crate::llama::LlamaModel;
use crate::mask::AttentionLayout;
use crate::weights::{NamedTensor, RandomWeights, WeightSource, export_linear, load_linear};

/// A decoder with a bias-free linear `score` head read at each sequence's last real token:
/// one scalar per sequence when `num_labels = 1` (a reward model).
#[derive(Module, Debug)]
pub struct SequenceClassifier {
    /// The decoder trunk (HF `model.*`).
    pub model: LlamaModel,
    /// `hidden -> num_labels`, no bias.
    pub score: Linear,
    #[module(skip)]
    config: LlamaConfig,
}

impl SequenceClassifier {
    /// Loads a `*ForSequenceClassification` checkpoint directory.
    pub fn load_hf(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let dir = dir.as_ref();
        let config = LlamaConfig::from_hf_json(dir.join(CONFIG_FILE))?;
        CheckpointWeights::load_with(dir, |weights| Self::build(weights, config, device))
    }

    /// Seeded random weights, for tests and benchmarks.
    pub fn init_random(config: LlamaConfig, seed: u64, device: &Device) -> Result<Self> {
        Self::build(&mut RandomWeights::new(seed, 0.02), config, device)
    }

    fn build(src: &mut dyn WeightSource, config: LlamaConfig, device: &Device) -> Result<Self> {
        let model = LlamaModel::load(src, "model", &config, device)?;
        let score = load_linear(
            src,
            "score",
            config.hidden_size,
            config.num_labels,
            false,
            device,
        )?;
        Ok(Self {
            model,
            score,
            config,
        })
    }

    /// The configuration the model was built from.
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// Writes the checkpoint in the HF layout (f32 unless the config says otherwise).
    pub fn save_hf(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dtype = SaveDtype::from_hf_config(&self.config.raw);
        let mut out: Vec<NamedTensor> = Vec::new();
        self.model.export("model", &mut out)?;
        export_linear(&self.score, "score", &mut out)?;
        write_checkpoint(dir.as_ref(), &self.config.to_hf_json(), out, dtype, None)
    }

    /// Scores at each row's last real token (the rightmost position with mask 1; with right
    /// padding this is transformers' "last non-pad token").
    ///
    /// # Shapes
    /// - input_ids: `[b, t]`
    /// - attention_mask: `[b, t]`, `None` = no padding
    /// - output: `[b, num_labels]`
    pub fn forward(
        &self,
        input_ids: Tensor<2, Int>,
        attention_mask: Option<Tensor<2, Int>>,
    ) -> Result<Tensor<2>> {
        let [b, t] = input_ids.dims();
        let device = input_ids.device();
        let mask = read_mask(attention_mask)?;
        let mut last = Vec::with_capacity(b);
        for r in 0..b {
            let idx = match &mask {
                Some(m) => (0..t).rev().find(|&i| m[r * t + i] != 0).ok_or_else(|| {
                    ModelError::InvalidInput(format!("row {r} has no real token"))
                })?,
                None => t - 1,
            };
            last.push((r * t + idx) as i64);
        }
        let layout = AttentionLayout::from_mask(mask.as_deref(), b, t);
        let hidden = self.model.forward_layout(input_ids, &layout, None);
        let [_, _, h] = hidden.dims();
        let idx = Tensor::<1, Int>::from_data(TensorData::new(last, [b]), &device);
        let pooled = hidden.reshape([b * t, h]).select(0, idx);
        Ok(self.score.forward(pooled))
    }

    /// One reward per sequence (first label).
    ///
    /// # Shapes
    /// - output: `[b]`
    pub fn rewards(
        &self,
        input_ids: Tensor<2, Int>,
        attention_mask: Option<Tensor<2, Int>>,
    ) -> Result<Tensor<1>> {
        let scores = self.forward(input_ids, attention_mask)?;
        let [b, _] = scores.dims();
        Ok(scores.slice([0..b, 0..1]).reshape([b]))
    }

    /// One reward per token row, for callers holding host token ids of varying lengths: the
    /// rows are right-padded with `pad_id` (masked out) into one batch on `device`.
    ///
    /// # Errors
    /// An empty row, or a failed read of the scores.
    pub fn rewards_for_rows(
        &self,
        rows: &[Vec<u32>],
        pad_id: u32,
        device: &Device,
    ) -> Result<Vec<f64>> {
        let b = rows.len();
        if b == 0 {
            return Ok(Vec::new());
        }
        let t = rows.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let mut ids = vec![i64::from(pad_id); b * t];
        let mut mask = vec![0i64; b * t];
        for (r, row) in rows.iter().enumerate() {
            for (i, &tok) in row.iter().enumerate() {
                ids[r * t + i] = i64::from(tok);
                mask[r * t + i] = 1;
            }
        }
        let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [b, t]), device);
        let mask = Tensor::<2, Int>::from_data(TensorData::new(mask, [b, t]), device);
        self.rewards(ids, Some(mask))?
            .try_into_vec_as::<f64>()
            .map_err(|e| ModelError::TensorRead(format!("{e:?}")))
    }
}
