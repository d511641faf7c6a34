//! Batched autoregressive generation with a KV cache.

use burn::prelude::*;

use crate::causal_lm::CausalLm;
use crate::error::{ModelError, Result};
use crate::quantized::QuantizedPath;
use prefopt_core::SplitMix64;

use crate::sampling::{SamplingParams, select_token};
use crate::weights::read_back;

/// How to generate (names and semantics follow transformers' `GenerationConfig`).
#[derive(Config, Debug)]
pub struct GenerationConfig {
    /// Maximum number of new tokens per row.
    #[config(default = 32)]
    pub max_new_tokens: usize,
    /// Sample (true) or take the argmax (false, greedy).
    #[config(default = false)]
    pub do_sample: bool,
    /// Softmax temperature when sampling (must be > 0).
    #[config(default = 1.0)]
    pub temperature: f64,
    /// Keep only the `top_k` most likely tokens (0 = off).
    #[config(default = 0)]
    pub top_k: usize,
    /// Nucleus sampling mass (1.0 = off).
    #[config(default = 1.0)]
    pub top_p: f64,
    /// transformers' repetition penalty over prompt and generated tokens (1.0 = off).
    #[config(default = 1.0)]
    pub repetition_penalty: f64,
    /// Tokens that end a row; `None` = the model config's `eos_token_id`.
    pub eos_token_ids: Option<Vec<u32>>,
    /// Token used to left-pad prompts (`None` = config's `pad_token_id`, else 0). Never
    /// attended to.
    pub pad_token_id: Option<u32>,
    /// RNG seed for sampling.
    #[config(default = 0)]
    pub seed: u64,
}

/// Result of [`CausalLm::generate`].
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationOutput {
    /// New tokens per row (without the prompt), up to and including the EOS that stopped it.
    pub tokens: Vec<Vec<u32>>,
    /// Per new token: `log_softmax(logits / temperature)` at the chosen token (temperature 1
    /// when greedy), before repetition penalty and top-k/top-p truncation — the old-policy
    /// log-prob GRPO needs.
    pub logprobs: Vec<Vec<f32>>,
    /// Whether the row stopped on an EOS token (false: hit `max_new_tokens`).
    pub finished: Vec<bool>,
}

impl CausalLm {
    /// Generates continuations of `prompts` (token ids, any lengths; left-padded internally),
    /// all rows in one batch, with a KV cache. Deterministic for a given `seed`.
    pub fn generate(
        &self,
        prompts: &[Vec<u32>],
        config: &GenerationConfig,
    ) -> Result<GenerationOutput> {
        self.generate_repeated(prompts, 1, config)
    }

    /// Generates `repeats` continuations of each prompt, prefilling every prompt only once:
    /// the prompts' KV cache is expanded with [`KvCache::repeat_interleave`](crate::KvCache::repeat_interleave) before decoding.
    ///
    /// Output row `p · repeats + r` is continuation `r` of prompt `p`. For one seed it gives the
    /// same tokens as [`CausalLm::generate`] over the prompts repeated that way (same sampler,
    /// same order of random draws); only the `repeats − 1` redundant prompt prefills are saved.
    ///
    /// # Shapes
    /// - prompts: `P` token lists of any lengths
    /// - output: `P · repeats` rows
    pub fn generate_repeated(
        &self,
        prompts: &[Vec<u32>],
        repeats: usize,
        config: &GenerationConfig,
    ) -> Result<GenerationOutput> {
        crate::on_pool(|| self.generate_repeated_here(prompts, repeats, config))
    }

    /// [`CausalLm::generate_repeated`] on the calling thread.
    fn generate_repeated_here(
        &self,
        prompts: &[Vec<u32>],
        repeats: usize,
        config: &GenerationConfig,
    ) -> Result<GenerationOutput> {
        if repeats == 0 {
            return Err(ModelError::InvalidInput("repeats must be > 0".into()));
        }
        let p = prompts.len();
        if p == 0 {
            return Ok(GenerationOutput {
                tokens: Vec::new(),
                logprobs: Vec::new(),
                finished: Vec::new(),
            });
        }
        let vocab = self.config().vocab_size;
        if prompts.iter().any(Vec::is_empty) {
            return Err(ModelError::InvalidInput(
                "every prompt needs at least one token".into(),
            ));
        }
        if let Some(bad) = prompts.iter().flatten().find(|&&t| t as usize >= vocab) {
            return Err(ModelError::InvalidInput(format!(
                "prompt token {bad} is outside the vocabulary ({vocab})"
            )));
        }
        if config.do_sample && config.temperature <= 0.0 {
            return Err(ModelError::InvalidInput(
                "temperature must be > 0 when sampling".into(),
            ));
        }
        let eos = config
            .eos_token_ids
            .clone()
            .unwrap_or_else(|| self.config().eos_token_ids.clone());
        let pad = config
            .pad_token_id
            .or(self.config().pad_token_id)
            .unwrap_or(0);
        let params = SamplingParams::from(config);
        let mut rng = SplitMix64::new(config.seed);
        let device = self.device();

        // Prefill the P prompts once, left-padded.
        let len = prompts.iter().map(Vec::len).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(p * len);
        let mut mask = Vec::with_capacity(p * len);
        for prompt in prompts {
            let padding = len - prompt.len();
            ids.extend(std::iter::repeat_n(pad as i64, padding));
            ids.extend(prompt.iter().map(|&t| t as i64));
            mask.extend(std::iter::repeat_n(0i64, padding));
            mask.extend(std::iter::repeat_n(1i64, prompt.len()));
        }
        let mut cache = self.new_cache();
        let input = Tensor::<2, Int>::from_data(TensorData::new(ids, [p, len]), &device);
        let mask_t = Tensor::<2, Int>::from_data(TensorData::new(mask, [p, len]), &device);
        let hidden = self.forward_cached_hidden(input, Some(mask_t), &mut cache)?;
        let [_, _, h] = hidden.dims();
        let mut last = hidden.slice([0..p, len - 1..len, 0..h]).reshape([p, h]);

        // Repeat each prompt's cache and last hidden state along the batch.
        let b = p * repeats;
        if repeats > 1 {
            cache = cache.repeat_interleave(repeats);
            last = last
                .unsqueeze_dim::<3>(1)
                .expand([p, repeats, h])
                .reshape([b, h]);
        }

        let mut seen: Vec<Vec<u32>> = prompts
            .iter()
            .flat_map(|prompt| std::iter::repeat_n(prompt.clone(), repeats))
            .collect();
        let mut out = GenerationOutput {
            tokens: vec![Vec::new(); b],
            logprobs: vec![Vec::new(); b],
            finished: vec![false; b],
        };
        for step in 0..config.max_new_tokens {
            let logits = read_back(self.logits_from_hidden_path(last, QuantizedPath::Decode))?;
            let mut next = vec![pad as i64; b];
            let mut next_mask = vec![0i64; b];
            for row in 0..b {
                if out.finished[row] {
                    continue;
                }
                let row_logits = &logits[row * vocab..(row + 1) * vocab];
                let (tok, lp) = select_token(row_logits, &seen[row], &params, &mut rng);
                out.tokens[row].push(tok);
                out.logprobs[row].push(lp);
                seen[row].push(tok);
                if eos.contains(&tok) {
                    out.finished[row] = true;
                } else {
                    next[row] = tok as i64;
                    next_mask[row] = 1;
                }
            }
            if step + 1 == config.max_new_tokens || out.finished.iter().all(|&f| f) {
                break;
            }
            let input = Tensor::<2, Int>::from_data(TensorData::new(next, [b, 1]), &device);
            let all_real = next_mask.iter().all(|&m| m == 1);
            let mask_t = (!all_real)
                .then(|| Tensor::<2, Int>::from_data(TensorData::new(next_mask, [b, 1]), &device));
            last = self
                .forward_cached_hidden(input, mask_t, &mut cache)?
                .reshape([b, h]);
        }
        Ok(out)
    }
}
