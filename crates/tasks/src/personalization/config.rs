//! [`PersonalizationTaskConfig`]: sizes, history lengths, how consistent users are, the
//! tokenizer's vocabulary and the model.

use serde::{Deserialize, Serialize};

use super::lexicon::{CATEGORIES, ITEMS_PER_CATEGORY, MAX_HISTORY};
use super::text_style::TextStyle;
use crate::error::{Result, TaskError};
use crate::model_config::TinyLlamaConfig;
use crate::tokenizer_training::MIN_VOCAB_SIZE;

/// Everything that decides the personalization task's files (with the seed, a pure
/// function of this).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersonalizationTaskConfig {
    /// Seed of every random choice.
    pub seed: u64,
    /// Users of `train.jsonl`.
    pub train_users: usize,
    /// Users of `eval.jsonl` (unseen in training).
    pub eval_users: usize,
    /// Users of `test.jsonl` (unseen in training and evaluation).
    pub test_users: usize,
    /// Fewest past reviews per user (≥ 1).
    pub min_history: usize,
    /// Most past reviews per user (≤ 8, the prompt's `max_his_len`).
    pub max_history: usize,
    /// Probability that a review talks about the user's focus aspect (else another one).
    pub aspect_consistency: f64,
    /// Probability that a review uses one of the user's two adjectives (else another one).
    pub adjective_consistency: f64,
    /// The tiny Llama's `config.json`.
    pub model: TinyLlamaConfig,
    /// Random filler words appended to each review's generic sentence (0 = none): content
    /// that neither the query nor the history predicts, so that, as in real reviews, most
    /// target tokens are not preference-bearing.
    pub filler_words: usize,
    /// Largest tokenizer vocabulary, special tokens included.
    pub vocab_size: usize,
    /// Users of `pretrain.jsonl` (0 = no file): further users of the same world, disjoint
    /// from the three splits, for pretraining a base model (a stand-in for the in-context
    /// ability a pretrained LLM brings). Adding them leaves the other users unchanged.
    pub pretrain_users: usize,
    /// How titles, descriptions and reviews are written: `compact` (the tiny models'
    /// lower-case token form) or `natural` (English sentences, for a pretrained model). The
    /// same users and choices either way.
    pub text: TextStyle,
}

impl Default for PersonalizationTaskConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            train_users: 400,
            eval_users: 32,
            test_users: 64,
            min_history: 3,
            max_history: 6,
            aspect_consistency: 0.85,
            adjective_consistency: 0.9,
            model: TinyLlamaConfig {
                max_position_embeddings: 512,
                ..TinyLlamaConfig::default()
            },
            vocab_size: 640,
            filler_words: 0,
            pretrain_users: 0,
            text: TextStyle::Compact,
        }
    }
}

impl PersonalizationTaskConfig {
    /// A toy size for tests: 24 / 4 / 6 users, everything else as the default.
    pub fn smoke() -> Self {
        Self {
            train_users: 24,
            eval_users: 4,
            test_users: 6,
            ..Self::default()
        }
    }

    /// All users, over the three splits.
    pub fn total_users(&self) -> usize {
        self.train_users + self.eval_users + self.test_users
    }

    /// Checks sizes, history bounds, probabilities, vocabulary and model.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(TaskError::InvalidInput(m));
        if self.train_users == 0 {
            return bad("train_users must be positive".into());
        }
        if self.total_users() + self.pretrain_users > 99_999 {
            return bad(format!(
                "{} users (pretraining included) are more than 99999",
                self.total_users() + self.pretrain_users
            ));
        }
        let items = CATEGORIES.len() * ITEMS_PER_CATEGORY;
        if self.min_history == 0
            || self.min_history > self.max_history
            || self.max_history > MAX_HISTORY.min(items - 1)
        {
            return bad(format!(
                "history lengths must satisfy 1 <= min_history ({}) <= max_history ({}) <= {MAX_HISTORY}",
                self.min_history, self.max_history
            ));
        }
        for (name, p) in [
            ("aspect_consistency", self.aspect_consistency),
            ("adjective_consistency", self.adjective_consistency),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return bad(format!("{name} must be a probability, got {p}"));
            }
        }
        if self.vocab_size < MIN_VOCAB_SIZE {
            return bad(format!(
                "vocab_size {} is below {MIN_VOCAB_SIZE}",
                self.vocab_size
            ));
        }
        self.model.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_values_do_not() {
        PersonalizationTaskConfig::default().validate().unwrap();
        PersonalizationTaskConfig::smoke().validate().unwrap();
        let base = PersonalizationTaskConfig::default();
        for bad in [
            PersonalizationTaskConfig {
                train_users: 0,
                ..base
            },
            PersonalizationTaskConfig {
                min_history: 0,
                ..base
            },
            PersonalizationTaskConfig {
                min_history: 5,
                max_history: 4,
                ..base
            },
            PersonalizationTaskConfig {
                max_history: 9,
                ..base
            },
            PersonalizationTaskConfig {
                aspect_consistency: 1.5,
                ..base
            },
            PersonalizationTaskConfig {
                adjective_consistency: f64::NAN,
                ..base
            },
            PersonalizationTaskConfig {
                vocab_size: 100,
                ..base
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn toml_round_trip_with_defaults_for_missing_keys() {
        let config: PersonalizationTaskConfig =
            toml::from_str("seed = 3\ntrain_users = 7").unwrap();
        assert_eq!(config.seed, 3);
        assert_eq!(config.train_users, 7);
        assert_eq!(config.model.max_position_embeddings, 512);
        let text = toml::to_string(&config).unwrap();
        assert_eq!(
            toml::from_str::<PersonalizationTaskConfig>(&text).unwrap(),
            config
        );
        assert!(toml::from_str::<PersonalizationTaskConfig>("colour = 1").is_err());
    }
}
