//! From K sampled completions per prompt and their ground-truth rewards to preference data:
//! TRL pairs (`prompt`, `chosen`, `rejected`) for DPO and ranked lists (`prompt`,
//! `responses`, `scores`) for LiPO, in the layouts `prefopt-data` reads.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Result, TaskError};
use crate::jsonl_writer::write_jsonl;
use crate::sentiment::reward;

/// One prompt with K sampled completions and a reward for each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredPrompt {
    /// The prompt the completions continue.
    pub prompt: String,
    /// The K completions (text after the prompt).
    pub completions: Vec<String>,
    /// One finite reward per completion.
    pub rewards: Vec<f64>,
}

impl ScoredPrompt {
    /// Pairs completions with given rewards; lengths must match and rewards be finite.
    pub fn new(prompt: String, completions: Vec<String>, rewards: Vec<f64>) -> Result<Self> {
        if completions.len() != rewards.len() {
            return Err(TaskError::InvalidInput(format!(
                "{} completions but {} rewards for prompt {prompt:?}",
                completions.len(),
                rewards.len()
            )));
        }
        if let Some(bad) = rewards.iter().find(|r| !r.is_finite()) {
            return Err(TaskError::InvalidInput(format!(
                "reward {bad} is not finite (prompt {prompt:?})"
            )));
        }
        Ok(Self {
            prompt,
            completions,
            rewards,
        })
    }

    /// Scores each completion with the ground-truth [`reward`].
    pub fn score(prompt: String, completions: Vec<String>) -> Self {
        let rewards = completions.iter().map(|c| reward(c)).collect();
        Self {
            prompt,
            completions,
            rewards,
        }
    }

    /// Whether at least two rewards differ (otherwise the prompt carries no preference).
    pub fn has_spread(&self) -> bool {
        self.rewards.iter().any(|&r| r != self.rewards[0])
    }
}

/// Which pairs a prompt's K completions give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairStrategy {
    /// One pair per prompt: the highest reward against the lowest (first one on ties).
    #[default]
    BestVsWorst,
    /// Every pair `i < j` whose rewards differ, oriented by reward (up to K(K−1)/2).
    AllPairs,
}

/// How pairs are built.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct PairOptions {
    /// Which pairs to build.
    pub strategy: PairStrategy,
    /// A pair is kept only when `chosen_score − rejected_score > min_margin` (default 0:
    /// any strict preference; ties never make a pair).
    pub min_margin: f64,
}

/// One preference pair, with the rewards that decided it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreferencePair {
    /// The prompt.
    pub prompt: String,
    /// The preferred completion.
    pub chosen: String,
    /// The dispreferred completion.
    pub rejected: String,
    /// Reward of `chosen`.
    pub chosen_score: f64,
    /// Reward of `rejected`.
    pub rejected_score: f64,
}

fn pair(item: &ScoredPrompt, chosen: usize, rejected: usize) -> PreferencePair {
    PreferencePair {
        prompt: item.prompt.clone(),
        chosen: item.completions[chosen].clone(),
        rejected: item.completions[rejected].clone(),
        chosen_score: item.rewards[chosen],
        rejected_score: item.rewards[rejected],
    }
}

/// The preference pairs of `items`, in prompt order.
pub fn preference_pairs(items: &[ScoredPrompt], options: &PairOptions) -> Vec<PreferencePair> {
    // Negative margins mean the same as 0: ties never make a pair.
    let margin = options.min_margin.max(0.0);
    let keep = |hi: f64, lo: f64| hi - lo > margin;
    let mut pairs = Vec::new();
    for item in items {
        let r = &item.rewards;
        if r.len() < 2 {
            continue;
        }
        match options.strategy {
            PairStrategy::BestVsWorst => {
                let (mut best, mut worst) = (0, 0);
                for (i, &x) in r.iter().enumerate() {
                    if x > r[best] {
                        best = i;
                    }
                    if x < r[worst] {
                        worst = i;
                    }
                }
                if keep(r[best], r[worst]) {
                    pairs.push(pair(item, best, worst));
                }
            }
            PairStrategy::AllPairs => {
                for i in 0..r.len() {
                    for j in i + 1..r.len() {
                        if keep(r[i], r[j]) {
                            pairs.push(pair(item, i, j));
                        } else if keep(r[j], r[i]) {
                            pairs.push(pair(item, j, i));
                        }
                    }
                }
            }
        }
    }
    pairs
}

/// Writes pairs as TRL preference JSONL (`prompt`, `chosen`, `rejected`, plus
/// `chosen_score`/`rejected_score`, which readers ignore); returns the row count.
pub fn write_preference_jsonl(path: &Path, pairs: &[PreferencePair]) -> Result<usize> {
    write_jsonl(path, pairs)
}

#[derive(Serialize)]
struct RankedRow<'a> {
    prompt: &'a str,
    responses: &'a [String],
    scores: &'a [f64],
}

/// Writes ranked lists (`prompt`, `responses`, `scores`) for LiPO; returns the row count.
///
/// Prompts with fewer than two completions, or whose rewards are all equal (a list with no
/// preference gives LiPO-λ no gradient), are left out.
pub fn write_ranked_jsonl(path: &Path, items: &[ScoredPrompt]) -> Result<usize> {
    let kept = items
        .iter()
        .filter(|item| item.completions.len() >= 2 && item.has_spread());
    let skipped = items.len() - kept.clone().count();
    if skipped > 0 {
        tracing::debug!(skipped, "ranked lists without a preference left out");
    }
    write_jsonl(
        path,
        kept.map(|item| RankedRow {
            prompt: &item.prompt,
            responses: &item.completions,
            scores: &item.rewards,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(rewards: &[f64]) -> ScoredPrompt {
        let completions = (0..rewards.len()).map(|i| format!(" c{i}")).collect();
        ScoredPrompt::new("p".into(), completions, rewards.to_vec()).unwrap()
    }

    #[test]
    fn best_vs_worst_takes_extremes_and_skips_ties() {
        let pairs = preference_pairs(
            &[item(&[0.1, 0.9, -0.4, 0.9]), item(&[0.2, 0.2])],
            &PairOptions::default(),
        );
        assert_eq!(pairs.len(), 1);
        assert_eq!(
            (pairs[0].chosen.as_str(), pairs[0].rejected.as_str()),
            (" c1", " c2")
        );
        assert_eq!(
            (pairs[0].chosen_score, pairs[0].rejected_score),
            (0.9, -0.4)
        );
    }

    #[test]
    fn all_pairs_orients_by_reward_and_drops_ties() {
        let options = PairOptions {
            strategy: PairStrategy::AllPairs,
            min_margin: 0.0,
        };
        // 4 completions, one tie (c1 = c3): 6 − 1 = 5 pairs
        let pairs = preference_pairs(&[item(&[0.1, 0.9, -0.4, 0.9])], &options);
        assert_eq!(pairs.len(), 5);
        assert!(pairs.iter().all(|p| p.chosen_score > p.rejected_score));
        let with_margin = PairOptions {
            min_margin: 0.6,
            ..options
        };
        // margins > 0.6: (c1,c0)=0.8 (c1,c2)=1.3 (c3,c0)=0.8 (c3,c2)=1.3; (c0,c2)=0.5 dropped
        assert_eq!(
            preference_pairs(&[item(&[0.1, 0.9, -0.4, 0.9])], &with_margin).len(),
            4
        );
    }

    #[test]
    fn mismatched_or_non_finite_rewards_are_rejected() {
        assert!(ScoredPrompt::new("p".into(), vec!["a".into()], vec![]).is_err());
        assert!(ScoredPrompt::new("p".into(), vec!["a".into()], vec![f64::NAN]).is_err());
    }
}
