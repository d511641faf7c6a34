//! Every knob of the controlled sentiment demo, with defaults tuned so the whole pipeline
//! (corpus → SFT → K samples → DPO and LiPO-λ → evaluation) runs in a few minutes on two
//! CPU cores in a release build. Read from TOML; unknown keys are rejected.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Result, TaskError};
use crate::model_config::TinyLlamaConfig;
use crate::prepare::DemoSizes;
use crate::real_model::config::AlignObjective;
use crate::sentiment::ReviewGrammar;

/// What data to generate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoDataConfig {
    /// SFT reviews.
    pub sft_examples: usize,
    /// Prompts the K samples for DPO / LiPO are drawn from.
    pub train_prompts: usize,
    /// Held-out prompts for the evaluation (disjoint from the training prompts).
    pub eval_prompts: usize,
    /// Largest tokenizer vocabulary.
    pub vocab_size: usize,
}

impl Default for DemoDataConfig {
    fn default() -> Self {
        Self {
            sft_examples: 8000,
            train_prompts: 256,
            eval_prompts: 64,
            vocab_size: 1024,
        }
    }
}

impl DemoDataConfig {
    /// The sizes [`crate::prepare`] takes (its `prompts` are training + held-out prompts).
    pub fn sizes(&self) -> DemoSizes {
        DemoSizes {
            sft_examples: self.sft_examples,
            prompts: self.train_prompts + self.eval_prompts,
            vocab_size: self.vocab_size,
        }
    }
}

/// Supervised fine-tuning of the model from random weights.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SftStageConfig {
    /// Epochs over the SFT corpus.
    pub epochs: f64,
    /// Examples per optimizer step.
    pub batch_size: usize,
    /// Peak learning rate (linear warm-up, then linear decay).
    pub learning_rate: f64,
    /// Warm-up as a fraction of the steps.
    pub warmup_ratio: f64,
}

impl Default for SftStageConfig {
    fn default() -> Self {
        Self {
            epochs: 5.0,
            batch_size: 32,
            learning_rate: 3e-3,
            warmup_ratio: 0.05,
        }
    }
}

/// One preference-optimization stage (DPO on pairs or LiPO-λ on lists), from the SFT model
/// with the SFT model as the frozen reference.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlignStageConfig {
    /// β, the strength of the implicit KL penalty.
    pub beta: f64,
    /// Epochs over the pairs (DPO) or lists (LiPO).
    pub epochs: f64,
    /// Pairs or lists per optimizer step.
    pub batch_size: usize,
    /// Peak learning rate (linear warm-up, then linear decay).
    pub learning_rate: f64,
    /// Warm-up as a fraction of the steps.
    pub warmup_ratio: f64,
}

impl AlignStageConfig {
    /// One epoch over the 4096 pairs, 256 steps. The learning rate sits below a cliff: at
    /// 5e-4 the same run reaches a KL of ≈ 22 nats (seed 7), at 2.5e-4 ≈ 0.6.
    fn dpo() -> Self {
        Self {
            beta: 0.1,
            epochs: 1.0,
            batch_size: 16,
            learning_rate: 2.5e-4,
            warmup_ratio: 0.1,
        }
    }

    /// One epoch over the 4096 lists, 256 steps of 16 lists × 8 responses. LiPO-λ's
    /// gradients are larger (λ weights scaled by the list size), so its learning rate is
    /// half DPO's for a comparable KL (2.5e-4 reaches ≈ 10 nats, seed 7).
    fn lipo() -> Self {
        Self {
            learning_rate: 1.25e-4,
            ..Self::dpo()
        }
    }
}

impl Default for AlignStageConfig {
    fn default() -> Self {
        Self::dpo()
    }
}

/// How completions are sampled, both the K per training prompt and the evaluation samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SamplingStageConfig {
    /// Completions sampled per training prompt (the list size of LiPO, the pool of the pair,
    /// and the K of best-of-K).
    pub k: usize,
    /// Softmax temperature. At 1.0 the samples come from π itself, which the KL estimate
    /// assumes.
    pub temperature: f64,
    /// Longest completion in tokens (EOS included); 0 = the longest SFT completion + 8.
    pub max_new_tokens: usize,
    /// Independent lists of K completions sampled per training prompt (each gives one DPO
    /// pair and one LiPO list), so the preference data outnumber the 320 distinct prompts.
    pub lists_per_prompt: usize,
    /// Completions sampled per held-out prompt and method for the evaluation (best-of-K
    /// draws K times as many from the SFT model).
    pub eval_samples_per_prompt: usize,
    /// Rows per generation or log-prob batch.
    pub batch_rows: usize,
}

impl Default for SamplingStageConfig {
    fn default() -> Self {
        Self {
            k: 8,
            temperature: 1.0,
            max_new_tokens: 0,
            lists_per_prompt: 16,
            eval_samples_per_prompt: 8,
            batch_rows: 256,
        }
    }
}

/// The whole demo.
///
/// ```toml
/// seed = 7
/// [data]
/// sft_examples = 8000
/// [sft]
/// epochs = 5.0
/// [sampling]
/// k = 8
/// [dpo]
/// beta = 0.1
/// [lipo]
/// beta = 0.1
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoConfig {
    /// Seed of everything random: corpus, prompts, initial weights, shuffling, sampling.
    pub seed: u64,
    /// Corpus and prompts.
    pub data: DemoDataConfig,
    /// The model trained from scratch (`config.json` of the model directory).
    pub model: TinyLlamaConfig,
    /// Supervised fine-tuning.
    pub sft: SftStageConfig,
    /// Sampling of the K completions and of the evaluation.
    pub sampling: SamplingStageConfig,
    /// DPO on best-vs-worst pairs of the K samples.
    pub dpo: AlignStageConfig,
    /// LiPO-λ on the lists of K samples.
    pub lipo: AlignStageConfig,
    /// More rows of the LiPO family (`pair_logistic`, `pair_hinge`, `list_mle`, `softmax`,
    /// `point_mse`, `point_sigmoid`), each trained on the same lists with the `[lipo]` stage
    /// settings; empty by default. `lipo_family = ["pair_hinge", "list_mle"]`.
    pub lipo_family: Vec<AlignObjective>,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            seed: 7,
            data: DemoDataConfig::default(),
            model: TinyLlamaConfig::default(),
            sft: SftStageConfig::default(),
            sampling: SamplingStageConfig::default(),
            dpo: AlignStageConfig::dpo(),
            lipo: AlignStageConfig::lipo(),
            lipo_family: Vec::new(),
        }
    }
}

impl DemoConfig {
    /// A configuration small enough for a debug-build test: a few hundred reviews, a
    /// handful of prompts, two optimizer steps per stage. The numbers it produces mean
    /// nothing; it exercises every stage.
    pub fn smoke() -> Self {
        Self {
            seed: 7,
            data: DemoDataConfig {
                sft_examples: 64,
                train_prompts: 4,
                eval_prompts: 2,
                vocab_size: 512,
            },
            model: TinyLlamaConfig {
                hidden_size: 16,
                intermediate_size: 32,
                num_hidden_layers: 1,
                num_attention_heads: 2,
                num_key_value_heads: 2,
                ..TinyLlamaConfig::default()
            },
            sft: SftStageConfig {
                epochs: 1.0,
                batch_size: 32,
                ..SftStageConfig::default()
            },
            sampling: SamplingStageConfig {
                k: 4,
                max_new_tokens: 12,
                lists_per_prompt: 2,
                eval_samples_per_prompt: 2,
                ..SamplingStageConfig::default()
            },
            dpo: AlignStageConfig {
                epochs: 1.0,
                batch_size: 2,
                ..AlignStageConfig::dpo()
            },
            lipo: AlignStageConfig {
                epochs: 1.0,
                batch_size: 2,
                ..AlignStageConfig::lipo()
            },
            lipo_family: Vec::new(),
        }
    }

    /// Parses a TOML configuration (missing keys take the defaults).
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let config: Self =
            toml::from_str(text).map_err(|e| TaskError::InvalidInput(format!("config: {e}")))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads a TOML configuration file.
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| TaskError::io(path, e))?;
        Self::from_toml_str(&text).map_err(|e| match e {
            TaskError::InvalidInput(m) => {
                TaskError::InvalidInput(format!("{}: {m}", path.display()))
            }
            other => other,
        })
    }

    /// The configuration of one demo run: `file` (TOML, missing keys take the defaults) or
    /// the defaults, with `seed` (when given) replacing the config's `seed`; checked.
    pub fn load(file: Option<&Path>, seed: Option<u64>) -> Result<Self> {
        let mut config = match file {
            Some(path) => Self::from_toml_file(path)?,
            None => Self::default(),
        };
        if let Some(seed) = seed {
            config.seed = seed;
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks every value; the error names the key.
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, why: String| Err(TaskError::InvalidInput(format!("{key}: {why}")));
        let d = &self.data;
        for (key, v) in [
            ("data.sft_examples", d.sft_examples),
            ("data.train_prompts", d.train_prompts),
            ("data.eval_prompts", d.eval_prompts),
            ("sft.batch_size", self.sft.batch_size),
            ("sampling.lists_per_prompt", self.sampling.lists_per_prompt),
            (
                "sampling.eval_samples_per_prompt",
                self.sampling.eval_samples_per_prompt,
            ),
            ("sampling.batch_rows", self.sampling.batch_rows),
            ("dpo.batch_size", self.dpo.batch_size),
            ("lipo.batch_size", self.lipo.batch_size),
        ] {
            if v == 0 {
                return bad(key, "must be positive".into());
            }
        }
        let available = ReviewGrammar::prompt_count();
        if d.train_prompts + d.eval_prompts > available {
            return bad(
                "data.train_prompts + data.eval_prompts",
                format!(
                    "{} + {} exceeds the {available} distinct prompts of the grammar",
                    d.train_prompts, d.eval_prompts
                ),
            );
        }
        if self.sampling.k < 2 {
            return bad(
                "sampling.k",
                format!("needs at least 2 samples, got {}", self.sampling.k),
            );
        }
        if !(self.sampling.temperature.is_finite() && self.sampling.temperature > 0.0) {
            return bad(
                "sampling.temperature",
                format!("must be > 0, got {}", self.sampling.temperature),
            );
        }
        for (key, v) in [
            ("sft.epochs", self.sft.epochs),
            ("sft.learning_rate", self.sft.learning_rate),
            ("dpo.beta", self.dpo.beta),
            ("dpo.epochs", self.dpo.epochs),
            ("dpo.learning_rate", self.dpo.learning_rate),
            ("lipo.beta", self.lipo.beta),
            ("lipo.epochs", self.lipo.epochs),
            ("lipo.learning_rate", self.lipo.learning_rate),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return bad(key, format!("must be finite and > 0, got {v}"));
            }
        }
        for (key, v) in [
            ("sft.warmup_ratio", self.sft.warmup_ratio),
            ("dpo.warmup_ratio", self.dpo.warmup_ratio),
            ("lipo.warmup_ratio", self.lipo.warmup_ratio),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(key, format!("must be in [0, 1], got {v}"));
            }
        }
        for (i, row) in self.lipo_family.iter().enumerate() {
            let duplicate = self.lipo_family[..i].contains(row);
            if matches!(row, AlignObjective::Dpo | AlignObjective::LipoLambda) || duplicate {
                return bad(
                    &format!("lipo_family[{i}]"),
                    format!(
                        "{} is already a row (the family rows are the other LiPO losses, once each)",
                        row.label()
                    ),
                );
            }
        }
        self.model.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_round_trip() {
        for config in [DemoConfig::default(), DemoConfig::smoke()] {
            config.validate().unwrap();
            let text = toml::to_string(&config).unwrap();
            assert_eq!(DemoConfig::from_toml_str(&text).unwrap(), config);
        }
    }

    #[test]
    fn partial_toml_takes_defaults() {
        let config = DemoConfig::from_toml_str("seed = 3\n[dpo]\nbeta = 0.5\n").unwrap();
        assert_eq!(config.seed, 3);
        assert_eq!(config.dpo.beta, 0.5);
        assert_eq!(config.dpo.batch_size, DemoConfig::default().dpo.batch_size);
        assert_eq!(config.lipo, DemoConfig::default().lipo);
    }

    #[test]
    fn load_takes_the_file_or_the_defaults_and_overrides_the_seed() {
        let config = DemoConfig::load(None, Some(3)).unwrap();
        assert_eq!(config.seed, 3);
        assert_eq!(config.dpo, DemoConfig::default().dpo);
        assert_eq!(DemoConfig::load(None, None).unwrap(), DemoConfig::default());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.toml");
        std::fs::write(&path, "seed = 5\n[dpo]\nbeta = 0.5\n").unwrap();
        let config = DemoConfig::load(Some(&path), None).unwrap();
        assert_eq!((config.seed, config.dpo.beta), (5, 0.5));
        assert_eq!(DemoConfig::load(Some(&path), Some(9)).unwrap().seed, 9);
        let err = DemoConfig::load(Some(&dir.path().join("nope.toml")), None).unwrap_err();
        assert!(err.to_string().contains("nope.toml"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let err = DemoConfig::from_toml_str("[dpo]\nbetta = 0.5\n").unwrap_err();
        assert!(err.to_string().contains("betta"), "{err}");
        let err = DemoConfig::from_toml_str("[sampling]\nk = 1\n").unwrap_err();
        assert!(err.to_string().contains("sampling.k"), "{err}");
        let err = DemoConfig::from_toml_str("lipo_family = [\"dpo\"]\n").unwrap_err();
        assert!(err.to_string().contains("lipo_family[0]"), "{err}");
        let config =
            DemoConfig::from_toml_str("lipo_family = [\"pair_hinge\", \"softmax\"]\n").unwrap();
        assert_eq!(
            config.lipo_family,
            [AlignObjective::PairHinge, AlignObjective::Softmax]
        );
        let err = DemoConfig::from_toml_str("[data]\ntrain_prompts = 400\n").unwrap_err();
        assert!(err.to_string().contains("train_prompts"), "{err}");
        let err = DemoConfig::from_toml_str("[lipo]\nbeta = -1.0\n").unwrap_err();
        assert!(err.to_string().contains("lipo.beta"), "{err}");
    }
}
