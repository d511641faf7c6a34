//! Sampling completions of prompts from a model, and scoring token sequences under a model:
//! the two model calls of the demo outside training.

use burn::prelude::*;
use prefopt_data::{Collator, TokenBatch, Tokenizer};
use prefopt_models::{BatchSeeds, BatchedGenerationConfig, CausalLm, GenerationConfig};

use crate::error::{Result, TaskError};
use crate::labeling::ScoredPrompt;

/// Several sampled completions of one prompt, as the sampled token ids and as text.
#[derive(Debug, Clone, PartialEq)]
pub struct SampledPrompt {
    /// The prompt text.
    pub prompt: String,
    /// The prompt's ids as the model saw them (BOS first).
    pub prompt_ids: Vec<u32>,
    /// The sampled ids of each completion, ending with EOS when the model stopped.
    pub completion_ids: Vec<Vec<u32>>,
    /// Each completion decoded without special tokens.
    pub completions: Vec<String>,
}

impl SampledPrompt {
    /// The completions with their ground-truth rewards.
    pub fn scored(&self) -> ScoredPrompt {
        ScoredPrompt::score(self.prompt.clone(), self.completions.clone())
    }

    /// The completions split into consecutive groups of `k` (a trailing partial group is
    /// dropped), each a prompt with its own list.
    pub fn groups(&self, k: usize) -> Vec<SampledPrompt> {
        let k = k.max(1);
        (0..self.completions.len() / k)
            .map(|g| SampledPrompt {
                prompt: self.prompt.clone(),
                prompt_ids: self.prompt_ids.clone(),
                completion_ids: self.completion_ids[g * k..(g + 1) * k].to_vec(),
                completions: self.completions[g * k..(g + 1) * k].to_vec(),
            })
            .collect()
    }

    /// `(prompt ids, completion ids)` of every completion, for [`sequence_logprobs`].
    pub fn rows(&self) -> impl Iterator<Item = (&[u32], &[u32])> {
        self.completion_ids
            .iter()
            .map(|c| (self.prompt_ids.as_slice(), c.as_slice()))
    }
}

/// How completions are sampled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingOptions {
    /// Softmax temperature (no top-k, no top-p: the samples follow π^(1/T)).
    pub temperature: f64,
    /// Longest completion in tokens, EOS included.
    pub max_new_tokens: usize,
    /// Rows generated together.
    pub batch_rows: usize,
    /// Seed of the sampling; batch `i` uses the `i`-th draw of a SplitMix64 stream of it
    /// ([`BatchSeeds::Drawn`]).
    pub seed: u64,
}

/// Samples `per_prompt` completions of each prompt (prompts encoded with BOS, as the SFT
/// data were), in batches of `options.batch_rows` rows. Deterministic for a seed.
pub fn sample_completions(
    model: &CausalLm,
    tokenizer: &Tokenizer,
    prompts: &[String],
    per_prompt: usize,
    options: &SamplingOptions,
) -> Result<Vec<SampledPrompt>> {
    if per_prompt == 0 || options.batch_rows == 0 || options.max_new_tokens == 0 {
        return Err(TaskError::InvalidInput(format!(
            "per_prompt ({per_prompt}), batch_rows ({}) and max_new_tokens ({}) must be positive",
            options.batch_rows, options.max_new_tokens
        )));
    }
    let eos: Vec<u32> = tokenizer.stop_token_ids().to_vec();
    let pad = tokenizer.pad().map(|t| t.id);
    let mut out = Vec::with_capacity(prompts.len());
    for prompt in prompts {
        out.push(SampledPrompt {
            prompt: prompt.clone(),
            prompt_ids: tokenizer.encode(prompt, true)?,
            completion_ids: Vec::with_capacity(per_prompt),
            completions: Vec::with_capacity(per_prompt),
        });
    }
    // Row r is sample r % per_prompt of prompt r / per_prompt.
    let rows: Vec<Vec<u32>> = out
        .iter()
        .flat_map(|item| std::iter::repeat_n(item.prompt_ids.clone(), per_prompt))
        .collect();
    let mut generation = GenerationConfig::new()
        .with_max_new_tokens(options.max_new_tokens)
        .with_do_sample(true)
        .with_temperature(options.temperature)
        .with_seed(options.seed);
    if !eos.is_empty() {
        generation = generation.with_eos_token_ids(Some(eos.clone()));
    }
    if pad.is_some() {
        generation = generation.with_pad_token_id(pad);
    }
    let config = BatchedGenerationConfig::new(generation)
        .with_batch_size(options.batch_rows)
        .with_seeds(BatchSeeds::Drawn);
    let generated = model.generate_batched(&rows, &config)?;
    for (r, ids) in generated.tokens.into_iter().enumerate() {
        let text_ids: Vec<u32> = ids.iter().copied().filter(|t| !eos.contains(t)).collect();
        let text = tokenizer.decode(&text_ids, true)?;
        let item = &mut out[r / per_prompt];
        item.completion_ids.push(ids);
        item.completions.push(text);
    }
    Ok(out)
}

/// `log π(completion | prompt)`, summed over the completion tokens, for each
/// `(prompt ids, completion ids)` row, computed `batch_rows` rows at a time (right-padded).
pub fn sequence_logprobs<'a>(
    model: &CausalLm,
    rows: impl IntoIterator<Item = (&'a [u32], &'a [u32])>,
    pad_id: u32,
    batch_rows: usize,
) -> Result<Vec<f64>> {
    Ok(token_logprobs(model, rows, pad_id, batch_rows)?
        .iter()
        .map(|row| row.iter().sum())
        .collect())
}

/// `log π(token | prompt, earlier completion tokens)` for every completion token of each
/// `(prompt ids, completion ids)` row, in order, computed `batch_rows` rows at a time
/// (right-padded).
pub fn token_logprobs<'a>(
    model: &CausalLm,
    rows: impl IntoIterator<Item = (&'a [u32], &'a [u32])>,
    pad_id: u32,
    batch_rows: usize,
) -> Result<Vec<Vec<f64>>> {
    if batch_rows == 0 {
        return Err(TaskError::InvalidInput(
            "batch_rows must be positive".into(),
        ));
    }
    let rows: Vec<(&[u32], &[u32])> = rows.into_iter().collect();
    let device = model.device();
    let collator = Collator::new(pad_id);
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(batch_rows) {
        let batch = collator.rows(chunk)?;
        let (ids, attention, completion) = batch_tensors(&batch, &device);
        let logprobs = model.completion_logprobs(ids, attention, completion)?;
        let per_token = logprobs
            .per_token
            .try_into_vec_as::<f32>()
            .map_err(|e| TaskError::TensorRead(format!("{e:?}")))?;
        // Position j of a row's `per_token` scores token j + 1.
        let t = batch.seq_len;
        for r in 0..batch.rows {
            let scored = (0..t.saturating_sub(1)).filter(|&j| {
                batch.completion_mask[r * t + j + 1] && batch.attention_mask[r * t + j + 1]
            });
            out.push(
                scored
                    .map(|j| f64::from(per_token[r * (t - 1) + j]))
                    .collect(),
            );
        }
    }
    Ok(out)
}

/// A host batch as `(input_ids, attention_mask, completion_mask)` tensors, each
/// `[rows, seq_len]`.
fn batch_tensors(
    batch: &TokenBatch,
    device: &Device,
) -> (Tensor<2, Int>, Tensor<2, Int>, Tensor<2, Int>) {
    let shape = batch.shape();
    let ids: Vec<i64> = batch.input_ids.iter().map(|&t| i64::from(t)).collect();
    let mask = |m: &[bool]| -> Vec<i64> { m.iter().map(|&b| i64::from(b)).collect() };
    let int = |v: Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(v, shape), device);
    (
        int(ids),
        int(mask(&batch.attention_mask)),
        int(mask(&batch.completion_mask)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_split_consecutive_completions() {
        let item = SampledPrompt {
            prompt: "p".into(),
            prompt_ids: vec![0, 4],
            completion_ids: (0..5).map(|i| vec![i]).collect(),
            completions: (0..5).map(|i| i.to_string()).collect(),
        };
        let groups = item.groups(2);
        assert_eq!(groups.len(), 2); // the fifth completion is dropped
        assert_eq!(groups[1].completions, ["2", "3"]);
        assert_eq!(groups[1].completion_ids, [vec![2], vec![3]]);
        assert_eq!(groups[1].prompt_ids, [0, 4]);
        let rows: Vec<_> = groups[0].rows().collect();
        assert_eq!(
            rows,
            [(&[0u32, 4][..], &[0u32][..]), (&[0, 4][..], &[1][..])]
        );
    }
}
