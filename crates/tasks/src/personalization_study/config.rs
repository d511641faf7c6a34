//! `PersonalizationStudyConfig`: which arms the controlled NextQuill study trains, for how long
//! and with which seeds.

use std::path::{Path, PathBuf};

use prefopt_data::PersonalOptions;
use prefopt_objectives::nextquill::{NextQuillConfig, NextQuillVariant};
use prefopt_train::LoraSection;
use serde::{Deserialize, Serialize};

use crate::config_relative::beside_config;
use crate::error::{Result, TaskError};
use crate::personalization::PersonalizationTaskConfig;
use crate::real_model::config::{FineTuning, attention_lora, is_gguf_file_name};

/// One row of the study's table: a training method on the same data and budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StudyArm {
    /// No training: the shared starting weights themselves, generating with the history in
    /// the prompt (the early-stopping baseline every arm has to beat).
    Base,
    /// No training, generating from the null-history prompt: with [`StudyArm::Base`], how
    /// much the starting weights already read the history in context.
    BaseNull,
    /// SFT on the null-history prompt (the model never sees the history).
    Sft,
    /// SFT with the history in the prompt.
    ContextSft,
    /// NextQuill ablation: uniform L_n + α·L_p ("+ MCE only").
    MceOnly,
    /// NextQuill ablation: ω-weighted L_n alone ("+ DCE only").
    DceOnly,
    /// NextQuill ablation: uniform L_n + α·ω-weighted L_p ("+ MCE-DCE alignment").
    MceDceAlignment,
    /// Full NextQuill (the authors' defaults unless `[nextquill]` says otherwise).
    #[serde(rename = "nextquill")]
    NextQuill,
    /// Full NextQuill with the paper's "fixed" data-side estimator: θ_D is the ContextSFT arm
    /// of the same seed, frozen (so `context_sft` must come earlier in `arms`).
    #[serde(rename = "nextquill_fixed")]
    NextQuillFixed,
    /// Full NextQuill with `detach_null_history = true`: L_p trains only the with-history
    /// pass (the authors' code lets it push the null-history pass away from the gold token).
    #[serde(rename = "nextquill_detached")]
    NextQuillDetached,
}

impl StudyArm {
    /// Every arm, in table order.
    pub const ALL: [StudyArm; 10] = [
        Self::Base,
        Self::BaseNull,
        Self::Sft,
        Self::ContextSft,
        Self::MceOnly,
        Self::DceOnly,
        Self::MceDceAlignment,
        Self::NextQuill,
        Self::NextQuillFixed,
        Self::NextQuillDetached,
    ];

    /// The row label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Base => "starting checkpoint, no further training",
            Self::BaseNull => "starting checkpoint, null history",
            Self::Sft => "SFT (no history)",
            Self::ContextSft => "ContextSFT",
            Self::MceOnly => "NextQuill: MCE only",
            Self::DceOnly => "NextQuill: DCE weighting only",
            Self::MceDceAlignment => "NextQuill: MCE-DCE alignment",
            Self::NextQuill => "NextQuill (full)",
            Self::NextQuillFixed => "NextQuill (full), fixed θ_D = ContextSFT",
            Self::NextQuillDetached => "NextQuill (full), null-history pass detached",
        }
    }

    /// The file-system name.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Base => "base_eval",
            Self::BaseNull => "base_null_eval",
            Self::Sft => "sft",
            Self::ContextSft => "context_sft",
            Self::MceOnly => "mce_only",
            Self::DceOnly => "dce_only",
            Self::MceDceAlignment => "mce_dce_alignment",
            Self::NextQuill => "nextquill",
            Self::NextQuillFixed => "nextquill_fixed",
            Self::NextQuillDetached => "nextquill_detached",
        }
    }

    /// Whether the arm trains (the two starting-checkpoint rows do not).
    pub fn trains(self) -> bool {
        !matches!(self, Self::Base | Self::BaseNull)
    }

    /// The runs of this arm per seed: one per entry of `tuning` when it trains, else one
    /// (`None`).
    pub fn tunings(self, tuning: &[FineTuning]) -> Vec<Option<FineTuning>> {
        if self.trains() {
            tuning.iter().copied().map(Some).collect()
        } else {
            vec![None]
        }
    }

    /// The NextQuill variant of an objective arm (`None` for the two SFT baselines).
    pub fn variant(self) -> Option<NextQuillVariant> {
        match self {
            Self::Base | Self::BaseNull | Self::Sft | Self::ContextSft => None,
            Self::MceOnly => Some(NextQuillVariant::MceOnly),
            Self::DceOnly => Some(NextQuillVariant::DceOnly),
            Self::MceDceAlignment => Some(NextQuillVariant::MceDceAlignment),
            Self::NextQuill | Self::NextQuillFixed | Self::NextQuillDetached => {
                Some(NextQuillVariant::Full)
            }
        }
    }
}

/// The whole study. Every arm starts from the same weights (a pretrained `base_model`, or a
/// random initialisation of the task's tiny Llama; then `base_steps` of `base_arm` training
/// when > 0) and trains for the same number of optimizer steps on the same batches, once per
/// entry of `tuning`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PersonalizationStudyConfig {
    /// The synthetic users, items and the tiny model.
    pub task: PersonalizationTaskConfig,
    /// A pretrained checkpoint every arm starts from — a `.gguf` file or a Hugging Face
    /// checkpoint directory, with its own tokenizer and chat template — instead of the
    /// task's tiny Llama (`None`). A relative path is looked up from the working directory,
    /// then next to the config file.
    pub base_model: Option<PathBuf>,
    /// Which weights the trained arms train: `full` and / or `lora` (one run of each arm
    /// per entry, in this order).
    pub tuning: Vec<FineTuning>,
    /// The adapters of the `lora` runs (PEFT names).
    pub lora: LoraSection,
    /// History selection, prompt rendering (the system prompt of a chat model) and token
    /// budget, as a run's `[personalization.prompt]`.
    pub prompt: PersonalOptions,
    /// Held-out prompts generated together.
    pub generation_batch_size: usize,
    /// Training seeds (shuffling and initial weights); one run per arm and seed.
    pub seeds: Vec<u64>,
    /// Steps of the shared base training every arm starts from (0 = from scratch).
    pub base_steps: u64,
    /// What the base is trained with: `sft` (null-history prompts: a model that has never
    /// seen a history) or `context_sft` (a model that has learnt some use of the history,
    /// standing in for a pretrained LLM's in-context ability).
    pub base_arm: StudyArm,
    /// Peak learning rate of the base training.
    pub base_learning_rate: f64,
    /// Optimizer steps of every arm.
    pub steps: u64,
    /// Examples per step.
    pub batch_size: usize,
    /// Peak learning rate (linear decay after warm-up).
    pub learning_rate: f64,
    /// Warm-up fraction.
    pub warmup_ratio: f64,
    /// Generation length limit on the held-out users.
    pub max_new_tokens: usize,
    /// The NextQuill hyper-parameters (the arm sets `variant`).
    pub nextquill: NextQuillConfig,
    /// The arms to train, in table order.
    pub arms: Vec<StudyArm>,
}

impl Default for PersonalizationStudyConfig {
    /// The configuration of the table in `docs/personalization.md`: 400 training users with
    /// 2–4 past reviews each, a base trained for 200 steps on null-history prompts (it writes
    /// reviews but has never seen a history), then 300 steps of each arm at batch 8.
    fn default() -> Self {
        Self {
            task: PersonalizationTaskConfig {
                min_history: 2,
                max_history: 4,
                ..PersonalizationTaskConfig::default()
            },
            base_model: None,
            tuning: vec![FineTuning::Full],
            lora: attention_lora(),
            prompt: PersonalOptions::default(),
            generation_batch_size: 32,
            seeds: vec![1],
            base_steps: 200,
            base_arm: StudyArm::Sft,
            base_learning_rate: 3e-3,
            steps: 300,
            batch_size: 8,
            learning_rate: 3e-3,
            warmup_ratio: 0.05,
            max_new_tokens: 40,
            nextquill: NextQuillConfig::default(),
            arms: vec![
                StudyArm::Sft,
                StudyArm::ContextSft,
                StudyArm::MceOnly,
                StudyArm::DceOnly,
                StudyArm::NextQuill,
                StudyArm::NextQuillFixed,
                StudyArm::NextQuillDetached,
            ],
        }
    }
}

impl PersonalizationStudyConfig {
    /// A few-second version for tests: tiny world (with 8 pretraining users, on which the
    /// base reads histories), the base row and 2 arms, one seed, a handful of steps.
    pub fn smoke() -> Self {
        Self {
            task: PersonalizationTaskConfig {
                pretrain_users: 8,
                ..PersonalizationTaskConfig::smoke()
            },
            base_arm: StudyArm::ContextSft,
            seeds: vec![1],
            steps: 4,
            batch_size: 4,
            max_new_tokens: 12,
            base_steps: 2,
            arms: vec![StudyArm::Base, StudyArm::ContextSft, StudyArm::NextQuill],
            ..Self::default()
        }
    }

    /// Reads a TOML file; missing keys take the defaults, unknown keys are errors; a
    /// relative `base_model` is resolved ([`beside_config`]).
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| TaskError::io(path, e))?;
        let mut config: Self = toml::from_str(&text)
            .map_err(|e| TaskError::InvalidInput(format!("{}: {e}", path.display())))?;
        if let Some(model) = &config.base_model {
            config.base_model = Some(beside_config(model, path.parent()));
        }
        Ok(config)
    }

    /// The configuration of one study: `file` (TOML, missing keys take the defaults), else
    /// the smoke configuration when `smoke`, else the defaults; `seeds` and `base_model`
    /// (when given) replace the config's; checked.
    pub fn load(
        file: Option<&Path>,
        smoke: bool,
        seeds: Option<&[u64]>,
        base_model: Option<&Path>,
    ) -> Result<Self> {
        let mut config = match (file, smoke) {
            (Some(path), _) => Self::from_toml_file(path)?,
            (None, true) => Self::smoke(),
            (None, false) => Self::default(),
        };
        if let Some(seeds) = seeds {
            config.seeds = seeds.to_vec();
        }
        if let Some(model) = base_model {
            config.base_model = Some(model.to_path_buf());
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(TaskError::InvalidInput(m.to_string()));
        if self.seeds.is_empty() {
            return bad("seeds must not be empty");
        }
        if self.arms.is_empty() {
            return bad("arms must not be empty");
        }
        if self.steps == 0
            || self.batch_size == 0
            || self.max_new_tokens == 0
            || self.generation_batch_size == 0
        {
            return bad("steps, batch_size, max_new_tokens and generation_batch_size must be >= 1");
        }
        if self.tuning.is_empty() {
            return bad("tuning must name at least one of full, lora, qlora");
        }
        if (1..self.tuning.len()).any(|i| self.tuning[..i].contains(&self.tuning[i])) {
            return bad("tuning must not repeat an entry");
        }
        if self.tuning.contains(&FineTuning::Qlora)
            && !self.base_model.as_deref().is_some_and(is_gguf_file_name)
        {
            return bad("tuning qlora needs base_model to be a quantized .gguf file");
        }
        if self.arms.contains(&StudyArm::NextQuillFixed) && self.tuning.iter().any(|t| t.adapters())
        {
            return bad(
                "arm nextquill_fixed needs tuning = [\"full\"] (its θ_D is a full ContextSFT model)",
            );
        }
        if let Some(model) = &self.base_model
            && !model.exists()
        {
            return Err(TaskError::InvalidInput(format!(
                "base_model: {} does not exist (a .gguf file or a Hugging Face checkpoint \
                 directory; `cargo xtask fetch-models` fetches SmolLM2-135M-Instruct)",
                model.display()
            )));
        }
        self.lora
            .validate()
            .map_err(|e| TaskError::InvalidInput(format!("lora: {e}")))?;
        self.prompt
            .validate()
            .map_err(|e| TaskError::InvalidInput(format!("prompt: {e}")))?;
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !(positive(self.learning_rate) && positive(self.base_learning_rate)) {
            return bad("learning_rate and base_learning_rate must be finite and > 0");
        }
        if !matches!(self.base_arm, StudyArm::Sft | StudyArm::ContextSft) {
            return bad("base_arm must be sft or context_sft");
        }
        if let Some(fixed) = self
            .arms
            .iter()
            .position(|&a| a == StudyArm::NextQuillFixed)
            && !self.arms[..fixed].contains(&StudyArm::ContextSft)
        {
            return bad("arm nextquill_fixed needs context_sft earlier in arms (its frozen θ_D)");
        }
        if !(0.0..1.0).contains(&self.warmup_ratio) {
            return bad("warmup_ratio must be in [0, 1)");
        }
        self.nextquill
            .init()
            .map_err(|e| TaskError::InvalidInput(format!("nextquill: {e}")))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_picks_file_smoke_or_default_and_overrides_the_seeds() {
        let smoke = PersonalizationStudyConfig::load(None, true, None, None).unwrap();
        assert_eq!(smoke, PersonalizationStudyConfig::smoke());
        let default = PersonalizationStudyConfig::load(None, false, Some(&[4, 5]), None).unwrap();
        assert_eq!(default.seeds, [4, 5]);
        assert_eq!(default.arms, PersonalizationStudyConfig::default().arms);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("study.toml");
        std::fs::write(&path, "steps = 3\n").unwrap();
        let file = PersonalizationStudyConfig::load(Some(&path), true, None, None).unwrap();
        assert_eq!(file.steps, 3);
        assert_eq!(file.arms, PersonalizationStudyConfig::default().arms);
        let err = PersonalizationStudyConfig::load(None, true, Some(&[]), None).unwrap_err();
        assert!(err.to_string().contains("seeds"), "{err}");
    }
}
