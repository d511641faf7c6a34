//! Rollouts: G sampled completions per prompt from the policy, with their sampling log-probs.
//!
//! With [`SamplingConfig::shared_prefill`] (the default) the prompts go to
//! `CausalLm::generate_repeated`, which prefills them once, as one left-padded batch, and
//! repeats each prompt's KV cache G times along the batch (`KvCache::repeat_interleave`) before
//! decoding (TRL's layout: the G completions of a prompt are consecutive rows). Without it the
//! prompts are repeated G times and handed to `CausalLm::generate`, which prefills every copy.
//! Both use the models crate's sampler with the same order of random draws, so for one seed
//! they give the same tokens; the shared path only saves the (G − 1) redundant prompt prefills.

use prefopt_models::{CausalLm, GenerationConfig};

use crate::error::{Error, Result};
use crate::sampling::SamplingConfig;
use prefopt_core::invalid;

/// What a rollout needs: G, the completion budget, and how to sample.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutConfig {
    /// G, completions per prompt.
    pub num_generations: usize,
    /// Most new tokens per completion; a completion that reaches it without EOS is truncated.
    pub max_completion_length: usize,
    /// Sampling settings.
    pub sampling: SamplingConfig,
}

impl RolloutConfig {
    /// Validates the settings.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.num_generations == 0 {
            return Err(invalid("num_generations", "must be > 0"));
        }
        if self.max_completion_length == 0 {
            return Err(invalid("max_completion_length", "must be > 0"));
        }
        self.sampling.validate()
    }
}

/// G completions for each of P prompts; completion rows are prompt-major (row `p·G + g`).
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutBatch {
    /// G.
    pub num_generations: usize,
    /// The P prompts (token ids, no padding).
    pub prompts: Vec<Vec<u32>>,
    /// P·G completions, each up to and including the EOS that ended it.
    pub completions: Vec<Vec<u32>>,
    /// Per completion token: `log_softmax(logits / T)` at the sampled token (the sampler's
    /// π_old).
    pub sampling_logprobs: Vec<Vec<f32>>,
    /// True where the completion hit `max_completion_length` without an EOS.
    pub truncated: Vec<bool>,
}

impl RolloutBatch {
    /// Number of completions (P·G).
    pub fn len(&self) -> usize {
        self.completions.len()
    }

    /// Whether there are no completions.
    pub fn is_empty(&self) -> bool {
        self.completions.is_empty()
    }

    /// The prompt of completion row `i`.
    pub fn prompt_of(&self, i: usize) -> &[u32] {
        &self.prompts[i / self.num_generations]
    }

    /// Mean completion length in tokens (`completions/mean_length`).
    pub fn mean_length(&self) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        self.completions.iter().map(Vec::len).sum::<usize>() as f64 / self.len() as f64
    }

    /// Share of truncated completions (`completions/clipped_ratio`).
    pub fn clipped_ratio(&self) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        self.truncated.iter().filter(|&&t| t).count() as f64 / self.len() as f64
    }
}

/// Generates `num_generations` completions for every prompt, seeded.
///
/// # Errors
/// [`Error::InvalidConfig`] for bad settings, [`Error::InvalidInput`] for an empty prompt or a
/// token outside the vocabulary, and model errors from generation.
pub fn generate_rollouts(
    model: &CausalLm,
    prompts: &[Vec<u32>],
    config: &RolloutConfig,
    seed: u64,
) -> Result<RolloutBatch> {
    config.validate()?;
    let vocab = model.config().vocab_size;
    if let Some(i) = prompts.iter().position(Vec::is_empty) {
        return Err(Error::InvalidInput(format!("prompt {i} is empty")));
    }
    if let Some(bad) = prompts.iter().flatten().find(|&&t| t as usize >= vocab) {
        return Err(Error::InvalidInput(format!(
            "prompt token {bad} is outside the vocabulary ({vocab})"
        )));
    }
    let g = config.num_generations;
    if prompts.is_empty() {
        return Ok(RolloutBatch {
            num_generations: g,
            prompts: Vec::new(),
            completions: Vec::new(),
            sampling_logprobs: Vec::new(),
            truncated: Vec::new(),
        });
    }
    let s = &config.sampling;
    let gen_config = GenerationConfig::new()
        .with_max_new_tokens(config.max_completion_length)
        .with_do_sample(s.do_sample)
        .with_temperature(s.temperature)
        .with_top_k(s.top_k)
        .with_top_p(s.top_p)
        .with_repetition_penalty(s.repetition_penalty)
        .with_eos_token_ids(s.eos_token_ids.clone())
        .with_pad_token_id(s.pad_token_id)
        .with_seed(seed);
    let out = if s.shared_prefill {
        model.generate_repeated(prompts, g, &gen_config)?
    } else {
        let repeated: Vec<Vec<u32>> = prompts
            .iter()
            .flat_map(|p| std::iter::repeat_n(p.clone(), g))
            .collect();
        model.generate(&repeated, &gen_config)?
    };
    Ok(RolloutBatch {
        num_generations: g,
        prompts: prompts.to_vec(),
        truncated: out.finished.iter().map(|f| !f).collect(),
        completions: out.tokens,
        sampling_logprobs: out.logprobs,
    })
}
