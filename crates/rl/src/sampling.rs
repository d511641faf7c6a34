//! Host-side next-token selection for rollouts.
//!
//! The same algorithm, in the same order of random draws, as `prefopt-models`' `generate`
//! (repetition penalty, temperature, top-k with ties kept, top-p, one uniform draw per sampled
//! token from a [`SplitMix64`]), so a shared-prefill rollout and `CausalLm::generate` over the
//! repeated prompts draw identical tokens for the same seed. The models crate keeps its sampler
//! private; this copy is what lets the rollout reuse one prompt cache for G samples.

use prefopt_models::SplitMix64;
use serde::{Deserialize, Serialize};

use crate::error::{Result, invalid};

/// How completions are sampled (TRL `GRPOConfig` names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SamplingConfig {
    /// Sample (true, GRPO) or take the argmax (false: greedy, for tests and evaluation).
    pub do_sample: bool,
    /// Softmax temperature (TRL default 1.0). The policy log-probs of the loss use the same
    /// temperature, as TRL divides the training logits by it.
    pub temperature: f64,
    /// Keep the `top_k` most likely tokens (0 = off, TRL default).
    pub top_k: usize,
    /// Nucleus mass (1.0 = off, TRL default).
    pub top_p: f64,
    /// transformers' repetition penalty (1.0 = off, TRL default).
    pub repetition_penalty: f64,
    /// Prefill each prompt once and repeat its KV cache for the G samples (default true);
    /// false = `CausalLm::generate` over the prompts repeated G times.
    pub shared_prefill: bool,
    /// Tokens that end a completion; `None` = the model config's `eos_token_id`.
    pub eos_token_ids: Option<Vec<u32>>,
    /// Left-padding token of prompts (`None` = config's `pad_token_id`, else 0).
    pub pad_token_id: Option<u32>,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        Self {
            do_sample: true,
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            repetition_penalty: 1.0,
            shared_prefill: true,
            eos_token_ids: None,
            pad_token_id: None,
        }
    }
}

impl SamplingConfig {
    /// Checks the ranges.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) naming the field.
    pub fn validate(&self) -> Result<()> {
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(invalid(
                "temperature",
                format!("must be finite and > 0, got {}", self.temperature),
            ));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(invalid(
                "top_p",
                format!("must be in (0, 1], got {}", self.top_p),
            ));
        }
        if !(self.repetition_penalty.is_finite() && self.repetition_penalty > 0.0) {
            return Err(invalid(
                "repetition_penalty",
                format!("must be finite and > 0, got {}", self.repetition_penalty),
            ));
        }
        Ok(())
    }

    /// The temperature the log-probs use: the sampling one, 1 when greedy.
    pub fn logprob_temperature(&self) -> f64 {
        if self.do_sample {
            self.temperature
        } else {
            1.0
        }
    }
}

/// transformers' `RepetitionPenaltyLogitsProcessor`.
fn apply_repetition_penalty(logits: &mut [f32], seen: &[u32], penalty: f64) {
    if penalty == 1.0 {
        return;
    }
    let p = penalty as f32;
    let mut done = vec![false; logits.len()];
    for &t in seen {
        let t = t as usize;
        if t < logits.len() && !done[t] {
            done[t] = true;
            logits[t] = if logits[t] < 0.0 {
                logits[t] * p
            } else {
                logits[t] / p
            };
        }
    }
}

fn log_softmax_at(scores: &[f32], idx: usize) -> f32 {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let lse = scores
        .iter()
        .map(|&s| ((s - max) as f64).exp())
        .sum::<f64>()
        .ln() as f32
        + max;
    scores[idx] - lse
}

/// First index of the maximum (ties to the lowest id, as `torch.argmax`).
fn argmax(scores: &[f32]) -> usize {
    let mut best = 0;
    for (i, &s) in scores.iter().enumerate() {
        if s > scores[best] {
            best = i;
        }
    }
    best
}

/// Chooses one row's next token: `(token, log_softmax(raw / temperature)[token])` (temperature
/// 1 when greedy), the log-prob before penalty and truncation, as the models crate reports it.
pub(crate) fn select_token(
    raw: &[f32],
    seen: &[u32],
    config: &SamplingConfig,
    rng: &mut SplitMix64,
) -> (u32, f32) {
    let mut scores = raw.to_vec();
    apply_repetition_penalty(&mut scores, seen, config.repetition_penalty);
    let temperature = config.logprob_temperature();
    let token = if config.do_sample {
        sample(&mut scores, config, rng)
    } else {
        argmax(&scores)
    };
    let scaled: Vec<f32> = raw.iter().map(|&x| x / temperature as f32).collect();
    (token as u32, log_softmax_at(&scaled, token))
}

fn sample(scores: &mut [f32], config: &SamplingConfig, rng: &mut SplitMix64) -> usize {
    let t = config.temperature as f32;
    for s in scores.iter_mut() {
        *s /= t;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut keep = order.len();
    if config.top_k > 0 && config.top_k < keep {
        let kth = scores[order[config.top_k - 1]];
        keep = order.iter().take_while(|&&i| scores[i] >= kth).count();
    }
    let max = scores[order[0]];
    let mut probs: Vec<f64> = order[..keep]
        .iter()
        .map(|&i| ((scores[i] - max) as f64).exp())
        .collect();
    let total: f64 = probs.iter().sum();
    for p in probs.iter_mut() {
        *p /= total;
    }
    if config.top_p < 1.0 {
        let mut cum = 0.0;
        let mut n = 0;
        for &p in &probs {
            cum += p;
            n += 1;
            if cum >= config.top_p {
                break;
            }
        }
        probs.truncate(n.max(1));
        let total: f64 = probs.iter().sum();
        for p in probs.iter_mut() {
            *p /= total;
        }
    }
    let u = rng.next_f64();
    let mut cum = 0.0;
    for (j, &p) in probs.iter().enumerate() {
        cum += p;
        if u < cum {
            return order[j];
        }
    }
    order[probs.len() - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logprob_is_exact_and_frequencies_match_softmax() {
        let config = SamplingConfig::default();
        let raw = [0.0f32, 1.0];
        let mut rng = SplitMix64::new(11);
        let p1 = 1.0 / (1.0 + (-1f64).exp()); // 0.7311
        let mut ones = 0;
        for _ in 0..4000 {
            let (tok, lp) = select_token(&raw, &[], &config, &mut rng);
            let expect = if tok == 1 { p1.ln() } else { (1.0 - p1).ln() };
            assert!((f64::from(lp) - expect).abs() < 1e-6);
            ones += tok as usize;
        }
        let frac = ones as f64 / 4000.0;
        assert!((frac - p1).abs() < 0.03, "{frac}");
    }

    #[test]
    fn greedy_takes_argmax_and_validation_names_fields() {
        let config = SamplingConfig {
            do_sample: false,
            ..Default::default()
        };
        let mut rng = SplitMix64::new(0);
        assert_eq!(select_token(&[0.1, 3.0, 3.0], &[], &config, &mut rng).0, 1);
        let bad = SamplingConfig {
            top_p: 0.0,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("top_p"));
    }
}
