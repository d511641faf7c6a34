//! The `config.json` of the demo's tiny Llama, with Hugging Face key names, so the model
//! crate (and transformers) build it from the directory it shares with the tokenizer.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Result, TaskError};
use crate::jsonl_writer::write_json;
use crate::tokenizer_training::SpecialTokenIds;

/// Hyper-parameters of a tiny Llama trained from scratch (the vocabulary comes from the
/// tokenizer). The default has 2 layers of width 64, ~0.23 M parameters with a
/// 1024-token vocabulary: an SFT epoch over a few thousand reviews takes seconds on a CPU.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TinyLlamaConfig {
    /// `hidden_size`.
    pub hidden_size: usize,
    /// `intermediate_size` (SwiGLU width).
    pub intermediate_size: usize,
    /// `num_hidden_layers`.
    pub num_hidden_layers: usize,
    /// `num_attention_heads`.
    pub num_attention_heads: usize,
    /// `num_key_value_heads` (divides `num_attention_heads`).
    pub num_key_value_heads: usize,
    /// `max_position_embeddings`.
    pub max_position_embeddings: usize,
    /// `rms_norm_eps`.
    pub rms_norm_eps: f64,
    /// `rope_theta`.
    pub rope_theta: f64,
    /// `tie_word_embeddings`.
    pub tie_word_embeddings: bool,
    /// `initializer_range` (std of the normal initialisation).
    pub initializer_range: f64,
}

impl Default for TinyLlamaConfig {
    fn default() -> Self {
        Self {
            hidden_size: 64,
            intermediate_size: 256,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            num_key_value_heads: 4,
            max_position_embeddings: 128,
            rms_norm_eps: 1e-5,
            rope_theta: 10_000.0,
            tie_word_embeddings: false,
            initializer_range: 0.02,
        }
    }
}

impl TinyLlamaConfig {
    /// Checks that sizes are positive and heads divide evenly.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(TaskError::InvalidInput(m));
        if [
            self.hidden_size,
            self.intermediate_size,
            self.num_hidden_layers,
            self.num_attention_heads,
            self.num_key_value_heads,
            self.max_position_embeddings,
        ]
        .contains(&0)
        {
            return bad(format!("every size must be positive: {self:?}"));
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return bad(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if !self
            .num_attention_heads
            .is_multiple_of(self.num_key_value_heads)
        {
            return bad(format!(
                "num_attention_heads {} is not a multiple of num_key_value_heads {}",
                self.num_attention_heads, self.num_key_value_heads
            ));
        }
        if !(self.rms_norm_eps > 0.0 && self.rope_theta > 0.0 && self.initializer_range > 0.0) {
            return bad(format!(
                "rms_norm_eps, rope_theta and initializer_range must be positive: {self:?}"
            ));
        }
        Ok(())
    }

    /// `hidden_size / num_attention_heads`.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// Number of parameters for a vocabulary of `vocab_size` (embeddings, per layer
    /// q/k/v/o + gate/up/down + two RMSNorm weights, final norm, LM head unless tied).
    pub fn parameter_count(&self, vocab_size: usize) -> usize {
        let h = self.hidden_size;
        let kv = self.num_key_value_heads * self.head_dim();
        let attention = h * h + 2 * h * kv + h * h;
        let mlp = 3 * h * self.intermediate_size;
        let layer = attention + mlp + 2 * h;
        let embeddings = vocab_size * h;
        let head = if self.tie_word_embeddings {
            0
        } else {
            vocab_size * h
        };
        embeddings + self.num_hidden_layers * layer + h + head
    }

    /// The Hugging Face `config.json` (`model_type: "llama"`).
    pub fn to_hf_json(
        &self,
        vocab_size: usize,
        special: &SpecialTokenIds,
    ) -> Result<serde_json::Value> {
        self.validate()?;
        if vocab_size == 0 {
            return Err(TaskError::InvalidInput(
                "vocab_size must be positive".into(),
            ));
        }
        Ok(serde_json::json!({
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "vocab_size": vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "head_dim": self.head_dim(),
            "hidden_act": "silu",
            "max_position_embeddings": self.max_position_embeddings,
            "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta,
            "rope_scaling": null,
            "attention_bias": false,
            "attention_dropout": 0.0,
            "mlp_bias": false,
            "tie_word_embeddings": self.tie_word_embeddings,
            "initializer_range": self.initializer_range,
            "bos_token_id": special.bos,
            "eos_token_id": special.eos,
            "pad_token_id": special.pad,
            "torch_dtype": "float32",
            "use_cache": true,
        }))
    }

    /// Writes `config.json` and `generation_config.json` into `dir`; returns the
    /// `config.json` path.
    pub fn write(
        &self,
        dir: &Path,
        vocab_size: usize,
        special: &SpecialTokenIds,
    ) -> Result<PathBuf> {
        let path = dir.join("config.json");
        write_json(&path, &self.to_hf_json(vocab_size, special)?)?;
        write_json(
            &dir.join("generation_config.json"),
            &serde_json::json!({
                "bos_token_id": special.bos,
                "eos_token_id": special.eos,
                "pad_token_id": special.pad,
            }),
        )?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: SpecialTokenIds = SpecialTokenIds {
        bos: 0,
        eos: 1,
        pad: 2,
    };

    #[test]
    fn parameter_count_by_hand() {
        // V=1000, H=64, I=256, 2 layers, 4 heads = 4 kv heads:
        // attention 4·64² = 16384, mlp 3·64·256 = 49152, norms 128 → 65664 per layer;
        // embeddings 64000, lm head 64000, final norm 64.
        let c = TinyLlamaConfig::default();
        assert_eq!(c.parameter_count(1000), 64_000 * 2 + 2 * 65_664 + 64);
        let tied = TinyLlamaConfig {
            tie_word_embeddings: true,
            num_key_value_heads: 2,
            ..c
        };
        // k and v shrink to 64·32 each: attention 2·4096 + 2·2048 = 12288
        assert_eq!(
            tied.parameter_count(1000),
            64_000 + 2 * (12_288 + 49_152 + 128) + 64
        );
    }

    #[test]
    fn hf_json_has_llama_keys() {
        let json = TinyLlamaConfig::default().to_hf_json(777, &IDS).unwrap();
        assert_eq!(json["model_type"], "llama");
        assert_eq!(json["vocab_size"], 777);
        assert_eq!(json["head_dim"], 16);
        assert_eq!(json["eos_token_id"], 1);
        assert_eq!(json["hidden_act"], "silu");
    }

    #[test]
    fn invalid_shapes_are_rejected() {
        let c = TinyLlamaConfig {
            num_attention_heads: 3,
            ..Default::default()
        };
        assert!(c.to_hf_json(10, &IDS).is_err());
        let c = TinyLlamaConfig {
            num_key_value_heads: 3,
            ..Default::default()
        };
        assert!(c.validate().is_err());
        assert!(TinyLlamaConfig::default().to_hf_json(0, &IDS).is_err());
    }
}
