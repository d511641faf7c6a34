//! The two axes of the reward–KL frontier: the mean ground-truth reward of fresh samples on
//! held-out prompts, and the KL divergence to the SFT model.
//!
//! For a trained policy π the KL is the sequence-level Monte-Carlo estimate
//! `KL(π ‖ π_SFT) ≈ mean over samples y ~ π of Σ_t [log π(y_t | ·) − log π_SFT(y_t | ·)]`,
//! unbiased when the samples come from π itself (temperature 1). Best-of-K has no tractable
//! density, so its KL is the analytic value `log K − (K − 1)/K` used in the literature
//! (Stiennon et al. 2020; Hilton & Gao 2022), which Beirami et al. (2024) prove is
//! an upper bound of the true KL.

use serde::{Deserialize, Serialize};

use crate::sentiment::{RewardStats, reward};
use crate::summary_table::SummaryRow;

use super::sampling::SampledPrompt;

/// How a method's KL column was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KlEstimate {
    /// The SFT model itself: no KL.
    Reference,
    /// Mean of the per-sample sequence log-ratio over samples of the policy.
    MonteCarlo {
        /// Standard error of the mean.
        std_error: f64,
    },
    /// `log K − (K − 1)/K` for best-of-K.
    BestOfKBound {
        /// K.
        k: usize,
    },
}

/// A reward of one completion of one prompt: `score(prompt, completion)`.
pub type CompletionScore<'a> = &'a dyn Fn(&str, &str) -> f64;

/// The sentiment demo's ground truth as a [`CompletionScore`] (the prompt is not needed).
fn sentiment_score(_prompt: &str, completion: &str) -> f64 {
    reward(completion)
}

/// One method's evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodEvaluation {
    /// Method name, as in the table.
    pub method: String,
    /// Ground-truth reward of each evaluation sample.
    pub rewards: Vec<f64>,
    /// KL(π ‖ π_SFT) in nats per sequence; `None` for SFT.
    pub kl_to_sft: Option<f64>,
    /// How `kl_to_sft` was obtained.
    pub kl_estimate: KlEstimate,
    /// Mean completion length in tokens (EOS included).
    pub mean_tokens: f64,
    /// Up to three example completions.
    pub examples: Vec<String>,
}

impl MethodEvaluation {
    /// The table row.
    pub fn row(&self) -> SummaryRow {
        SummaryRow::from_rewards(self.method.clone(), &self.rewards, self.kl_to_sft)
    }

    /// Standard error of the mean reward.
    pub fn reward_std_error(&self) -> f64 {
        let stats = RewardStats::of(&self.rewards);
        if stats.n > 0 {
            stats.std / (stats.n as f64).sqrt()
        } else {
            f64::NAN
        }
    }

    /// The SFT model's row from its samples.
    pub fn reference(method: impl Into<String>, samples: &[SampledPrompt]) -> Self {
        Self::reference_scored(method, samples, &sentiment_score)
    }

    /// The reference model's row from its samples, each scored by `score`.
    pub fn reference_scored(
        method: impl Into<String>,
        samples: &[SampledPrompt],
        score: CompletionScore<'_>,
    ) -> Self {
        let (rewards, mean_tokens, examples) = describe(samples, score);
        Self {
            method: method.into(),
            rewards,
            kl_to_sft: None,
            kl_estimate: KlEstimate::Reference,
            mean_tokens,
            examples,
        }
    }

    /// A policy's row from its samples and the per-sample log-ratios
    /// `log π(y) − log π_SFT(y)` (same order as the samples, prompt-major).
    pub fn policy(
        method: impl Into<String>,
        samples: &[SampledPrompt],
        log_ratios: &[f64],
    ) -> Self {
        Self::policy_scored(method, samples, log_ratios, &sentiment_score)
    }

    /// [`MethodEvaluation::policy`] with each sample scored by `score`.
    pub fn policy_scored(
        method: impl Into<String>,
        samples: &[SampledPrompt],
        log_ratios: &[f64],
        score: CompletionScore<'_>,
    ) -> Self {
        let (rewards, mean_tokens, examples) = describe(samples, score);
        let stats = RewardStats::of(log_ratios);
        let std_error = if stats.n > 0 {
            stats.std / (stats.n as f64).sqrt()
        } else {
            f64::NAN
        };
        Self {
            method: method.into(),
            rewards,
            kl_to_sft: Some(stats.mean),
            kl_estimate: KlEstimate::MonteCarlo { std_error },
            mean_tokens,
            examples,
        }
    }

    /// Best-of-K: the SFT samples of each prompt taken in consecutive groups of `k`, and in
    /// each group the completion with the highest ground-truth reward (the first on ties).
    /// Samples beyond the last full group are ignored.
    pub fn best_of_k(method: impl Into<String>, sft_samples: &[SampledPrompt], k: usize) -> Self {
        Self::best_of_k_scored(method, sft_samples, k, &sentiment_score)
    }

    /// [`MethodEvaluation::best_of_k`] with the samples ranked by `score`.
    pub fn best_of_k_scored(
        method: impl Into<String>,
        sft_samples: &[SampledPrompt],
        k: usize,
        score: CompletionScore<'_>,
    ) -> Self {
        let mut rewards = Vec::new();
        let mut tokens = 0usize;
        let mut examples = Vec::new();
        for item in sft_samples {
            let scored: Vec<f64> = item
                .completions
                .iter()
                .map(|c| score(&item.prompt, c))
                .collect();
            for (g, group) in scored.chunks_exact(k.max(1)).enumerate() {
                let mut best = 0;
                for (i, &r) in group.iter().enumerate() {
                    if r > group[best] {
                        best = i;
                    }
                }
                let index = g * k + best;
                rewards.push(group[best]);
                tokens += item.completion_ids[index].len();
                if examples.len() < 3 {
                    examples.push(format!("{}{}", item.prompt, item.completions[index]));
                }
            }
        }
        let mean_tokens = tokens as f64 / rewards.len().max(1) as f64;
        Self {
            method: method.into(),
            rewards,
            kl_to_sft: Some(best_of_k_kl(k)),
            kl_estimate: KlEstimate::BestOfKBound { k },
            mean_tokens,
            examples,
        }
    }
}

/// `log K − (K − 1)/K`, the KL of best-of-K to the base policy used in the literature (an
/// upper bound; exact when all samples are distinct with probability one).
pub fn best_of_k_kl(k: usize) -> f64 {
    let k = k.max(1) as f64;
    k.ln() - (k - 1.0) / k
}

fn describe(samples: &[SampledPrompt], score: CompletionScore<'_>) -> (Vec<f64>, f64, Vec<String>) {
    let rewards: Vec<f64> = samples
        .iter()
        .flat_map(|s| s.completions.iter().map(|c| score(&s.prompt, c)))
        .collect();
    let tokens: usize = samples
        .iter()
        .flat_map(|s| s.completion_ids.iter().map(Vec::len))
        .sum();
    let mean_tokens = tokens as f64 / rewards.len().max(1) as f64;
    let examples = samples
        .iter()
        .flat_map(|s| {
            s.completions
                .iter()
                .map(move |c| format!("{}{c}", s.prompt))
        })
        .take(3)
        .collect();
    (rewards, mean_tokens, examples)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampled(completions: &[&str]) -> SampledPrompt {
        SampledPrompt {
            prompt: "review: the film was".into(),
            prompt_ids: vec![0, 5],
            completion_ids: completions.iter().map(|c| vec![7; c.len()]).collect(),
            completions: completions.iter().map(|c| c.to_string()).collect(),
        }
    }

    #[test]
    fn best_of_k_kl_values() {
        assert_eq!(best_of_k_kl(1), 0.0);
        // log 2 − 1/2 = 0.193147; log 8 − 7/8 = 1.204442 (Stiennon et al. 2020's formula).
        assert!((best_of_k_kl(2) - 0.193_147_180_6).abs() < 1e-9);
        assert!((best_of_k_kl(8) - 1.204_441_541_7).abs() < 1e-9);
    }

    #[test]
    fn best_of_k_picks_the_best_of_each_group() {
        let s = sampled(&[" dull.", " excellent.", " good.", " terrible.", " long."]);
        let eval = MethodEvaluation::best_of_k("best-of-2", &[s], 2);
        // Groups (dull, excellent), (good, terrible); " long." is left over.
        assert_eq!(eval.rewards, vec![reward(" excellent."), reward(" good.")]);
        assert_eq!(
            eval.examples,
            vec![
                "review: the film was excellent.",
                "review: the film was good."
            ]
        );
        assert_eq!(eval.mean_tokens, (11.0 + 6.0) / 2.0);
        assert_eq!(eval.kl_estimate, KlEstimate::BestOfKBound { k: 2 });
    }

    #[test]
    fn policy_kl_is_the_mean_log_ratio() {
        let s = sampled(&[" good.", " bad."]);
        let eval = MethodEvaluation::policy("DPO", &[s], &[1.0, 3.0]);
        assert_eq!(eval.kl_to_sft, Some(2.0));
        // std of [1, 3] = sqrt(2), standard error sqrt(2)/sqrt(2) = 1.
        assert_eq!(eval.kl_estimate, KlEstimate::MonteCarlo { std_error: 1.0 });
        let row = eval.row();
        assert_eq!(row.n, 2);
        assert!((row.mean_reward - (reward(" good.") + reward(" bad.")) / 2.0).abs() < 1e-12);
    }
}
