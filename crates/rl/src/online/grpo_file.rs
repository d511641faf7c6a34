//! The file `prefopt grpo --config grpo.toml` reads: the policy, the prompts and the
//! [`GrpoRunConfig`].
//!
//! ```toml
//! [model]
//! path = "runs/sft"              # HF checkpoint of the initial policy (+ tokenizer files)
//! output_dir = "runs/grpo"       # the trained policy (HF layout) and metrics.jsonl
//! reward_model = "runs/rm"       # optional: a sequence-classifier checkpoint for `reward_model`
//!
//! [data]
//! prompts = "prompts.jsonl"      # TRL prompt-only JSONL (`prompt`)
//!
//! [grpo]                         # GrpoRunConfig (TRL GRPOConfig names)
//! learning_rate = 1e-5
//! max_steps = 50
//! save_steps = 10                # checkpoint-<step>/ every 10 steps; `--resume` continues
//! [grpo.loss]
//! num_generations = 8
//! [[grpo.rewards]]
//! name = "sentiment"             # a name the caller's RewardRegistry knows, or reward_model
//! [[grpo.rewards]]               # Pref-GRPO: win rates from a judge (see RewardSpec)
//! name = "pref"
//! kind = "win_rate"
//! judge = { kind = "programmatic", comparator = "longer" }
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::reward_model::REWARD_MODEL;
use prefopt_core::invalid;

use super::config::GrpoRunConfig;
use super::registry::RewardRegistry;

/// A `grpo.toml` run file (every table rejects unknown keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpoFile {
    /// `[model]`: the policy, where the result goes, an optional reward model.
    pub model: GrpoModelTable,
    /// `[data]`: the prompts.
    pub data: GrpoDataTable,
    /// `[grpo]`: the run settings (all defaulted).
    #[serde(default)]
    pub grpo: GrpoRunConfig,
}

/// `[model]` of a [`GrpoFile`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpoModelTable {
    /// HF checkpoint of the initial policy.
    pub path: PathBuf,
    /// Where the trained policy (HF layout, with the tokenizer files) and `metrics.jsonl` go.
    pub output_dir: PathBuf,
    /// Tokenizer directory (default: `path`).
    #[serde(default)]
    pub tokenizer: Option<PathBuf>,
    /// Name of the chat template to select from the tokenizer's.
    #[serde(default)]
    pub chat_template: Option<String>,
    /// A sequence-classifier checkpoint (with its tokenizer), available as the
    /// `reward_model` reward.
    #[serde(default)]
    pub reward_model: Option<PathBuf>,
}

impl GrpoModelTable {
    /// The tokenizer directory: `tokenizer`, else `path`.
    pub fn tokenizer_dir(&self) -> &Path {
        self.tokenizer.as_deref().unwrap_or(&self.path)
    }
}

/// `[data]` of a [`GrpoFile`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpoDataTable {
    /// Prompt-only JSONL (`{"prompt": ...}`).
    pub prompts: PathBuf,
    /// Skip malformed rows (reported) instead of stopping at the first.
    #[serde(default)]
    pub skip_bad_rows: bool,
}

impl GrpoFile {
    /// Parses the file's TOML text.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) (`config`) with the parser's
    /// message, which names an unknown key.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| invalid("config", e.to_string()))
    }

    /// Reads an already parsed TOML table (e.g. after `--set` overrides were applied to it).
    ///
    /// # Errors
    /// As [`GrpoFile::from_toml_str`].
    pub fn from_table(table: toml::Table) -> Result<Self> {
        toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| invalid("config", e.to_string()))
    }

    /// The reward names this file can use with `registry`: the registry's, plus
    /// `reward_model` when `[model] reward_model` is set.
    pub fn known_rewards(&self, registry: &RewardRegistry) -> Vec<String> {
        let mut names: Vec<String> = registry.names().into_iter().map(str::to_owned).collect();
        if self.model.reward_model.is_some() && !registry.contains(REWARD_MODEL) {
            names.push(REWARD_MODEL.to_owned());
        }
        names
    }

    /// Checks that `[[grpo.rewards]]` lists at least one reward (the run settings are checked
    /// by [`GrpoRunConfig::init`](crate::GrpoRunConfig::init)).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) naming `rewards`; the message lists
    /// the rewards `registry` (plus `reward_model`) offers.
    pub fn check_rewards(&self, registry: &RewardRegistry) -> Result<()> {
        if self.grpo.rewards.is_empty() {
            let comparators = registry.comparator_names();
            let comparators = if comparators.is_empty() {
                String::new()
            } else {
                format!(
                    "; comparators (for win_rate judges): {}",
                    comparators.join(", ")
                )
            };
            return Err(invalid(
                "rewards",
                format!(
                    "[[grpo.rewards]] is empty; built-in rewards: {}{comparators}",
                    self.known_rewards(registry).join(", ")
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
        [model]
        path = "sft"
        output_dir = "out"
        [data]
        prompts = "p.jsonl"
        [grpo]
        max_steps = 3
        [[grpo.rewards]]
        name = "sentiment"
    "#;

    #[test]
    fn parses_defaults_and_rejects_unknown_keys() {
        let file = GrpoFile::from_toml_str(FILE).unwrap();
        assert_eq!(file.model.tokenizer_dir(), Path::new("sft"));
        assert!(!file.data.skip_bad_rows);
        assert_eq!(file.grpo.max_steps, 3);
        assert_eq!(
            file.grpo.learning_rate,
            GrpoRunConfig::default().learning_rate
        );
        for bad in [
            FILE.replace("max_steps", "max_stepz"),
            FILE.replace("output_dir", "outptu_dir"),
            format!("{FILE}\n[extra]\nx = 1\n"),
        ] {
            let err = GrpoFile::from_toml_str(&bad).unwrap_err().to_string();
            assert!(
                err.contains("max_stepz") || err.contains("outptu_dir") || err.contains("extra"),
                "{err}"
            );
        }
        let table: toml::Table = toml::from_str(FILE).unwrap();
        assert_eq!(GrpoFile::from_table(table).unwrap(), file);
    }

    #[test]
    fn an_empty_reward_list_names_the_known_rewards() {
        let mut registry = RewardRegistry::new();
        registry.register_fn("sentiment", |_, _| Some(0.0));
        let mut file = GrpoFile::from_toml_str(FILE).unwrap();
        file.check_rewards(&registry).unwrap();
        file.grpo.rewards.clear();
        let err = file.check_rewards(&registry).unwrap_err().to_string();
        assert!(
            err.contains("[[grpo.rewards]] is empty; built-in rewards: sentiment"),
            "{err}"
        );
        assert!(!err.contains(REWARD_MODEL), "{err}");
        file.model.reward_model = Some("rm".into());
        let err = file.check_rewards(&registry).unwrap_err().to_string();
        assert!(err.contains("sentiment, reward_model"), "{err}");
    }
}
