//! Checkpoint evaluation under a reward model: the mean reward of a checkpoint's completions,
//! and its win rate against a baseline checkpoint on the same prompts (`prefopt eval`).
//!
//! The rewards come from [`score_completions`](crate::score_completions); the win rate is
//! [`head_to_head`], the Pref-GRPO rule on groups of two.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::win_rate::head_to_head;

/// What a reward-model evaluation found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RewardEvalReport {
    /// Number of prompts scored.
    pub num_prompts: usize,
    /// Mean reward of the checkpoint's completions.
    pub mean_reward: f64,
    /// Mean reward of the baseline's completions.
    pub baseline_mean_reward: Option<f64>,
    /// Fraction of prompts where the checkpoint's reward is higher (ties count ½).
    pub win_rate: Option<f64>,
    /// Prompts with equal rewards.
    pub ties: Option<usize>,
}

impl RewardEvalReport {
    /// The report of `rewards` (one per prompt), against `baseline` (one per prompt, same
    /// order) when given.
    ///
    /// # Errors
    /// [`Error::SizeMismatch`](crate::Error::SizeMismatch) if the baseline did not score every
    /// prompt.
    pub fn new(rewards: &[f64], baseline: Option<&[f64]>) -> Result<Self> {
        let mut report = Self {
            num_prompts: rewards.len(),
            mean_reward: mean(rewards),
            baseline_mean_reward: None,
            win_rate: None,
            ties: None,
        };
        if let Some(theirs) = baseline {
            let h2h = head_to_head(rewards, theirs)?;
            report.baseline_mean_reward = Some(mean(theirs));
            report.win_rate = Some(h2h.win_rate);
            report.ties = Some(h2h.ties);
        }
        Ok(report)
    }
}

/// The mean (0 for an empty list).
fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_with_and_without_a_baseline() {
        let alone = RewardEvalReport::new(&[1.0, 3.0], None).unwrap();
        assert_eq!((alone.num_prompts, alone.mean_reward), (2, 2.0));
        assert_eq!((alone.win_rate, alone.ties), (None, None));
        let vs = RewardEvalReport::new(&[1.0, 3.0, 0.0], Some(&[1.0, 2.0, 5.0])).unwrap();
        assert_eq!(vs.baseline_mean_reward, Some(8.0 / 3.0));
        assert_eq!(vs.win_rate, Some(0.5));
        assert_eq!(vs.ties, Some(1));
        assert!(RewardEvalReport::new(&[1.0], Some(&[])).is_err());
    }
}
