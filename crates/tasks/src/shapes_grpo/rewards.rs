//! The `[[rewards]]` of `prefopt t2i grpo`: the shapes world's checker as image rewards —
//! pointwise (share of the caption's test points the image passes) and pairwise (the image
//! passing more test points wins; within `tie_band` it is a tie) — the learned scorer and
//! pairwise judge of `prefopt t2i train-judges`, and an MLLM judge over an OpenAI-compatible
//! endpoint. Every pairwise judge is turned into win rates by `prefopt_rl`'s [`WinRateReward`].

use std::path::{Path, PathBuf};

use burn::prelude::Device;
use prefopt_rl::{PairwiseJudge, RewardFn, RewardSet, Verdict, WinRateConfig, WinRateReward};
use serde::{Deserialize, Serialize};

use crate::config_relative::beside_config;
use crate::shapes::{Caption, Checker, RgbImage, WorldConfig};
use crate::{Result, TaskError};

use super::learned_rewards::{LearnedScorer, learned_judge_win_rate};
use super::mllm_judge::MllmJudgeSpec;

/// Name of the checker's pointwise reward kind.
pub const CHECKER_PASS_RATE: &str = "checker_pass_rate";
/// Name of the checker's pairwise judge kind.
pub const CHECKER_JUDGE: &str = "checker_win_rate";

/// Share of `caption`'s test points `image` passes, in [0, 1].
///
/// # Errors
/// A caption outside the world's grammar, an image of the wrong size.
pub fn pass_rate(checker: &Checker, caption: &str, image: &RgbImage) -> Result<f64> {
    let caption = Caption::parse(caption)?;
    let verdicts = checker.check(image, &caption, Path::new("<rollout image>"))?;
    if verdicts.is_empty() {
        return Err(TaskError::InvalidInput(format!(
            "caption `{}` has no test points",
            caption.text()
        )));
    }
    Ok(verdicts.iter().filter(|v| v.passed).count() as f64 / verdicts.len() as f64)
}

fn reward_error(name: &str, e: TaskError) -> prefopt_rl::Error {
    prefopt_rl::Error::Reward {
        name: name.to_owned(),
        reason: e.to_string(),
    }
}

/// The checker as a pointwise reward: the share of test points passed.
#[derive(Debug)]
pub struct CheckerPassRate {
    name: String,
    checker: Checker,
}

impl CheckerPassRate {
    /// A reward named `name` in a world with `config`.
    pub fn new(name: impl Into<String>, config: WorldConfig) -> Result<Self> {
        Ok(Self {
            name: name.into(),
            checker: Checker::new(config)?,
        })
    }
}

impl RewardFn<RgbImage> for CheckerPassRate {
    fn name(&self) -> &str {
        &self.name
    }

    fn score(
        &self,
        prompts: &[&str],
        completions: &[&RgbImage],
    ) -> prefopt_rl::Result<Vec<Option<f64>>> {
        prompts
            .iter()
            .zip(completions)
            .map(|(p, img)| {
                pass_rate(&self.checker, p, img)
                    .map(Some)
                    .map_err(|e| reward_error(&self.name, e))
            })
            .collect()
    }
}

/// The checker as a pairwise judge: more test points passed wins; pass rates within
/// `tie_band` of each other tie.
#[derive(Debug)]
pub struct CheckerJudge {
    checker: Checker,
    tie_band: f64,
}

impl CheckerJudge {
    /// A judge in a world with `config`.
    pub fn new(config: WorldConfig, tie_band: f64) -> Result<Self> {
        Ok(Self {
            checker: Checker::new(config)?,
            tie_band,
        })
    }
}

impl PairwiseJudge<RgbImage> for CheckerJudge {
    fn judge(
        &self,
        prompt: &str,
        first: &RgbImage,
        second: &RgbImage,
    ) -> prefopt_rl::Result<Verdict> {
        let score = |img| {
            pass_rate(&self.checker, prompt, img)
                .map_err(|e| prefopt_rl::Error::Judge(e.to_string()))
        };
        let (a, b) = (score(first)?, score(second)?);
        Ok(if (a - b).abs() <= self.tie_band {
            Verdict::Tie
        } else {
            Verdict::from_scores(a, b)
        })
    }
}

/// Which reward an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShapesRewardKind {
    /// Pointwise: the share of test points passed ([`CheckerPassRate`]).
    #[default]
    CheckerPassRate,
    /// Pairwise: win rates over each group from [`CheckerJudge`] (Pref-GRPO).
    CheckerWinRate,
    /// Pointwise: the learned scorer in `path` ([`LearnedScorer`]).
    LearnedScorer,
    /// Pairwise: win rates from the learned Bradley–Terry judge in `path`.
    LearnedJudgeWinRate,
    /// Pairwise: win rates from an MLLM judge (`[rewards.judge]`, [`MllmJudgeSpec`]).
    MllmJudgeWinRate,
}

impl ShapesRewardKind {
    /// The name in TOML.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CheckerPassRate => CHECKER_PASS_RATE,
            Self::CheckerWinRate => CHECKER_JUDGE,
            Self::LearnedScorer => "learned_scorer",
            Self::LearnedJudgeWinRate => "learned_judge_win_rate",
            Self::MllmJudgeWinRate => "mllm_judge_win_rate",
        }
    }
}

/// One `[[rewards]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShapesRewardSpec {
    /// The name in metrics (`rewards/<name>/mean`); default: the kind's name.
    pub name: String,
    /// The weight of its group-normalised advantage (0 = logged, not trained on).
    pub weight: f64,
    /// `checker_pass_rate`, `checker_win_rate` (default), `learned_scorer`,
    /// `learned_judge_win_rate` or `mllm_judge_win_rate`.
    pub kind: ShapesRewardKind,
    /// `checker_win_rate`: pass rates this close tie (default 0: equal counts tie), in [0, 1).
    /// `learned_judge_win_rate`: P(a ≻ b) within ½ ± `tie_band` ties, in [0, ½).
    pub tie_band: f64,
    /// `learned_scorer` / `learned_judge_win_rate`: the network's directory (`scorer/` or
    /// `judge/` of a `prefopt t2i train-judges` output); relative to the config file.
    pub path: Option<PathBuf>,
    /// `mllm_judge_win_rate`: the endpoint and request settings (`[rewards.judge]`).
    pub judge: Option<MllmJudgeSpec>,
}

impl Default for ShapesRewardSpec {
    fn default() -> Self {
        Self {
            name: CHECKER_JUDGE.into(),
            weight: 1.0,
            kind: ShapesRewardKind::CheckerWinRate,
            tie_band: 0.0,
            path: None,
            judge: None,
        }
    }
}

impl ShapesRewardSpec {
    /// Checks the entry (errors name the key).
    pub fn check(&self) -> Result<()> {
        let kind = self.kind.as_str();
        if self.name.is_empty() {
            return Err(TaskError::InvalidInput("`name` must not be empty".into()));
        }
        if !self.weight.is_finite() {
            return Err(TaskError::InvalidInput(format!(
                "`weight` must be finite, got {}",
                self.weight
            )));
        }
        let band_max = match self.kind {
            ShapesRewardKind::LearnedJudgeWinRate => 0.5,
            _ => 1.0,
        };
        if !(0.0..band_max).contains(&self.tie_band) {
            return Err(TaskError::InvalidInput(format!(
                "`tie_band` must be in [0, {band_max}) for kind `{kind}`, got {}",
                self.tie_band
            )));
        }
        let learned = matches!(
            self.kind,
            ShapesRewardKind::LearnedScorer | ShapesRewardKind::LearnedJudgeWinRate
        );
        match (&self.path, learned) {
            (None, true) => {
                return Err(TaskError::InvalidInput(format!(
                    "`path` (the network's directory from `prefopt t2i train-judges`) is \
                     required for kind `{kind}`"
                )));
            }
            (Some(_), false) => {
                return Err(TaskError::InvalidInput(format!(
                    "`path` is only for the learned kinds, not `{kind}`"
                )));
            }
            _ => {}
        }
        let mllm = self.kind == ShapesRewardKind::MllmJudgeWinRate;
        match (&self.judge, mllm) {
            (None, true) => {
                return Err(TaskError::InvalidInput(format!(
                    "`judge` ([rewards.judge] with base_url, model, api_key_env, ...) is \
                     required for kind `{kind}`"
                )));
            }
            (Some(_), false) => {
                return Err(TaskError::InvalidInput(format!(
                    "`judge` is only for kind `mllm_judge_win_rate`, not `{kind}`"
                )));
            }
            _ => {}
        }
        if !matches!(
            self.kind,
            ShapesRewardKind::CheckerWinRate | ShapesRewardKind::LearnedJudgeWinRate
        ) && self.tie_band != 0.0
        {
            return Err(TaskError::InvalidInput(format!(
                "`tie_band` has no meaning for kind `{kind}` (only for `checker_win_rate` and \
                 `learned_judge_win_rate`)"
            )));
        }
        Ok(())
    }

    /// The entry with a relative `path` taken relative to `dir` (the config file's directory)
    /// when it does not exist as given.
    pub fn resolved(mut self, dir: &Path) -> Self {
        self.path = self.path.map(|p| beside_config(&p, Some(dir)));
        self
    }
}

/// The weighted reward set of `specs` for groups of `group_size` in a world with `config`;
/// learned networks are loaded onto `device`.
///
/// # Errors
/// An invalid entry, duplicate names, a learned network that does not load, an MLLM judge
/// whose settings are invalid.
pub fn build_rewards(
    specs: &[ShapesRewardSpec],
    config: WorldConfig,
    group_size: usize,
    device: &Device,
) -> Result<RewardSet<RgbImage>> {
    let size = (config.width, config.height);
    let mut functions: Vec<Box<dyn RewardFn<RgbImage>>> = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        let at = |e: TaskError| {
            TaskError::InvalidInput(format!(
                "[[rewards]] entry {} (`{}`): {e}",
                i + 1,
                spec.name
            ))
        };
        spec.check().map_err(at)?;
        let path = || {
            spec.path
                .as_deref()
                .expect("checked: learned kinds have a path")
        };
        functions.push(match spec.kind {
            ShapesRewardKind::CheckerPassRate => {
                Box::new(CheckerPassRate::new(spec.name.clone(), config)?)
            }
            ShapesRewardKind::CheckerWinRate => Box::new(WinRateReward::new(
                spec.name.clone(),
                CheckerJudge::new(config, spec.tie_band)?,
                WinRateConfig {
                    num_generations: group_size,
                    swap_debias: false,
                    workers: 1,
                },
            )?),
            ShapesRewardKind::LearnedScorer => {
                Box::new(LearnedScorer::load(spec.name.clone(), path(), size, device).map_err(at)?)
            }
            ShapesRewardKind::LearnedJudgeWinRate => {
                learned_judge_win_rate(&spec.name, path(), size, spec.tie_band, group_size, device)
                    .map_err(at)?
            }
            ShapesRewardKind::MllmJudgeWinRate => {
                let judge = spec
                    .judge
                    .as_ref()
                    .expect("checked: the MLLM kind has a judge");
                let workers = judge.workers;
                Box::new(WinRateReward::new(
                    spec.name.clone(),
                    judge.init().map_err(at)?,
                    WinRateConfig {
                        num_generations: group_size,
                        swap_debias: false,
                        workers,
                    },
                )?)
            }
        });
    }
    let weights: Vec<f64> = specs.iter().map(|s| s.weight).collect();
    Ok(RewardSet::new(functions, Some(&weights))?)
}
