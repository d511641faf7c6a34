//! `RunConfig`: everything one SFT / DPO / LiPO run needs, as the TOML file lays it out.
//!
//! ```toml
//! [model]      # path = HF checkpoint dir or .gguf file; tokenizer (default: path); ref_path (default: path)
//! [data]       # train, eval, max_length, truncation_mode, skip_bad_rows, ...
//! [training]   # prefopt_train::TrainerConfig (HF TrainingArguments names)
//! [reference]  # precompute_ref_log_probs, precompute_ref_batch_size
//! [dpo]        # prefopt_objectives::dpo::DpoConfig (TRL DPOConfig names)
//! [lipo]       # prefopt_objectives::lipo::LipoConfig
//! [personalization]  # user-history data + method of `nextquill` runs (PersonalizationSection)
//! [nextquill]  # prefopt_objectives::nextquill::NextQuillConfig
//! [lora]       # LoraSection: PEFT LoRA adapters instead of full fine-tuning (any method)
//! ```
//!
//! Every table denies unknown keys, so a misspelt key is an error that names it.

use std::path::{Path, PathBuf};

use prefopt_data::{
    DatasetOptions, RankedOptions, ReadOptions, Truncation, TruncationMode, UltraFeedbackScore,
};
use prefopt_objectives::dpo::DpoConfig;
use prefopt_objectives::lipo::LipoConfig;
use prefopt_objectives::nextquill::{DataEffectSource, NextQuillConfig};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::lora_section::LoraSection;
use crate::optimizer::AdamW;
use crate::personalization_section::{PersonalMethod, PersonalizationSection};
use crate::train_objective::TrainObjective;
use crate::trainer_config::TrainerConfig;
use crate::trainer_state::config_hash;
use prefopt_core::invalid;

/// Which objective a run optimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Supervised fine-tuning: token-mean NLL over completion tokens.
    Sft,
    /// The DPO family on preference pairs (`[dpo]`).
    Dpo,
    /// LiPO on ranked lists (`[lipo]`).
    Lipo,
    /// Personalisation on user histories (`[personalization]`): NextQuill (`[nextquill]`) or
    /// its SFT / ContextSFT baselines.
    #[serde(rename = "nextquill")]
    NextQuill,
}

impl Method {
    /// The subcommand / method name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sft => "sft",
            Self::Dpo => "dpo",
            Self::Lipo => "lipo",
            Self::NextQuill => "nextquill",
        }
    }

    /// Whether the method needs reference log-probs (a frozen model's sequence scores).
    pub fn needs_reference(self) -> bool {
        matches!(self, Self::Dpo | Self::Lipo)
    }
}

/// `[model]`: the policy checkpoint and where its tokenizer and reference come from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSection {
    /// HF checkpoint directory of the initial policy (`config.json` + safetensors). Required.
    pub path: PathBuf,
    /// Directory with `tokenizer.json` (+ `tokenizer_config.json`, ...); default `path`.
    pub tokenizer: Option<PathBuf>,
    /// Reference model checkpoint; default `path` (the initial policy, as TRL). For
    /// `nextquill` with `data_effect_source = "fixed"`, the frozen data model θ_D (the paper's
    /// choice is a ContextSFT model).
    pub ref_path: Option<PathBuf>,
    /// Name of the chat template to use when `tokenizer_config.json` has several.
    pub chat_template: Option<String>,
    /// Keep a GGUF base's quantized weights in their block format (CPU backend): QLoRA-style
    /// training, the adapters in f32 on the frozen quantized base, whose adapters-off forward
    /// is also the reference. Needs `[lora]`.
    pub keep_quantized: bool,
}

impl ModelSection {
    /// How the base model files are loaded.
    pub fn load_options(&self) -> prefopt_models::LoadOptions {
        prefopt_models::LoadOptions {
            keep_quantized: self.keep_quantized,
        }
    }

    /// The tokenizer directory.
    pub fn tokenizer_dir(&self) -> &Path {
        self.tokenizer.as_deref().unwrap_or(&self.path)
    }

    /// The reference checkpoint directory.
    pub fn reference_dir(&self) -> &Path {
        self.ref_path.as_deref().unwrap_or(&self.path)
    }
}

/// `[data]`: the JSONL files and how they become batches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSection {
    /// Training JSONL (pairs for DPO, lists for LiPO, SFT rows for SFT). Required.
    pub train: PathBuf,
    /// Held-out JSONL of the same layout, evaluated every `training.eval_steps`.
    pub eval: Option<PathBuf>,
    /// Maximum row length (prompt + completion) in tokens (TRL `max_length`); none = no limit.
    pub max_length: Option<usize>,
    /// `keep_start` (TRL default) or `keep_end`.
    pub truncation_mode: TruncationMode,
    /// Skip malformed rows (and report how many) instead of stopping at the first.
    pub skip_bad_rows: bool,
    /// Shuffle the training set each epoch (seeded by `training.seed`).
    pub shuffle: bool,
    /// Drop the last incomplete micro-batch of an epoch.
    pub drop_last: bool,
    /// Evaluation batch size (HF `per_device_eval_batch_size`).
    pub per_device_eval_batch_size: usize,
    /// LiPO list width K; default the longest list of each batch.
    pub list_size: Option<usize>,
    /// Raw UltraFeedback rows: which score becomes the list label.
    pub ultrafeedback_score: UltraFeedbackScore,
    /// Raw UltraFeedback rows: render instruction / responses as chat messages.
    pub ultrafeedback_as_chat: bool,
    /// Cache directory for tokenized data and reference log-probs; default
    /// `<output_dir>/cache`.
    pub cache_dir: Option<PathBuf>,
}

impl Default for DataSection {
    fn default() -> Self {
        let ranked = RankedOptions::default();
        Self {
            train: PathBuf::new(),
            eval: None,
            max_length: None,
            truncation_mode: TruncationMode::KeepStart,
            skip_bad_rows: false,
            shuffle: true,
            drop_last: false,
            per_device_eval_batch_size: 8,
            list_size: None,
            ultrafeedback_score: ranked.ultrafeedback_score,
            ultrafeedback_as_chat: ranked.ultrafeedback_as_chat,
            cache_dir: None,
        }
    }
}

impl DataSection {
    /// The data crate's options for these settings.
    pub fn dataset_options(&self) -> DatasetOptions {
        DatasetOptions {
            read: ReadOptions {
                skip_bad_rows: self.skip_bad_rows,
            },
            truncation: Truncation {
                max_length: self.max_length,
                mode: self.truncation_mode,
            },
            ranked: RankedOptions {
                ultrafeedback_score: self.ultrafeedback_score,
                ultrafeedback_as_chat: self.ultrafeedback_as_chat,
            },
        }
    }
}

/// `[reference]`: how the reference log-probs are obtained (TRL `DPOConfig` names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReferenceSection {
    /// Compute the reference log-probs once before training (cached on disk, the reference
    /// model then dropped); `false` keeps a frozen reference model and runs it every batch.
    pub precompute_ref_log_probs: bool,
    /// Batch size of the precomputation; default `per_device_eval_batch_size`.
    pub precompute_ref_batch_size: Option<usize>,
}

impl Default for ReferenceSection {
    fn default() -> Self {
        Self {
            precompute_ref_log_probs: true,
            precompute_ref_batch_size: None,
        }
    }
}

/// A whole run: the TOML file, after `--set` overrides.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// `[model]`.
    pub model: ModelSection,
    /// `[data]`.
    pub data: DataSection,
    /// `[training]`: the loop (HF `TrainingArguments` names).
    pub training: TrainerConfig,
    /// `[reference]`.
    pub reference: ReferenceSection,
    /// `[dpo]` (used by `dpo`).
    pub dpo: DpoConfig,
    /// `[lipo]` (used by `lipo`).
    pub lipo: LipoConfig,
    /// `[personalization]` (used by `nextquill`).
    pub personalization: PersonalizationSection,
    /// `[nextquill]` (used by `nextquill` with `personalization.method = "nextquill"`).
    pub nextquill: NextQuillConfig,
    /// `[lora]`: train PEFT LoRA adapters on the frozen model (every method); absent = full
    /// fine-tuning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lora: Option<LoraSection>,
}

impl RunConfig {
    /// Checks the required keys and every section's values, once, and builds what they
    /// describe: the objective of `method` and the optimizer. The trainer
    /// ([`crate::train`]) runs on the result and builds neither again.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) naming the key, or the objective's
    /// own error naming its key.
    pub fn init(self, method: Method) -> Result<ValidRunConfig> {
        if self.model.path.as_os_str().is_empty() {
            return Err(invalid("model.path", "is required"));
        }
        if self.data.train.as_os_str().is_empty() {
            return Err(invalid("data.train", "is required"));
        }
        crate::lora_section::require_lora_for_quantized(
            self.model.keep_quantized,
            self.lora.as_ref(),
        )?;
        if self.data.per_device_eval_batch_size == 0 {
            return Err(invalid("data.per_device_eval_batch_size", "must be >= 1"));
        }
        if self.data.max_length.is_some_and(|m| m < 2) {
            return Err(invalid("data.max_length", "must be >= 2"));
        }
        if self.data.list_size == Some(0) {
            return Err(invalid("data.list_size", "must be >= 1"));
        }
        if self.reference.precompute_ref_batch_size == Some(0) {
            return Err(invalid(
                "reference.precompute_ref_batch_size",
                "must be >= 1",
            ));
        }
        let optimizer = self.training.init()?;
        if let Some(lora) = &self.lora {
            lora.validate()?;
            if method.needs_reference() && self.model.ref_path.is_some() {
                return Err(invalid(
                    "model.ref_path",
                    "with [lora] the reference is the base model with the adapters switched off; remove ref_path",
                ));
            }
        }
        match method {
            Method::Sft | Method::Lipo => {}
            Method::Dpo => {
                if self.dpo.use_weighting {
                    return Err(invalid(
                        "dpo.use_weighting",
                        "WPO weighting needs full-vocabulary logits, which this trainer does not compute yet",
                    ));
                }
            }
            Method::NextQuill => {
                self.personalization.validate()?;
                if self.data.max_length.is_some() {
                    return Err(invalid(
                        "data.max_length",
                        "is not used by nextquill: set personalization.prompt.max_prompt_length and max_target_length (cutting whole rows would misalign the two passes)",
                    ));
                }
            }
        }
        let objective = TrainObjective::new(method, &self)?;
        Ok(ValidRunConfig {
            config: self,
            method,
            objective,
            optimizer,
        })
    }

    /// Whether a `nextquill` run needs the frozen data model (`data_effect_source = "fixed"`).
    pub fn needs_frozen_data_model(&self, method: Method) -> bool {
        method == Method::NextQuill
            && self.personalization.method == PersonalMethod::NextQuill
            && self.nextquill.data_effect_source == DataEffectSource::Fixed
    }

    /// Cache directory (tokenized data, reference log-probs).
    pub fn cache_dir(&self) -> PathBuf {
        self.data
            .cache_dir
            .clone()
            .unwrap_or_else(|| self.training.output_dir.join("cache"))
    }

    /// The hash stored in checkpoints: everything that shapes the trajectory. The keys that
    /// only decide how long to run and how often to log, evaluate or save are left out, so a
    /// run stopped at `max_steps = 4` can be resumed with `max_steps = 8`.
    pub fn trajectory_hash(&self, method: Method) -> Result<String> {
        let mut c = self.clone();
        c.training.output_dir = PathBuf::new();
        c.training.max_steps = -1;
        c.training.num_train_epochs = 0.0;
        c.training.logging_steps = 0;
        c.training.eval_steps = None;
        c.training.save_steps = 0;
        c.training.save_total_limit = None;
        c.data.cache_dir = None;
        c.data.eval = None;
        c.data.per_device_eval_batch_size = 0;
        c.reference.precompute_ref_batch_size = None;
        c.personalization.test = None;
        c.personalization.max_new_tokens = 0;
        c.personalization.repetition_penalty = 0.0;
        c.personalization.generation_batch_size = 0;
        if let Some(lora) = c.lora.as_mut() {
            // Only decides what is written at the end.
            lora.merge = false;
        }
        config_hash(&(method, &c))
    }
}

/// A [`RunConfig`] checked by [`RunConfig::init`] for one [`Method`], with the objective and
/// the optimizer it describes, built once: what [`crate::train`] runs.
#[derive(Debug)]
pub struct ValidRunConfig {
    config: RunConfig,
    method: Method,
    objective: TrainObjective,
    optimizer: AdamW,
}

impl ValidRunConfig {
    /// The checked config.
    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    /// The method it was checked for.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The objective built from the config's `[dpo]` / `[lipo]` / `[nextquill]` table.
    pub fn objective(&self) -> &TrainObjective {
        &self.objective
    }

    /// The optimizer built from `[training]` (no state yet).
    pub fn optimizer(&self) -> &AdamW {
        &self.optimizer
    }

    /// The parts, for the trainer.
    pub(crate) fn into_parts(self) -> (RunConfig, Method, TrainObjective, AdamW) {
        (self.config, self.method, self.objective, self.optimizer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> RunConfig {
        let mut c = RunConfig::default();
        c.model.path = "m".into();
        c.data.train = "t.jsonl".into();
        c
    }

    #[test]
    fn required_keys_and_section_values_are_checked_by_name() {
        let field = |c: &RunConfig, m: Method| match c.clone().init(m).unwrap_err() {
            crate::Error::InvalidConfig(prefopt_core::InvalidConfig { field, .. }) => {
                field.to_string()
            }
            crate::Error::Objective(e) => e.to_string(),
            e => panic!("unexpected {e}"),
        };
        assert_eq!(field(&RunConfig::default(), Method::Sft), "model.path");
        let mut c = minimal();
        c.clone().init(Method::Dpo).unwrap();
        c.dpo.beta = 0.0;
        assert!(field(&c, Method::Dpo).contains("beta"));
        c.clone().init(Method::Sft).unwrap(); // [dpo] is not used by sft
        c = minimal();
        c.dpo.use_weighting = true;
        assert_eq!(field(&c, Method::Dpo), "dpo.use_weighting");
        c = minimal();
        c.training.per_device_train_batch_size = 0;
        assert_eq!(field(&c, Method::Lipo), "per_device_train_batch_size");
    }

    #[test]
    fn init_keeps_the_objective_and_optimizer_it_built() {
        let mut c = minimal();
        c.dpo.beta = 0.3;
        c.training.adam_beta1 = 0.8;
        let valid = c.clone().init(Method::Dpo).unwrap();
        assert_eq!(valid.method(), Method::Dpo);
        assert_eq!(valid.config(), &c);
        match valid.objective() {
            TrainObjective::Dpo(dpo) => assert_eq!(dpo.config().beta, 0.3),
            other => panic!("expected a DPO objective, got {other:?}"),
        }
        assert_eq!(valid.optimizer().config().beta1, 0.8);
        let valid = c.clone().init(Method::Lipo).unwrap();
        assert!(matches!(valid.objective(), TrainObjective::Lipo(_)));
        let sft = c.init(Method::Sft).unwrap();
        assert!(matches!(sft.objective(), TrainObjective::Sft));
    }

    #[test]
    fn trajectory_hash_ignores_run_length_but_not_the_trajectory() {
        let a = minimal();
        let mut b = a.clone();
        b.training.max_steps = 8;
        b.training.save_steps = 3;
        b.training.output_dir = "elsewhere".into();
        let h = |c: &RunConfig, m| c.trajectory_hash(m).unwrap();
        assert_eq!(h(&a, Method::Dpo), h(&b, Method::Dpo));
        b.dpo.beta = 0.2;
        assert_ne!(h(&a, Method::Dpo), h(&b, Method::Dpo));
        // [lora] shapes the trajectory; its `merge` only the output.
        let mut l = a.clone();
        l.lora = Some(crate::LoraSection::default());
        assert_ne!(h(&a, Method::Dpo), h(&l, Method::Dpo));
        let mut m = l.clone();
        m.lora.as_mut().unwrap().merge = true;
        assert_eq!(h(&l, Method::Dpo), h(&m, Method::Dpo));
        m.lora.as_mut().unwrap().r = 2;
        assert_ne!(h(&l, Method::Dpo), h(&m, Method::Dpo));
        assert_ne!(h(&a, Method::Dpo), h(&a, Method::Lipo));
    }

    #[test]
    fn unknown_keys_are_rejected_in_every_table() {
        for text in [
            r#"{"model": {"pth": "x"}}"#,
            r#"{"data": {"trian": "x"}}"#,
            r#"{"reference": {"precompute": true}}"#,
            r#"{"extra": {}}"#,
        ] {
            let e = serde_json::from_str::<RunConfig>(text).unwrap_err();
            assert!(e.to_string().contains("unknown field"), "{e}");
        }
    }
}
