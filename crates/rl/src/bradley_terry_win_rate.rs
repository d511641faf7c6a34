//! Pref-GRPO win rates from a pointwise scorer (a reward model, a programmatic score) through a
//! Bradley–Terry judge with a tie band, scoring each completion once per batch.
//!
//! The verdict on a pair is [`BradleyTerryJudge`]'s `threshold` rule on the two scores
//! (P(a ≻ b) = σ(s_a − s_b); First above ½ + `tie_margin`, Second below ½ − `tie_margin`, else
//! Tie), so the result equals a [`WinRateReward`](crate::WinRateReward) over that judge, without
//! calling the scorer twice per pair (C(G, 2) pairs). Order-swap debiasing would change nothing:
//! the rule is symmetric.
//!
//! A completion the scorer gives no score is left out of its group's comparisons and gets no
//! win rate (`None`, advantage 0); the others' win rates are over the scored ones. A group with
//! fewer than two scored completions gets no win rates at all.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::judge::{BradleyTerryDecision, BradleyTerryJudge, PairwiseJudge, Verdict};
use crate::reward::RewardFn;
use crate::win_rate::{group_pairs, win_rates};
use prefopt_core::invalid;

/// Win rates from a pointwise scorer; see the module docs.
pub struct BradleyTerryWinRate<C: ?Sized = str> {
    name: String,
    scorer: Box<dyn RewardFn<C>>,
    num_generations: usize,
    tie_margin: f64,
    comparisons: AtomicU64,
    ties: AtomicU64,
}

impl<C: ?Sized> fmt::Debug for BradleyTerryWinRate<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BradleyTerryWinRate")
            .field("name", &self.name)
            .field("scorer", &self.scorer.name())
            .field("num_generations", &self.num_generations)
            .field("tie_margin", &self.tie_margin)
            .finish_non_exhaustive()
    }
}

impl<C: ?Sized> BradleyTerryWinRate<C> {
    /// Win rates named `name` over groups of `num_generations`, from `scorer`'s scores with a
    /// tie band of `tie_margin` around P = ½.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for `tie_margin` outside [0, ½) or `num_generations < 2`.
    pub fn new(
        name: impl Into<String>,
        scorer: Box<dyn RewardFn<C>>,
        num_generations: usize,
        tie_margin: f64,
    ) -> Result<Self> {
        judge(tie_margin)?;
        if num_generations < 2 {
            return Err(invalid(
                "num_generations",
                format!("win rates need at least 2 completions per prompt, got {num_generations}"),
            ));
        }
        Ok(Self {
            name: name.into(),
            scorer,
            num_generations,
            tie_margin,
            comparisons: AtomicU64::new(0),
            ties: AtomicU64::new(0),
        })
    }
}

/// The threshold judge on two scores.
fn judge(tie_margin: f64) -> Result<BradleyTerryJudge<impl Fn(&str, &f64) -> f64 + Send + Sync>> {
    BradleyTerryJudge::new(
        |_: &str, score: &f64| *score,
        BradleyTerryDecision::Threshold { tie_margin },
    )
}

impl<C: ?Sized> RewardFn<C> for BradleyTerryWinRate<C> {
    fn name(&self) -> &str {
        &self.name
    }

    /// `comparisons` and `ties`, then the scorer's own counters.
    fn counters(&self) -> Vec<(&'static str, u64)> {
        let mut out = vec![
            ("comparisons", self.comparisons.load(Ordering::Relaxed)),
            ("ties", self.ties.load(Ordering::Relaxed)),
        ];
        out.extend(self.scorer.counters());
        out
    }

    fn score(&self, prompts: &[&str], completions: &[&C]) -> Result<Vec<Option<f64>>> {
        let g = self.num_generations;
        let n = completions.len();
        if n == 0 || !n.is_multiple_of(g) {
            return Err(Error::SizeMismatch {
                what: "batch size (a positive multiple of num_generations)",
                expected: n.div_ceil(g).max(1) * g,
                got: n,
            });
        }
        let scores = self.scorer.score(prompts, completions)?;
        if scores.len() != n {
            return Err(Error::Reward {
                name: self.scorer.name().to_owned(),
                reason: format!("returned {} scores for {n} completions", scores.len()),
            });
        }
        let judge = judge(self.tie_margin)?;
        let mut out = vec![None; n];
        for (k, group) in scores.chunks(g).enumerate() {
            let scored: Vec<(usize, f64)> = group
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.filter(|x| x.is_finite()).map(|x| (i, x)))
                .collect();
            if scored.len() < 2 {
                continue;
            }
            let verdicts = group_pairs(scored.len())
                .into_iter()
                .map(|(i, j)| judge.judge(prompts[k * g], &scored[i].1, &scored[j].1))
                .collect::<Result<Vec<Verdict>>>()?;
            let ties = verdicts.iter().filter(|v| **v == Verdict::Tie).count();
            self.comparisons
                .fetch_add(verdicts.len() as u64, Ordering::Relaxed);
            self.ties.fetch_add(ties as u64, Ordering::Relaxed);
            for ((i, _), w) in scored.iter().zip(win_rates(scored.len(), &verdicts)?) {
                out[k * g + i] = Some(w);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::BradleyTerryDecision;
    use crate::reward::FnReward;
    use crate::win_rate::{WinRateConfig, WinRateReward};

    fn len_score() -> Box<dyn RewardFn> {
        Box::new(FnReward::new("len", |_: &str, c: &str| {
            (c != "?").then_some(c.len() as f64 * 0.01)
        }))
    }

    /// The same win rates as a `WinRateReward` over the equivalent judge.
    #[test]
    fn equals_the_pairwise_win_rate_and_scores_once() {
        let completions = ["aaa", "a", "aa", "aaaa", "b", "bb", "bbb", "bbb"];
        let prompts = ["p"; 8];
        for margin in [0.0, 0.003] {
            let ours = BradleyTerryWinRate::new("w", len_score(), 4, margin).unwrap();
            let got = ours.score(&prompts, &completions).unwrap();
            let reference = WinRateReward::new(
                "w",
                BradleyTerryJudge::new(
                    |_: &str, c: &str| c.len() as f64 * 0.01,
                    BradleyTerryDecision::Threshold { tie_margin: margin },
                )
                .unwrap(),
                WinRateConfig {
                    num_generations: 4,
                    ..Default::default()
                },
            )
            .unwrap();
            assert_eq!(got, reference.score(&prompts, &completions).unwrap());
            let counters = RewardFn::<str>::counters(&ours);
            assert_eq!(counters[0], ("comparisons", 12));
        }
    }

    #[test]
    fn unscored_completions_drop_out_of_their_group() {
        let w = BradleyTerryWinRate::new("w", len_score(), 3, 0.0).unwrap();
        let got = w
            .score(&["p"; 6], &["aa", "?", "a", "?", "?", "a"])
            .unwrap();
        // group 1: "aa" beats "a" among the two scored; group 2 has one scored → none.
        assert_eq!(got, vec![Some(1.0), None, Some(0.0), None, None, None]);
        assert!(BradleyTerryWinRate::new("w", len_score(), 3, 0.5).is_err());
        assert!(w.score(&["p"; 4], &["a"; 4]).is_err());
    }
}
