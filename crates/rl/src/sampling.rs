//! How rollouts sample: the TRL `GRPOConfig` sampling settings.
//!
//! The sampler itself is `prefopt-models`' (`select_token`, driven by `CausalLm::generate` and
//! `CausalLm::generate_repeated`); this is the serialisable, validated configuration of it.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use prefopt_core::invalid;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_fields_and_greedy_logprobs_use_temperature_one() {
        let config = SamplingConfig {
            do_sample: false,
            temperature: 0.7,
            ..Default::default()
        };
        assert_eq!(config.logprob_temperature(), 1.0);
        assert_eq!(
            SamplingConfig {
                do_sample: true,
                ..config.clone()
            }
            .logprob_temperature(),
            0.7
        );
        assert!(config.validate().is_ok());
        let bad = SamplingConfig {
            top_p: 0.0,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("top_p"));
    }
}
