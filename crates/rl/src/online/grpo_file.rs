//! The file `prefopt grpo --config grpo.toml` reads: the policy, the prompts and the
//! [`GrpoRunConfig`].
//!
//! ```toml
//! [model]
//! path = "runs/sft"              # HF checkpoint of the initial policy (+ tokenizer files)
//! output_dir = "runs/grpo"       # the trained policy (HF layout) and metrics.jsonl
//! reward_model = "runs/rm"       # optional: a sequence-classifier checkpoint for `reward_model`
//! keep_quantized = false         # true: a .gguf base stays in its block format (QLoRA); needs [lora]
//!
//! [lora]                         # optional: train PEFT LoRA adapters on the frozen base
//! r = 8                          # prefopt_train::LoraSection, the offline trainer's [lora]
//! lora_alpha = 16
//! target_modules = ["q_proj", "k_proj", "v_proj", "o_proj"]
//! merge = false                  # true: output_dir gets the merged model, the adapter adapter/
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
//!
//! With `[lora]` only the adapters train: the KL reference (β > 0) is the policy's own base
//! with the adapters off, checkpoints hold the PEFT adapter, and `output_dir` gets the adapter
//! (and, with `merge`, the merged model), as with the offline trainer's `[lora]`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::reward_model::REWARD_MODEL;
use prefopt_core::invalid;
use prefopt_models::LoadOptions;
use prefopt_train::LoraSection;

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
    /// `[lora]`: train PEFT LoRA adapters on the frozen policy instead of every weight (the
    /// offline trainer's table: same keys, same checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lora: Option<LoraSection>,
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
    /// Keep a GGUF policy's quantized weights in their block format (CPU backend): QLoRA, the
    /// adapters in f32 on the frozen quantized base, whose adapters-off forward is also the KL
    /// reference. Needs `[lora]`.
    #[serde(default)]
    pub keep_quantized: bool,
}

impl GrpoModelTable {
    /// The tokenizer directory: `tokenizer`, else `path`.
    pub fn tokenizer_dir(&self) -> &Path {
        self.tokenizer.as_deref().unwrap_or(&self.path)
    }

    /// How the policy's files are loaded.
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            keep_quantized: self.keep_quantized,
        }
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

    /// Checks `[lora]` (each error names its `lora.*` key) and that `[model] keep_quantized`
    /// comes with it; nothing is loaded.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) naming `model.keep_quantized` or
    /// the `lora.*` key.
    pub fn check_model(&self) -> Result<()> {
        let config_error = |e| match e {
            prefopt_train::Error::InvalidConfig(e) => Error::InvalidConfig(e),
            e => e.into(),
        };
        prefopt_train::require_lora_for_quantized(self.model.keep_quantized, self.lora.as_ref())
            .map_err(config_error)?;
        if let Some(lora) = &self.lora {
            lora.validate().map_err(config_error)?;
        }
        Ok(())
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
        assert!(file.lora.is_none() && !file.model.keep_quantized);
        file.check_model().unwrap();
    }

    #[test]
    fn the_qlora_study_config_is_valid() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/studies/grpo-qlora-smollm2.toml"
        );
        let file = GrpoFile::from_toml_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        file.check_model().unwrap();
        assert!(file.model.keep_quantized && file.lora.is_some());
        let mut registry = RewardRegistry::new();
        crate::toy::register_toy_rewards(&mut registry);
        file.check_rewards(&registry).unwrap();
        file.grpo.clone().init().unwrap();
    }

    #[test]
    fn lora_and_keep_quantized_are_read_and_checked() {
        let with_lora = FILE.replace(
            "output_dir = \"out\"",
            "output_dir = \"out\"\nkeep_quantized = true",
        ) + "[lora]\nr = 4\nlora_alpha = 8\ntarget_modules = [\"q_proj\", \"o_proj\"]\nmerge = true\n";
        let file = GrpoFile::from_toml_str(&with_lora).unwrap();
        file.check_model().unwrap();
        assert!(file.model.load_options().keep_quantized);
        let lora = file.lora.as_ref().unwrap();
        assert_eq!((lora.r, lora.lora_alpha, lora.merge), (4, 8.0, true));
        assert_eq!(lora.target_modules, ["q_proj", "o_proj"]);

        let field = |file: &GrpoFile| match file.check_model().unwrap_err() {
            crate::Error::InvalidConfig(e) => e.field,
            e => panic!("unexpected {e}"),
        };
        // keep_quantized without [lora] is refused, naming the key and the missing table.
        let mut bare = file.clone();
        bare.lora = None;
        assert_eq!(field(&bare), "model.keep_quantized");
        assert!(
            bare.check_model()
                .unwrap_err()
                .to_string()
                .contains("[lora]")
        );
        // [lora] keys are the offline trainer's, with its checks.
        let mut bad = file.clone();
        bad.lora.as_mut().unwrap().r = 0;
        assert_eq!(field(&bad), "lora.r");
        let err = GrpoFile::from_toml_str(&with_lora.replace("r = 4", "rank = 4"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("rank"), "{err}");
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
