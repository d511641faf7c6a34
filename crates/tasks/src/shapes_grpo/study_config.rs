//! `t2i_study.toml`: the Pref-GRPO study of the shapes world — a base pipeline, the judges'
//! config, a `prefopt t2i grpo` config every arm starts from, the seeds and the arms.

use std::path::{Path, PathBuf};

use prefopt_train::load_table;
use serde::{Deserialize, Serialize};

use super::config::ShapesGrpoConfig;
use super::judge_config::JudgeTrainingConfig;
use super::judge_training::{JUDGE_DIR, SCORER_DIR};
use super::rewards::{ShapesRewardKind, ShapesRewardSpec};
use crate::config_relative::beside_config;
use crate::{Result, TaskError};

/// The name of the zero-weight checker reward the study adds to every arm: the ground truth
/// of the training rollouts, logged beside the reward that is trained on.
pub const GROUND_TRUTH_REWARD: &str = "ground_truth";

/// One arm: a label and the `[[rewards]]` its runs train on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyArmSpec {
    /// Its folder name under `runs/` and its key in `results.json` (letters, digits, `_`, `-`).
    pub name: String,
    /// Its row label in the table and the legend.
    pub label: String,
    /// Its `[[arms.rewards]]`: `prefopt t2i grpo`'s `[[rewards]]` entries. A learned kind
    /// without `path` uses the study's own judges (`judges/scorer`, `judges/judge`).
    pub rewards: Vec<ShapesRewardSpec>,
}

/// A whole `prefopt t2i study` config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefGrpoStudyConfig {
    /// The base pipeline every arm starts from (a `prefopt t2i train` output).
    pub base_model: PathBuf,
    /// Training seeds: every arm runs once per seed (prompt order and sampling noise).
    pub seeds: Vec<u64>,
    /// The `prefopt t2i train-judges` config the learned rewards are fitted with (on
    /// `base_model`, into `OUT/judges`); needed only when an arm uses a learned kind without
    /// a `path`.
    #[serde(default)]
    pub judges: Option<PathBuf>,
    /// The `prefopt t2i grpo` config every run starts from (its `[[rewards]]` are replaced by
    /// the arm's; `base_model`, `training.output_dir` and `training.seed` by the study's).
    pub grpo: PathBuf,
    /// `section.key=value` overrides of the `grpo` config for every run.
    #[serde(default)]
    pub set: Vec<String>,
    /// Add the checker's pass rate with weight 0 as [`GROUND_TRUTH_REWARD`] to every arm.
    #[serde(default = "yes")]
    pub ground_truth_monitor: bool,
    /// Evaluation prompts shown in each arm's sample grid (image 0 of each).
    #[serde(default = "grid_prompts")]
    pub grid_prompts: usize,
    /// `[[arms]]`.
    pub arms: Vec<StudyArmSpec>,
}

fn yes() -> bool {
    true
}

fn grid_prompts() -> usize {
    8
}

fn bad(path: &Path, message: impl std::fmt::Display) -> TaskError {
    TaskError::InvalidInput(format!("{}: {message}", path.display()))
}

impl PrefGrpoStudyConfig {
    /// Reads `path` (TOML; unknown keys are errors naming them), applies `overrides`
    /// (`key=value`) and checks it, including that the `grpo` and `judges` files load. Relative
    /// paths are looked up from the working directory, then next to the file.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        let table = load_table(path, overrides)?;
        let mut config: Self = toml::Value::Table(table)
            .try_into()
            .map_err(|e| bad(path, e))?;
        let dir = path.parent();
        config.base_model = beside_config(&config.base_model, dir);
        config.grpo = beside_config(&config.grpo, dir);
        config.judges = config.judges.map(|j| beside_config(&j, dir));
        if let Some(dir) = dir {
            for arm in &mut config.arms {
                arm.rewards = std::mem::take(&mut arm.rewards)
                    .into_iter()
                    .map(|r| r.resolved(dir))
                    .collect();
            }
        }
        config.validate().map_err(|e| bad(path, e))?;
        config.run_config(&config.arms[0], config.seeds[0], Path::new("check"))?;
        if config.needs_judges() {
            config.judges_config(Path::new("check"))?;
        }
        Ok(config)
    }

    /// Checks the values (each error names its key).
    pub fn validate(&self) -> Result<()> {
        if self.seeds.is_empty() {
            return Err(TaskError::InvalidInput("seeds: at least one seed".into()));
        }
        if self.arms.is_empty() {
            return Err(TaskError::InvalidInput(
                "arms: at least one [[arms]]".into(),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for seed in &self.seeds {
            if !seen.insert(*seed) {
                return Err(TaskError::InvalidInput(format!(
                    "seeds: {seed} appears twice"
                )));
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, arm) in self.arms.iter().enumerate() {
            let ok = !arm.name.is_empty()
                && arm
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !ok {
                return Err(TaskError::InvalidInput(format!(
                    "arms[{i}].name {:?}: letters, digits, `_` and `-` only",
                    arm.name
                )));
            }
            if !names.insert(arm.name.as_str()) {
                return Err(TaskError::InvalidInput(format!(
                    "arms[{i}].name {:?} appears twice",
                    arm.name
                )));
            }
            if arm.rewards.is_empty() {
                return Err(TaskError::InvalidInput(format!(
                    "arms[{i}] ({}): at least one [[arms.rewards]]",
                    arm.name
                )));
            }
            if arm.rewards.iter().any(|r| r.name == GROUND_TRUTH_REWARD)
                && self.ground_truth_monitor
            {
                return Err(TaskError::InvalidInput(format!(
                    "arms[{i}] ({}): the reward name {GROUND_TRUTH_REWARD:?} is the study's \
                     monitor; choose another or set ground_truth_monitor = false",
                    arm.name
                )));
            }
        }
        if self.needs_judges() && self.judges.is_none() {
            return Err(TaskError::InvalidInput(
                "judges: an arm uses a learned reward without `path`, so the study needs the \
                 `prefopt t2i train-judges` config to fit it"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Whether an arm uses a learned reward the study must fit itself.
    pub fn needs_judges(&self) -> bool {
        self.arms.iter().flat_map(|a| &a.rewards).any(|r| {
            r.path.is_none()
                && matches!(
                    r.kind,
                    ShapesRewardKind::LearnedScorer | ShapesRewardKind::LearnedJudgeWinRate
                )
        })
    }

    /// The judges' config: the `judges` file on this study's base, written to `out`/judges.
    pub fn judges_config(&self, out: &Path) -> Result<JudgeTrainingConfig> {
        let path = self
            .judges
            .as_deref()
            .ok_or_else(|| TaskError::InvalidInput("judges: not set".into()))?;
        let mut config = JudgeTrainingConfig::load(path, &[])?;
        config.base_model = self.base_model.clone();
        config.output_dir = out.join(JUDGES_FOLDER);
        config.validate()?;
        Ok(config)
    }

    /// The `prefopt t2i grpo` config of `arm` with `seed`, writing into `out`/runs/arm/seed-N.
    pub fn run_config(
        &self,
        arm: &StudyArmSpec,
        seed: u64,
        out: &Path,
    ) -> Result<ShapesGrpoConfig> {
        let mut config = ShapesGrpoConfig::load(&self.grpo, &self.set)?;
        config.base_model = self.base_model.clone();
        config.training.output_dir = run_dir(out, &arm.name, seed);
        config.training.seed = seed;
        let judges = out.join(JUDGES_FOLDER);
        config.rewards = arm
            .rewards
            .iter()
            .map(|r| {
                let mut r = r.clone();
                if r.path.is_none() {
                    r.path = match r.kind {
                        ShapesRewardKind::LearnedScorer => Some(judges.join(SCORER_DIR)),
                        ShapesRewardKind::LearnedJudgeWinRate => Some(judges.join(JUDGE_DIR)),
                        _ => None,
                    };
                }
                r
            })
            .collect();
        if self.ground_truth_monitor {
            config.rewards.push(ShapesRewardSpec {
                name: GROUND_TRUTH_REWARD.into(),
                weight: 0.0,
                kind: ShapesRewardKind::CheckerPassRate,
                ..ShapesRewardSpec::default()
            });
        }
        config.validate().map_err(|e| {
            TaskError::InvalidInput(format!(
                "arm {} (from {}): {e}",
                arm.name,
                self.grpo.display()
            ))
        })?;
        Ok(config)
    }
}

/// The judges' folder in the study's output directory.
pub const JUDGES_FOLDER: &str = "judges";

/// The runs' folder in the study's output directory.
pub const RUNS_FOLDER: &str = "runs";

/// Where the run of `arm` with `seed` goes.
pub fn run_dir(out: &Path, arm: &str, seed: u64) -> PathBuf {
    out.join(RUNS_FOLDER).join(arm).join(format!("seed-{seed}"))
}
