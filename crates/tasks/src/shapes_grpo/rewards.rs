//! The shapes world's checker as image rewards: pointwise (share of the caption's test points
//! the image passes) and pairwise (the image passing more test points wins; within
//! `tie_band` it is a tie), the latter turned into win rates by `prefopt_rl`'s
//! [`WinRateReward`].

use std::path::Path;

use prefopt_rl::{PairwiseJudge, RewardFn, RewardSet, Verdict, WinRateConfig, WinRateReward};
use serde::{Deserialize, Serialize};

use crate::shapes::{Caption, Checker, RgbImage, WorldConfig};
use crate::{Result, TaskError};

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
}

/// One `[[rewards]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShapesRewardSpec {
    /// The name in metrics (`rewards/<name>/mean`); default: the kind's name.
    pub name: String,
    /// The weight of its group-normalised advantage (0 = logged, not trained on).
    pub weight: f64,
    /// `checker_pass_rate` (default) or `checker_win_rate`.
    pub kind: ShapesRewardKind,
    /// `checker_win_rate`: pass rates this close tie (default 0: equal counts tie).
    pub tie_band: f64,
}

impl Default for ShapesRewardSpec {
    fn default() -> Self {
        Self {
            name: CHECKER_JUDGE.into(),
            weight: 1.0,
            kind: ShapesRewardKind::CheckerWinRate,
            tie_band: 0.0,
        }
    }
}

impl ShapesRewardSpec {
    /// Checks the entry (errors name the key).
    pub fn check(&self) -> Result<()> {
        if self.name.is_empty() {
            return Err(TaskError::InvalidInput("`name` must not be empty".into()));
        }
        if !self.weight.is_finite() {
            return Err(TaskError::InvalidInput(format!(
                "`weight` must be finite, got {}",
                self.weight
            )));
        }
        if !(0.0..1.0).contains(&self.tie_band) {
            return Err(TaskError::InvalidInput(format!(
                "`tie_band` must be in [0, 1), got {}",
                self.tie_band
            )));
        }
        Ok(())
    }
}

/// The weighted reward set of `specs` for groups of `group_size` in a world with `config`.
///
/// # Errors
/// An invalid entry or duplicate names.
pub fn build_rewards(
    specs: &[ShapesRewardSpec],
    config: WorldConfig,
    group_size: usize,
) -> Result<RewardSet<RgbImage>> {
    let mut functions: Vec<Box<dyn RewardFn<RgbImage>>> = Vec::with_capacity(specs.len());
    for spec in specs {
        spec.check()?;
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
        });
    }
    let weights: Vec<f64> = specs.iter().map(|s| s.weight).collect();
    Ok(RewardSet::new(functions, Some(&weights))?)
}
