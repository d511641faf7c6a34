//! Generation over more prompts than fit in one batch: consecutive batches of rows, each one
//! [`CausalLm::generate`] call with its own seed, the outputs concatenated in row order.
//!
//! This is the one loop behind `prefopt generate` / `eval`, the demo's sampling and the held-out
//! personalisation evaluation. It works on token ids only: encoding the prompts and decoding
//! the completions is the caller's (the tokenizer lives in `prefopt-data`, which this crate
//! does not depend on).

use burn::prelude::*;
use prefopt_core::SplitMix64;
use serde::{Deserialize, Serialize};

use crate::causal_lm::CausalLm;
use crate::error::{ModelError, Result};
use crate::generation::{GenerationConfig, GenerationOutput};

/// How the sampling seed of batch `i` follows from the run's seed
/// ([`GenerationConfig::seed`]).
///
/// Each batch gets its own seed so that changing the batch size does not replay one random
/// stream across batches; both schedules are reproducible for a given run seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchSeeds {
    /// Batch `i` samples with `seed + i` (wrapping), as `prefopt generate` and `eval` do.
    #[default]
    Offset,
    /// Batch `i` samples with the `i`-th draw of [`SplitMix64::new(seed)`](SplitMix64::new),
    /// as the demo's sampler does.
    Drawn,
}

impl BatchSeeds {
    /// The seeds of batches `0, 1, 2, …` for the run seed `seed`.
    pub fn stream(self, seed: u64) -> impl Iterator<Item = u64> {
        let mut drawn = SplitMix64::new(seed);
        (0u64..).map(move |i| match self {
            Self::Offset => seed.wrapping_add(i),
            Self::Drawn => drawn.next_u64(),
        })
    }
}

/// How to generate for a list of prompts, `batch_size` rows at a time.
#[derive(Config, Debug)]
pub struct BatchedGenerationConfig {
    /// The settings of every batch; its `seed` is the run's seed, from which each batch's
    /// seed is derived by `seeds`.
    pub generation: GenerationConfig,
    /// Rows generated together (the last batch may hold fewer). Must be ≥ 1.
    #[config(default = 8)]
    pub batch_size: usize,
    /// How each batch's seed derives from `generation.seed`.
    #[config(default = "BatchSeeds::Offset")]
    pub seeds: BatchSeeds,
}

impl CausalLm {
    /// Generates a continuation of every prompt, `config.batch_size` consecutive rows per
    /// [`CausalLm::generate`] call (left-padded within the batch, KV-cached), batch `i` seeded
    /// with the `i`-th seed of `config.seeds`. Deterministic for a given run seed.
    ///
    /// Row `r` of the output continues `prompts[r]`. To sample several continuations of one
    /// prompt, repeat it in `prompts` (a batch may then span two prompts).
    ///
    /// # Shapes
    /// - prompts: `R` token lists of any lengths (at least one token each)
    /// - output: `R` rows of new tokens, their sampling log-probs and finished flags
    ///
    /// # Errors
    /// A zero `batch_size`, and every error of [`CausalLm::generate`].
    pub fn generate_batched(
        &self,
        prompts: &[Vec<u32>],
        config: &BatchedGenerationConfig,
    ) -> Result<GenerationOutput> {
        if config.batch_size == 0 {
            return Err(ModelError::InvalidInput("batch_size must be ≥ 1".into()));
        }
        let mut out = GenerationOutput {
            tokens: Vec::with_capacity(prompts.len()),
            logprobs: Vec::with_capacity(prompts.len()),
            finished: Vec::with_capacity(prompts.len()),
        };
        let seeds = config.seeds.stream(config.generation.seed);
        for (batch, seed) in prompts.chunks(config.batch_size).zip(seeds) {
            let generation = config.generation.clone().with_seed(seed);
            let generated = self.generate(batch, &generation)?;
            tracing::debug!(rows = batch.len(), seed, "generated one batch");
            out.tokens.extend(generated.tokens);
            out.logprobs.extend(generated.logprobs);
            out.finished.extend(generated.finished);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_streams() {
        let offset: Vec<u64> = BatchSeeds::Offset.stream(u64::MAX).take(3).collect();
        assert_eq!(offset, [u64::MAX, 0, 1]);
        let mut rng = SplitMix64::new(7);
        let drawn: Vec<u64> = BatchSeeds::Drawn.stream(7).take(3).collect();
        assert_eq!(drawn, [rng.next_u64(), rng.next_u64(), rng.next_u64()]);
    }
}
