//! `config.json` of a Hugging Face Llama-family checkpoint.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{ModelError, Result};

/// The `model_type` values this crate implements (all share the Llama decoder).
pub const SUPPORTED_MODEL_TYPES: &[&str] = &["llama", "mistral", "qwen2"];

/// How rotary frequencies are rescaled for long contexts (`rope_scaling` in HF configs).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RopeScaling {
    /// No rescaling (`rope_type: "default"` or no `rope_scaling`).
    None,
    /// `rope_type: "linear"`: positions divided by `factor`.
    Linear {
        /// Division factor.
        factor: f64,
    },
    /// `rope_type: "llama3"` (Llama 3.1+): low frequencies scaled by `factor`, a smooth band
    /// between `low_freq_factor` and `high_freq_factor`.
    Llama3 {
        /// Scale of the low frequencies.
        factor: f64,
        /// Lower bound of the smoothing band.
        low_freq_factor: f64,
        /// Upper bound of the smoothing band.
        high_freq_factor: f64,
        /// Context length of the original pre-training.
        original_max_position_embeddings: usize,
    },
}

/// The decoder hyper-parameters shared by Llama 2/3, Mistral, Qwen2/2.5, SmolLM and TinyLlama,
/// read from a Hugging Face `config.json`.
///
/// The original JSON is kept (`raw`) and written back unchanged by `save_hf`, so fields this
/// crate does not interpret survive a round trip.
#[derive(Debug, Clone)]
pub struct LlamaConfig {
    /// `model_type` (`llama`, `mistral`, `qwen2`).
    pub model_type: String,
    /// Rows of the embedding and LM-head matrices.
    pub vocab_size: usize,
    /// Residual-stream width.
    pub hidden_size: usize,
    /// SwiGLU inner width.
    pub intermediate_size: usize,
    /// Number of decoder layers.
    pub num_hidden_layers: usize,
    /// Query heads.
    pub num_attention_heads: usize,
    /// Key/value heads (GQA when smaller than `num_attention_heads`).
    pub num_key_value_heads: usize,
    /// Per-head width.
    pub head_dim: usize,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// RoPE base.
    pub rope_theta: f64,
    /// RoPE frequency rescaling.
    pub rope_scaling: RopeScaling,
    /// Whether the LM head shares the embedding matrix.
    pub tie_word_embeddings: bool,
    /// Bias on q/k/v projections (true for Qwen2, `attention_bias` for Llama).
    pub qkv_bias: bool,
    /// Bias on the output projection (`attention_bias` for Llama; false for Qwen2).
    pub o_bias: bool,
    /// Bias on the MLP projections (`mlp_bias`).
    pub mlp_bias: bool,
    /// Maximum context length the model was trained for.
    pub max_position_embeddings: usize,
    /// Token ids that end a generation (`eos_token_id`, an int or a list).
    pub eos_token_ids: Vec<u32>,
    /// `bos_token_id`, if any.
    pub bos_token_id: Option<u32>,
    /// `pad_token_id`, if any.
    pub pad_token_id: Option<u32>,
    /// Number of outputs of a sequence-classification head (`num_labels`/`id2label`; 1 if absent).
    pub num_labels: usize,
    /// The JSON this config was read from.
    pub raw: Value,
    /// Where it was read from (`<memory>` if built from a string).
    pub source: PathBuf,
}

fn get_usize(v: &Value, key: &str) -> Option<usize> {
    v.get(key).and_then(Value::as_u64).map(|x| x as usize)
}

fn get_f64(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn get_bool(v: &Value, key: &str) -> Option<bool> {
    v.get(key).and_then(Value::as_bool)
}

fn token_ids(v: &Value, key: &str) -> Vec<u32> {
    match v.get(key) {
        Some(Value::Number(n)) => n.as_u64().map(|x| vec![x as u32]).unwrap_or_default(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_u64)
            .map(|x| x as u32)
            .collect(),
        _ => Vec::new(),
    }
}

impl LlamaConfig {
    /// Reads and validates a Hugging Face `config.json`.
    ///
    /// Unknown `model_type` values are rejected with the list of supported ones.
    pub fn from_hf_json(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_hf_str(&text, path)
    }

    /// Parses a config from JSON text; `source` is only used in error messages.
    pub fn from_hf_str(text: &str, source: impl AsRef<Path>) -> Result<Self> {
        let source = source.as_ref().to_path_buf();
        let raw: Value = serde_json::from_str(text).map_err(|e| ModelError::Json {
            path: source.clone(),
            source: e,
        })?;
        Self::from_value(raw, source)
    }

    fn from_value(raw: Value, source: PathBuf) -> Result<Self> {
        let invalid = |message: String| ModelError::InvalidConfig {
            path: source.clone(),
            message,
        };
        let model_type = raw
            .get("model_type")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("missing `model_type`".into()))?
            .to_string();
        if !SUPPORTED_MODEL_TYPES.contains(&model_type.as_str()) {
            return Err(ModelError::UnsupportedModelType {
                path: source,
                model_type,
                supported: SUPPORTED_MODEL_TYPES.join(", "),
            });
        }
        let need =
            |key: &str| get_usize(&raw, key).ok_or_else(|| invalid(format!("missing `{key}`")));
        let vocab_size = need("vocab_size")?;
        let hidden_size = need("hidden_size")?;
        let intermediate_size = need("intermediate_size")?;
        let num_hidden_layers = need("num_hidden_layers")?;
        let num_attention_heads = need("num_attention_heads")?;
        let num_key_value_heads =
            get_usize(&raw, "num_key_value_heads").unwrap_or(num_attention_heads);
        if num_attention_heads == 0 || hidden_size == 0 {
            return Err(invalid(
                "hidden_size and num_attention_heads must be positive".into(),
            ));
        }
        let head_dim = get_usize(&raw, "head_dim").unwrap_or(hidden_size / num_attention_heads);
        if num_key_value_heads == 0 || num_attention_heads % num_key_value_heads != 0 {
            return Err(invalid(format!(
                "num_attention_heads ({num_attention_heads}) must be a multiple of num_key_value_heads ({num_key_value_heads})"
            )));
        }
        if !head_dim.is_multiple_of(2) {
            return Err(invalid(format!(
                "head_dim ({head_dim}) must be even for RoPE"
            )));
        }
        if let Some(act) = raw.get("hidden_act").and_then(Value::as_str)
            && act != "silu"
        {
            return Err(invalid(format!(
                "hidden_act `{act}` is not supported (only `silu`)"
            )));
        }
        let rms_norm_eps = get_f64(&raw, "rms_norm_eps").unwrap_or(1e-6);
        // transformers v5 moved rope settings into `rope_parameters`.
        let rope_params = raw.get("rope_parameters").filter(|v| v.is_object());
        let rope_theta = get_f64(&raw, "rope_theta")
            .or_else(|| rope_params.and_then(|p| get_f64(p, "rope_theta")))
            .unwrap_or(10_000.0);
        let scaling_value = raw
            .get("rope_scaling")
            .filter(|v| v.is_object())
            .or(rope_params);
        let rope_scaling = match scaling_value {
            None => RopeScaling::None,
            Some(s) => {
                let kind = s
                    .get("rope_type")
                    .or_else(|| s.get("type"))
                    .and_then(Value::as_str)
                    .unwrap_or("default");
                let factor = || {
                    get_f64(s, "factor")
                        .ok_or_else(|| invalid("rope scaling needs `factor`".into()))
                };
                match kind {
                    "default" => RopeScaling::None,
                    "linear" => RopeScaling::Linear { factor: factor()? },
                    "llama3" => RopeScaling::Llama3 {
                        factor: factor()?,
                        low_freq_factor: get_f64(s, "low_freq_factor").unwrap_or(1.0),
                        high_freq_factor: get_f64(s, "high_freq_factor").unwrap_or(4.0),
                        original_max_position_embeddings: get_usize(
                            s,
                            "original_max_position_embeddings",
                        )
                        .unwrap_or(8192),
                    },
                    other => {
                        return Err(invalid(format!(
                            "rope scaling `{other}` is not supported (supported: default, linear, llama3)"
                        )));
                    }
                }
            }
        };
        let attention_bias = get_bool(&raw, "attention_bias").unwrap_or(false);
        let (qkv_bias, o_bias) = if model_type == "qwen2" {
            (true, false)
        } else {
            (attention_bias, attention_bias)
        };
        let num_labels = get_usize(&raw, "num_labels").unwrap_or_else(|| {
            raw.get("id2label")
                .and_then(Value::as_object)
                .map(|m| m.len())
                .unwrap_or(1)
        });
        Ok(Self {
            vocab_size,
            hidden_size,
            intermediate_size,
            num_hidden_layers,
            num_attention_heads,
            num_key_value_heads,
            head_dim,
            rms_norm_eps,
            rope_theta,
            rope_scaling,
            tie_word_embeddings: get_bool(&raw, "tie_word_embeddings").unwrap_or(false),
            qkv_bias,
            o_bias,
            mlp_bias: get_bool(&raw, "mlp_bias").unwrap_or(false),
            max_position_embeddings: get_usize(&raw, "max_position_embeddings").unwrap_or(4096),
            eos_token_ids: token_ids(&raw, "eos_token_id"),
            bos_token_id: token_ids(&raw, "bos_token_id").first().copied(),
            pad_token_id: token_ids(&raw, "pad_token_id").first().copied(),
            num_labels: num_labels.max(1),
            model_type,
            raw,
            source,
        })
    }

    /// Checks that every id a tokenizer with `tokenizer_vocab_size` tokens can produce has an
    /// embedding row. (Models often pad `vocab_size` above the tokenizer size; that is fine.)
    pub fn check_vocab(&self, tokenizer_vocab_size: usize) -> Result<()> {
        if tokenizer_vocab_size > self.vocab_size {
            return Err(ModelError::VocabMismatch {
                path: Some(self.source.clone()),
                tokenizer_vocab_size,
                model_vocab_size: self.vocab_size,
            });
        }
        Ok(())
    }

    /// The JSON written by `save_hf`: the original `config.json`.
    pub fn to_hf_json(&self) -> String {
        serde_json::to_string_pretty(&self.raw).unwrap_or_else(|_| "{}".into())
    }

    /// Whether the checkpoint is a sequence-classification model (`*ForSequenceClassification`).
    pub fn is_sequence_classifier(&self) -> bool {
        self.raw
            .get("architectures")
            .and_then(Value::as_array)
            .is_some_and(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .any(|s| s.ends_with("ForSequenceClassification"))
            })
    }

    /// Inverse RoPE frequencies (length `head_dim / 2`), with `rope_scaling` applied, as
    /// transformers computes them.
    pub fn inv_freq(&self) -> Vec<f64> {
        let dim = self.head_dim as f64;
        let base: Vec<f64> = (0..self.head_dim / 2)
            .map(|i| 1.0 / self.rope_theta.powf((2 * i) as f64 / dim))
            .collect();
        match self.rope_scaling {
            RopeScaling::None => base,
            RopeScaling::Linear { factor } => base.into_iter().map(|f| f / factor).collect(),
            RopeScaling::Llama3 {
                factor,
                low_freq_factor,
                high_freq_factor,
                original_max_position_embeddings,
            } => {
                let old = original_max_position_embeddings as f64;
                let low_freq_wavelen = old / low_freq_factor;
                let high_freq_wavelen = old / high_freq_factor;
                base.into_iter()
                    .map(|f| {
                        let wavelen = 2.0 * std::f64::consts::PI / f;
                        let scaled = if wavelen > low_freq_wavelen {
                            f / factor
                        } else {
                            f
                        };
                        let medium = wavelen >= high_freq_wavelen && wavelen <= low_freq_wavelen;
                        if medium {
                            let smooth = (old / wavelen - low_freq_factor)
                                / (high_freq_factor - low_freq_factor);
                            (1.0 - smooth) * scaled / factor + smooth * scaled
                        } else {
                            scaled
                        }
                    })
                    .collect()
            }
        }
    }

    /// Queries per key/value head.
    pub fn kv_groups(&self) -> usize {
        self.num_attention_heads / self.num_key_value_heads
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: &str = r#"{"model_type":"llama","vocab_size":128,"hidden_size":32,
        "intermediate_size":64,"num_hidden_layers":2,"num_attention_heads":4,
        "num_key_value_heads":2,"rms_norm_eps":1e-5,"rope_theta":10000.0,
        "eos_token_id":[2,3],"hidden_act":"silu"}"#;

    #[test]
    fn reads_defaults_and_lists() {
        let c = LlamaConfig::from_hf_str(TINY, "<memory>").unwrap();
        assert_eq!(c.head_dim, 8);
        assert_eq!(c.kv_groups(), 2);
        assert_eq!(c.eos_token_ids, vec![2, 3]);
        assert!(!c.tie_word_embeddings);
        assert!(!c.qkv_bias);
        assert_eq!(c.num_labels, 1);
    }

    #[test]
    fn unknown_model_type_lists_supported() {
        let text = TINY.replace("\"llama\"", "\"gpt2\"");
        let err = LlamaConfig::from_hf_str(&text, "cfg.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("gpt2") && err.contains("llama, mistral, qwen2"),
            "{err}"
        );
        assert!(err.contains("cfg.json"), "{err}");
    }

    #[test]
    fn qwen2_has_qkv_bias_only() {
        let text = TINY.replace("\"llama\"", "\"qwen2\"");
        let c = LlamaConfig::from_hf_str(&text, "<memory>").unwrap();
        assert!(c.qkv_bias && !c.o_bias);
    }

    #[test]
    fn vocab_check() {
        let c = LlamaConfig::from_hf_str(TINY, "cfg.json").unwrap();
        assert!(c.check_vocab(128).is_ok());
        assert!(c.check_vocab(100).is_ok());
        let err = c.check_vocab(129).unwrap_err().to_string();
        assert!(
            err.contains("129") && err.contains("128") && err.contains("cfg.json"),
            "{err}"
        );
    }

    #[test]
    fn llama3_scaling_matches_hand_values() {
        // head_dim 16, theta 10000 -> wavelengths 2*pi*10^(i/2): 6.28 (high, kept),
        // 19.9 and 62.8 (medium band for old=64, low=1, high=4 -> 16..64), 198.7+ (divided).
        let text = TINY.replace(
            "\"rope_theta\":10000.0",
            "\"rope_theta\":10000.0,\"head_dim\":16,\"rope_scaling\":{\"rope_type\":\"llama3\",\
             \"factor\":8.0,\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,\
             \"original_max_position_embeddings\":64}",
        );
        let c = LlamaConfig::from_hf_str(&text, "<memory>").unwrap();
        let f = c.inv_freq();
        assert_eq!(f.len(), 8);
        assert!((f[0] - 1.0).abs() < 1e-12);
        let f1 = 10f64.powf(-0.5);
        let w1 = 2.0 * std::f64::consts::PI / f1;
        let s = 64.0 / w1 - 1.0;
        let s = s / 3.0;
        assert!((f[1] - ((1.0 - s) * f1 / 8.0 + s * f1)).abs() < 1e-12);
        assert!((f[3] - 10f64.powf(-1.5) / 8.0).abs() < 1e-12);
    }
}
