//! Reference log-probs: computed once before training and cached on disk (TRL's
//! `precompute_ref_log_probs`), or by a live frozen model every batch.
//!
//! One row of `f32` per example:
//! - pairs: `[chosen, rejected, chosen_tail, rejected_tail]`, the summed completion log-probs
//!   and their LD-DPO tails past the pair's shared length (always stored, so the cache does not
//!   depend on `ld_alpha`);
//! - lists: the summed log-prob of each response, in list order.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use prefopt_data::{
    CacheLookup, Collator, TokenBatch, read_vectors, vector_cache_key, write_vectors,
};
use prefopt_models::{CONFIG_FILE, CausalLm};
use prefopt_objectives::dpo::tail_logps;

use crate::device_batch::{HostBatch, completion_logprobs, target_mask, to_host, vector};
use crate::error::{Result, io};
use crate::examples::LoadedSplit;

/// Where a batch's reference log-probs come from.
#[derive(Debug)]
pub enum Reference {
    /// No reference (SFT).
    None,
    /// Precomputed rows, one per example of the train and eval sets.
    Precomputed {
        /// Rows of the training set, by example index.
        train: Vec<Vec<f32>>,
        /// Rows of the evaluation set.
        eval: Vec<Vec<f32>>,
    },
    /// A frozen model run on every batch.
    Live(Box<CausalLm>),
}

/// Which data split a batch comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Training set.
    Train,
    /// Held-out set.
    Eval,
}

impl Reference {
    /// The reference rows of the examples `indices` of `split`, in batch order.
    pub fn rows(
        &self,
        split: Split,
        indices: &[usize],
        batch: &HostBatch,
        device: &Device,
    ) -> Result<Vec<Vec<f32>>> {
        match self {
            Self::None => Ok(Vec::new()),
            Self::Precomputed { train, eval } => {
                let rows = if split == Split::Train { train } else { eval };
                Ok(indices.iter().map(|&i| rows[i].clone()).collect())
            }
            Self::Live(model) => batch_rows(model, batch, device),
        }
    }
}

/// Reference rows of one collated batch (see the module docs for the layout).
pub fn batch_rows(model: &CausalLm, batch: &HostBatch, device: &Device) -> Result<Vec<Vec<f32>>> {
    match batch {
        HostBatch::Pairs(tokens) => {
            let (summed, tails) = pair_logps_and_tails(model, tokens, device)?;
            let b = summed.len() / 2;
            Ok((0..b)
                .map(|i| vec![summed[i], summed[b + i], tails[i], tails[b + i]])
                .collect())
        }
        HostBatch::Lists(lists) => {
            let out = completion_logprobs(model, &lists.tokens, device)?;
            let summed = to_host(out.summed);
            let k = lists.list_size;
            Ok(summed
                .chunks(k.max(1))
                .zip(lists.list_mask.chunks(k.max(1)))
                .map(|(values, mask)| {
                    values
                        .iter()
                        .zip(mask)
                        .filter(|(_, m)| **m)
                        .map(|(v, _)| *v)
                        .collect()
                })
                .collect())
        }
        HostBatch::Sft(_) | HostBatch::Counterfactual { .. } => Ok(Vec::new()),
    }
}

/// Summed log-probs `[2B]` and LD-DPO tails `[2B]` of a pair batch, on the host.
fn pair_logps_and_tails(
    model: &CausalLm,
    tokens: &TokenBatch,
    device: &Device,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let out = completion_logprobs(model, tokens, device)?;
    let shared = shared_lengths_rows(&out.num_tokens);
    let tails = tail_logps(
        out.per_token.clone(),
        target_mask(tokens, device),
        vector(shared, device),
    );
    Ok((to_host(out.summed), to_host(tails)))
}

/// `min(|y_c|, |y_r|)` for every row of a `[chosen; rejected]` batch.
pub(crate) fn shared_lengths_rows(num_tokens: &[usize]) -> Vec<f32> {
    let b = num_tokens.len() / 2;
    let shared: Vec<f32> = (0..b)
        .map(|i| num_tokens[i].min(num_tokens[b + i]) as f32)
        .collect();
    shared.iter().chain(shared.iter()).copied().collect()
}

/// The files whose bytes identify a checkpoint's weights.
fn model_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if dir.is_file() {
        // A GGUF checkpoint is one file.
        return Ok(vec![dir.to_path_buf()]);
    }
    let mut files = vec![dir.join(CONFIG_FILE)];
    let entries = std::fs::read_dir(dir).map_err(io(dir))?;
    let mut weights: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".safetensors") || n.ends_with(".index.json"))
        })
        .collect();
    weights.sort();
    files.extend(weights);
    Ok(files)
}

/// Computes (or reads from `cache_dir`) the reference rows of every example of `examples`.
///
/// The cache key covers the tokenized data set (`split.key`), the bytes of every reference
/// model file and the batch size, so a changed model or data set is recomputed.
pub fn precompute(
    model: &CausalLm,
    model_dir: &Path,
    split: &LoadedSplit,
    collator: &Collator,
    batch_size: usize,
    cache_dir: &Path,
    device: &Device,
) -> Result<Vec<Vec<f32>>> {
    let examples = &split.examples;
    let files = model_files(model_dir)?;
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let key = vector_cache_key(
        &split.key,
        &refs,
        &("prefopt-train reference log-probs v1", batch_size),
    )?;
    let path = cache_dir.join(format!("ref_logps-{}.bin", &key.to_hex()[..16]));
    if let CacheLookup::Hit(rows) = read_vectors(&path, &key)?
        && rows.len() == examples.len()
    {
        tracing::info!(cache = %path.display(), rows = rows.len(), "reference log-probs from cache");
        return Ok(rows);
    }
    tracing::info!(
        examples = examples.len(),
        batch_size,
        "precomputing reference log-probs"
    );
    let mut rows = Vec::with_capacity(examples.len());
    let all: Vec<usize> = (0..examples.len()).collect();
    for chunk in all.chunks(batch_size.max(1)) {
        let batch = examples.collate(collator, chunk)?;
        rows.extend(batch_rows(model, &batch, device)?);
    }
    std::fs::create_dir_all(cache_dir).map_err(io(cache_dir))?;
    write_vectors(&path, &key, &rows)?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_lengths_repeat_for_both_halves() {
        // chosen lengths [3, 5], rejected [4, 2] → shared [3, 2] for chosen and rejected rows.
        assert_eq!(shared_lengths_rows(&[3, 5, 4, 2]), [3.0, 2.0, 3.0, 2.0]);
    }
}
