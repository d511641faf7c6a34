//! Corpora drawn from the grammar: SFT reviews, distinct prompts, and their reward
//! statistics.

use serde::{Deserialize, Serialize};

use prefopt_core::SplitMix64;

use super::grammar::{Review, ReviewGrammar, Stance};
use super::reward::reward;
use crate::error::{Result, TaskError};

/// Sub-stream of the seed used for SFT reviews.
pub const SFT_STREAM: u64 = 0;
/// Sub-stream of the seed used for sampling prompts.
pub const PROMPT_STREAM: u64 = 1;

/// `n` reviews drawn from `grammar`; the same `(seed, n, grammar)` gives the same reviews.
pub fn generate_reviews(grammar: &ReviewGrammar, seed: u64, n: usize) -> Result<Vec<Review>> {
    grammar.validate()?;
    let mut rng = SplitMix64::for_stream(seed, SFT_STREAM);
    Ok((0..n).map(|_| grammar.sample(&mut rng)).collect())
}

/// `n` distinct prompts, in the order first drawn (for sampling K completions each).
///
/// Fails when `n` exceeds [`ReviewGrammar::prompt_count`].
pub fn distinct_prompts(grammar: &ReviewGrammar, seed: u64, n: usize) -> Result<Vec<String>> {
    let available = ReviewGrammar::prompt_count();
    if n > available {
        return Err(TaskError::InvalidInput(format!(
            "{n} distinct prompts asked, the grammar has {available}"
        )));
    }
    let mut rng = SplitMix64::for_stream(seed, PROMPT_STREAM);
    let mut seen = std::collections::HashSet::new();
    let mut prompts = Vec::with_capacity(n);
    while prompts.len() < n {
        let prompt = grammar.sample_prompt(&mut rng);
        if seen.insert(prompt.clone()) {
            prompts.push(prompt);
        }
    }
    Ok(prompts)
}

/// Reward statistics of a set of completions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RewardStats {
    /// Number of completions.
    pub n: usize,
    /// Mean reward.
    pub mean: f64,
    /// Standard deviation (with `n − 1`; 0 when `n < 2`).
    pub std: f64,
    /// Smallest reward.
    pub min: f64,
    /// Largest reward.
    pub max: f64,
    /// Fraction with reward > 0.1.
    pub fraction_positive: f64,
    /// Fraction with reward < −0.1.
    pub fraction_negative: f64,
}

impl RewardStats {
    /// Statistics of `rewards` (all zeros when empty).
    pub fn of(rewards: &[f64]) -> Self {
        let n = rewards.len();
        if n == 0 {
            return Self {
                n,
                mean: 0.0,
                std: 0.0,
                min: 0.0,
                max: 0.0,
                fraction_positive: 0.0,
                fraction_negative: 0.0,
            };
        }
        let mean = rewards.iter().sum::<f64>() / n as f64;
        let var = if n > 1 {
            rewards.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        let fraction =
            |f: &dyn Fn(f64) -> bool| rewards.iter().filter(|&&r| f(r)).count() as f64 / n as f64;
        Self {
            n,
            mean,
            std: var.sqrt(),
            min: rewards.iter().copied().fold(f64::INFINITY, f64::min),
            max: rewards.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            fraction_positive: fraction(&|r| r > 0.1),
            fraction_negative: fraction(&|r| r < -0.1),
        }
    }
}

/// What an SFT corpus looks like through the ground-truth reward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorpusStats {
    /// Reward of every completion.
    pub reward: RewardStats,
    /// Number of reviews of each stance, in [`Stance::ALL`] order.
    pub stances: Vec<(Stance, usize)>,
    /// Mean completion length in words.
    pub mean_completion_words: f64,
}

/// Reward and stance statistics of `reviews` (rewards of the completions).
pub fn corpus_stats(reviews: &[Review]) -> CorpusStats {
    let rewards: Vec<f64> = reviews.iter().map(|r| reward(&r.completion)).collect();
    let stances = Stance::ALL
        .into_iter()
        .map(|s| (s, reviews.iter().filter(|r| r.stance == s).count()))
        .collect();
    let words: usize = reviews
        .iter()
        .map(|r| r.completion.split_whitespace().count())
        .sum();
    CorpusStats {
        reward: RewardStats::of(&rewards),
        stances,
        mean_completion_words: words as f64 / reviews.len().max(1) as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reward_stats_match_hand_computation() {
        let s = RewardStats::of(&[-0.5, 0.0, 0.5, 1.0]);
        assert_eq!(s.n, 4);
        assert!((s.mean - 0.25).abs() < 1e-12);
        // deviations -0.75, -0.25, 0.25, 0.75 → sum sq 1.25, / 3
        assert!((s.std - (1.25f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!((s.min, s.max), (-0.5, 1.0));
        assert_eq!((s.fraction_positive, s.fraction_negative), (0.5, 0.25));
        assert_eq!(RewardStats::of(&[]).n, 0);
        assert_eq!(RewardStats::of(&[0.3]).std, 0.0);
    }

    #[test]
    fn distinct_prompts_are_distinct_and_bounded() {
        let grammar = ReviewGrammar::default();
        let prompts = distinct_prompts(&grammar, 5, 100).unwrap();
        let set: std::collections::HashSet<_> = prompts.iter().collect();
        assert_eq!(set.len(), 100);
        let all = distinct_prompts(&grammar, 5, ReviewGrammar::prompt_count()).unwrap();
        assert_eq!(all.len(), ReviewGrammar::prompt_count());
        assert!(distinct_prompts(&grammar, 5, ReviewGrammar::prompt_count() + 1).is_err());
    }
}
