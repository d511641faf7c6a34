//! A learned reward model (`LlamaForSequenceClassification`, `num_labels = 1`) as a reward:
//! one scalar per `prompt ++ completion` token row.
//!
//! Two callers: GRPO's built-in `reward_model` reward ([`RewardModelReward`], scoring the text
//! with the reward model's own tokenizer), and checkpoint evaluation
//! ([`score_completions`], scoring the policy tokenizer's ids, which the reward model must
//! share, as TRL's reward-model evaluation assumes).

use std::fmt;
use std::path::Path;
use std::sync::Mutex;

use burn::prelude::*;
use prefopt_data::Tokenizer;
use prefopt_models::SequenceClassifier;

use crate::error::{Error, Result};
use crate::reward::RewardFn;

/// The registry name of the reward-model reward (`[[grpo.rewards]] name = "reward_model"`).
pub const REWARD_MODEL: &str = "reward_model";

/// Rewards of `prompt ids ++ completion ids` rows under `model`, `batch_size` rows per
/// forward (each batch right-padded with `pad_id`, masked out).
///
/// # Errors
/// [`Error::Model`] for an empty row or a failed forward.
pub fn score_completions<'a>(
    model: &SequenceClassifier,
    rows: impl IntoIterator<Item = (&'a [u32], &'a [u32])>,
    pad_id: u32,
    batch_size: usize,
    device: &Device,
) -> Result<Vec<f64>> {
    let rows: Vec<Vec<u32>> = rows
        .into_iter()
        .map(|(prompt, completion)| prompt.iter().chain(completion).copied().collect())
        .collect();
    score_rows(model, &rows, pad_id, batch_size, device)
}

fn score_rows(
    model: &SequenceClassifier,
    rows: &[Vec<u32>],
    pad_id: u32,
    batch_size: usize,
    device: &Device,
) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(batch_size.max(1)) {
        out.extend(model.rewards_for_rows(chunk, pad_id, device)?);
    }
    Ok(out)
}

/// A reward model scoring `prompt + completion` text with its own tokenizer, the whole batch
/// in one forward. Registered as [`REWARD_MODEL`] by [`run_grpo_file`](crate::run_grpo_file)
/// when `[model] reward_model` names a checkpoint.
pub struct RewardModelReward {
    model: Mutex<SequenceClassifier>,
    tokenizer: Tokenizer,
    device: Device,
}

impl fmt::Debug for RewardModelReward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RewardModelReward")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

impl RewardModelReward {
    /// A reward from a loaded model and its tokenizer; it runs on `device`.
    pub fn new(model: SequenceClassifier, tokenizer: Tokenizer, device: &Device) -> Self {
        Self {
            model: Mutex::new(model),
            tokenizer,
            device: device.clone(),
        }
    }

    /// Loads the checkpoint `dir` (HF layout, with its tokenizer files) onto `device`.
    ///
    /// # Errors
    /// [`Error::File`] naming `dir` when the model or its tokenizer cannot be loaded.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let model = SequenceClassifier::load_hf(dir, device)
            .map_err(|e| Error::file("loading the reward model", dir, e))?;
        let tokenizer = Tokenizer::from_dir(dir)
            .map_err(|e| Error::file("loading the reward model's tokenizer from", dir, e))?;
        Ok(Self::new(model, tokenizer, device))
    }
}

impl RewardFn for RewardModelReward {
    fn name(&self) -> &str {
        REWARD_MODEL
    }

    fn score(&self, prompts: &[&str], completions: &[&str]) -> Result<Vec<Option<f64>>> {
        let fail = |reason: String| Error::Reward {
            name: REWARD_MODEL.to_owned(),
            reason,
        };
        let rows = prompts
            .iter()
            .zip(completions)
            .map(|(p, c)| self.tokenizer.encode(&format!("{p}{c}"), true))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| fail(e.to_string()))?;
        let pad = self.tokenizer.pad().map_or(0, |t| t.id);
        let model = self
            .model
            .lock()
            .map_err(|_| fail("lock poisoned".into()))?;
        let values = score_rows(&model, &rows, pad, rows.len(), &self.device)
            .map_err(|e| fail(e.to_string()))?;
        Ok(values.into_iter().map(Some).collect())
    }
}
