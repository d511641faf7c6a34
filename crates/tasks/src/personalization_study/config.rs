//! `PersonalizationStudyConfig`: which arms the controlled NextQuill study trains, for how long
//! and with which seeds.

use std::path::Path;

use prefopt_objectives::nextquill::{NextQuillConfig, NextQuillVariant};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TaskError};
use crate::personalization::PersonalizationTaskConfig;

/// One row of the study's table: a training method on the same data and budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StudyArm {
    /// No training: the shared starting weights themselves, generating with the history in
    /// the prompt (the early-stopping baseline every arm has to beat).
    Base,
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
    pub const ALL: [StudyArm; 9] = [
        Self::Base,
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

    /// The NextQuill variant of an objective arm (`None` for the two SFT baselines).
    pub fn variant(self) -> Option<NextQuillVariant> {
        match self {
            Self::Base | Self::Sft | Self::ContextSft => None,
            Self::MceOnly => Some(NextQuillVariant::MceOnly),
            Self::DceOnly => Some(NextQuillVariant::DceOnly),
            Self::MceDceAlignment => Some(NextQuillVariant::MceDceAlignment),
            Self::NextQuill | Self::NextQuillFixed | Self::NextQuillDetached => {
                Some(NextQuillVariant::Full)
            }
        }
    }
}

/// The whole study. Every arm starts from the same weights (a random initialisation, then
/// `base_steps` of SFT on null-history prompts when > 0) and trains for the same number of
/// optimizer steps on the same batches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PersonalizationStudyConfig {
    /// The synthetic users, items and the tiny model.
    pub task: PersonalizationTaskConfig,
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

    /// Reads a TOML file; missing keys take the defaults, unknown keys are errors.
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| TaskError::io(path, e))?;
        toml::from_str(&text)
            .map_err(|e| TaskError::InvalidInput(format!("{}: {e}", path.display())))
    }

    /// The configuration of one study: `file` (TOML, missing keys take the defaults), else
    /// the smoke configuration when `smoke`, else the defaults; `seeds` (when given) replace
    /// the config's `seeds`; checked.
    pub fn load(file: Option<&Path>, smoke: bool, seeds: Option<&[u64]>) -> Result<Self> {
        let mut config = match (file, smoke) {
            (Some(path), _) => Self::from_toml_file(path)?,
            (None, true) => Self::smoke(),
            (None, false) => Self::default(),
        };
        if let Some(seeds) = seeds {
            config.seeds = seeds.to_vec();
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
        if self.steps == 0 || self.batch_size == 0 || self.max_new_tokens == 0 {
            return bad("steps, batch_size and max_new_tokens must be >= 1");
        }
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
        let smoke = PersonalizationStudyConfig::load(None, true, None).unwrap();
        assert_eq!(smoke, PersonalizationStudyConfig::smoke());
        let default = PersonalizationStudyConfig::load(None, false, Some(&[4, 5])).unwrap();
        assert_eq!(default.seeds, [4, 5]);
        assert_eq!(default.arms, PersonalizationStudyConfig::default().arms);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("study.toml");
        std::fs::write(&path, "steps = 3\n").unwrap();
        let file = PersonalizationStudyConfig::load(Some(&path), true, None).unwrap();
        assert_eq!(file.steps, 3);
        assert_eq!(file.arms, PersonalizationStudyConfig::default().arms);
        let err = PersonalizationStudyConfig::load(None, true, Some(&[])).unwrap_err();
        assert!(err.to_string().contains("seeds"), "{err}");
    }
}
