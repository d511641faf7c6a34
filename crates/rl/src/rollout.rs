//! Rollouts: G sampled completions per prompt from the policy, with their sampling log-probs.
//!
//! With [`SamplingConfig::shared_prefill`] (the default) the prompts are prefilled once, as one
//! left-padded batch, and each prompt's KV cache is repeated G times along the batch before
//! decoding (TRL's layout: the G completions of a prompt are consecutive rows). Without it the
//! prompts are repeated G times and handed to `CausalLm::generate`, which prefills every copy.
//! Both use the same sampler and the same order of random draws, so for one seed they give the
//! same tokens; the shared path only saves the (G − 1) redundant prompt prefills.

use prefopt_models::{CausalLm, GenerationConfig, SplitMix64};

use crate::error::{Error, Result, invalid};
use crate::prefix_cache::{PrefixCache, PrefixDecoder};
use crate::sampling::{SamplingConfig, select_token};

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
/// token outside the vocabulary, and model errors from the non-shared path.
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
    let (completions, sampling_logprobs, finished) = if config.sampling.shared_prefill {
        shared_prefill_decode(model, prompts, config, seed)?
    } else {
        let repeated: Vec<Vec<u32>> = prompts
            .iter()
            .flat_map(|p| std::iter::repeat_n(p.clone(), g))
            .collect();
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
        let out = model.generate(&repeated, &gen_config)?;
        (out.tokens, out.logprobs, out.finished)
    };
    Ok(RolloutBatch {
        num_generations: g,
        prompts: prompts.to_vec(),
        completions,
        sampling_logprobs,
        truncated: finished.iter().map(|f| !f).collect(),
    })
}

type Decoded = (Vec<Vec<u32>>, Vec<Vec<f32>>, Vec<bool>);

fn shared_prefill_decode(
    model: &CausalLm,
    prompts: &[Vec<u32>],
    config: &RolloutConfig,
    seed: u64,
) -> Result<Decoded> {
    let s = &config.sampling;
    let g = config.num_generations;
    let vocab = model.config().vocab_size;
    let eos = s
        .eos_token_ids
        .clone()
        .unwrap_or_else(|| model.config().eos_token_ids.clone());
    let pad = s.pad_token_id.or(model.config().pad_token_id).unwrap_or(0);
    let decoder = PrefixDecoder::new(model);

    // Prefill the P distinct prompts once, left-padded.
    let p = prompts.len();
    let len = prompts.iter().map(Vec::len).max().unwrap_or(0);
    let mut ids = Vec::with_capacity(p * len);
    let mut real = Vec::with_capacity(p * len);
    for prompt in prompts {
        let padding = len - prompt.len();
        ids.extend(std::iter::repeat_n(i64::from(pad), padding));
        ids.extend(prompt.iter().map(|&t| i64::from(t)));
        real.extend(std::iter::repeat_n(false, padding));
        real.extend(std::iter::repeat_n(true, prompt.len()));
    }
    let mut prompt_cache = PrefixCache::default();
    let hidden = decoder.forward(ids, &real, p, len, &mut prompt_cache);
    let [_, _, h] = hidden.dims();
    let last = hidden.slice([0..p, len - 1..len, 0..h]).reshape([p, h]);

    // Repeat each prompt's cache and last hidden state G times along the batch.
    let b = p * g;
    let mut cache = prompt_cache.repeat_interleave(g);
    drop(prompt_cache);
    let mut last = last.unsqueeze_dim::<3>(1).expand([p, g, h]).reshape([b, h]);

    let mut rng = SplitMix64::new(seed);
    let mut seen: Vec<Vec<u32>> = prompts
        .iter()
        .flat_map(|pr| std::iter::repeat_n(pr.clone(), g))
        .collect();
    let mut tokens = vec![Vec::new(); b];
    let mut logprobs = vec![Vec::new(); b];
    let mut finished = vec![false; b];
    for step in 0..config.max_completion_length {
        let logits = model
            .logits_from_hidden(last)
            .try_into_vec_as::<f32>()
            .map_err(|e| Error::InvalidInput(format!("reading logits back: {e:?}")))?;
        let mut next = vec![i64::from(pad); b];
        let mut next_real = vec![false; b];
        for row in 0..b {
            if finished[row] {
                continue;
            }
            let row_logits = &logits[row * vocab..(row + 1) * vocab];
            let (tok, lp) = select_token(row_logits, &seen[row], s, &mut rng);
            tokens[row].push(tok);
            logprobs[row].push(lp);
            seen[row].push(tok);
            if eos.contains(&tok) {
                finished[row] = true;
            } else {
                next[row] = i64::from(tok);
                next_real[row] = true;
            }
        }
        if step + 1 == config.max_completion_length || finished.iter().all(|&f| f) {
            break;
        }
        last = decoder
            .forward(next, &next_real, b, 1, &mut cache)
            .reshape([b, h]);
    }
    Ok((tokens, logprobs, finished))
}
