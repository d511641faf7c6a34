//! Pref-GRPO rewards: pairwise verdicts over a group turned into win rates.
//!
//! Every unordered pair (i, j), i < j, of a group of G completions is judged once, with the
//! lower index shown first (`itertools.combinations(range(G), 2)` in the reference code), and
//! w_i = (wins_i + ½·ties_i) / (G − 1) (Pref-GRPO Eq. 12, ties as the code scores them). Each
//! comparison hands out exactly one point, so the group mean is exactly ½.
//!
//! With `swap_debias` each pair is also judged in the swapped order and the two answers are
//! combined (agree → that verdict, disagree → tie; [`Verdict::debiased`]). This is an
//! improvement over the paper, whose fixed order leaves the judge's position bias in the reward;
//! it doubles the calls to 2·C(G,2).
//!
//! [`head_to_head`] applies the same rule to two systems scored on the same prompts (each prompt
//! a group of two), for checkpoint evaluation.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use prefopt_core::run_ordered;

use crate::error::{Error, Result};
use crate::judge::{PairwiseJudge, Verdict};
use crate::reward::RewardFn;
use prefopt_core::invalid;

/// The unordered pairs (i, j), i < j, of a group of `g`, in the reference code's order.
pub fn group_pairs(g: usize) -> Vec<(usize, usize)> {
    (0..g)
        .flat_map(|i| (i + 1..g).map(move |j| (i, j)))
        .collect()
}

/// Win rates of a group of `g` from one verdict per pair of [`group_pairs`]`(g)` (in that
/// order; `First` = the lower index won).
///
/// # Errors
/// [`Error::SizeMismatch`] if `verdicts.len() != g·(g−1)/2` or `g < 2`.
pub fn win_rates(g: usize, verdicts: &[Verdict]) -> Result<Vec<f64>> {
    if g < 2 {
        return Err(Error::SizeMismatch {
            what: "group size for win rates (at least 2)",
            expected: 2,
            got: g,
        });
    }
    let pairs = group_pairs(g);
    if verdicts.len() != pairs.len() {
        return Err(Error::SizeMismatch {
            what: "verdicts (one per pair of the group)",
            expected: pairs.len(),
            got: verdicts.len(),
        });
    }
    let mut points = vec![0.0; g];
    for (&(i, j), v) in pairs.iter().zip(verdicts) {
        let (pi, pj) = v.points();
        points[i] += pi;
        points[j] += pj;
    }
    Ok(points.into_iter().map(|p| p / (g - 1) as f64).collect())
}

/// The outcome of [`head_to_head`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadToHead {
    /// (wins + ½·ties) / prompts (0 for no prompts).
    pub win_rate: f64,
    /// Prompts where ours scored higher.
    pub wins: usize,
    /// Prompts with equal scores.
    pub ties: usize,
    /// Prompts where theirs scored higher.
    pub losses: usize,
}

/// Our win rate against a baseline scored on the same prompts (`ours[i]` and `theirs[i]` are
/// the scores of the two completions of prompt i): each prompt is a group of two, ours first,
/// judged by [`Verdict::from_scores`], and the win rate is the mean of our [`win_rates`].
///
/// # Errors
/// [`Error::SizeMismatch`] if the two lists differ in length.
pub fn head_to_head(ours: &[f64], theirs: &[f64]) -> Result<HeadToHead> {
    if ours.len() != theirs.len() {
        return Err(Error::SizeMismatch {
            what: "baseline scores (one per prompt)",
            expected: ours.len(),
            got: theirs.len(),
        });
    }
    let (mut total, mut wins, mut ties, mut losses) = (0.0, 0, 0, 0);
    for (&a, &b) in ours.iter().zip(theirs) {
        let verdict = Verdict::from_scores(a, b);
        match verdict {
            Verdict::First => wins += 1,
            Verdict::Tie => ties += 1,
            Verdict::Second => losses += 1,
        }
        total += win_rates(2, &[verdict])?[0];
    }
    Ok(HeadToHead {
        win_rate: total / ours.len().max(1) as f64,
        wins,
        ties,
        losses,
    })
}

/// Settings of the win-rate reward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WinRateConfig {
    /// G, completions per prompt (consecutive in the batch).
    pub num_generations: usize,
    /// Judge both orders and combine (default false, as the paper).
    pub swap_debias: bool,
    /// Concurrent judge calls (default 16, as the reference code).
    pub workers: usize,
}

impl Default for WinRateConfig {
    fn default() -> Self {
        Self {
            num_generations: 8,
            swap_debias: false,
            workers: 16,
        }
    }
}

/// Counters of a [`WinRateReward`] since it was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WinRateStats {
    /// Pair verdicts produced (after combining swapped orders).
    pub comparisons: u64,
    /// Of which ties.
    pub ties: u64,
    /// Pairs where the two orders disagreed (only with `swap_debias`).
    pub swap_disagreements: u64,
    /// Judge calls made.
    pub judge_calls: u64,
}

/// The Pref-GRPO win-rate reward: a [`RewardFn`] over whole groups, backed by a pairwise judge.
pub struct WinRateReward<J> {
    name: String,
    judge: J,
    config: WinRateConfig,
    comparisons: AtomicU64,
    ties: AtomicU64,
    disagreements: AtomicU64,
    calls: AtomicU64,
}

impl<J> fmt::Debug for WinRateReward<J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WinRateReward")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl<J> WinRateReward<J> {
    /// A win-rate reward named `name` (used in metrics) over `judge`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for `num_generations < 2` or `workers == 0`.
    pub fn new(name: impl Into<String>, judge: J, config: WinRateConfig) -> Result<Self> {
        if config.num_generations < 2 {
            return Err(invalid(
                "num_generations",
                format!(
                    "win rates need at least 2 completions per prompt, got {}",
                    config.num_generations
                ),
            ));
        }
        if config.workers == 0 {
            return Err(invalid("workers", "must be > 0"));
        }
        Ok(Self {
            name: name.into(),
            judge,
            config,
            comparisons: AtomicU64::new(0),
            ties: AtomicU64::new(0),
            disagreements: AtomicU64::new(0),
            calls: AtomicU64::new(0),
        })
    }

    /// Counters since construction.
    pub fn stats(&self) -> WinRateStats {
        WinRateStats {
            comparisons: self.comparisons.load(Ordering::Relaxed),
            ties: self.ties.load(Ordering::Relaxed),
            swap_disagreements: self.disagreements.load(Ordering::Relaxed),
            judge_calls: self.calls.load(Ordering::Relaxed),
        }
    }

    /// The judge.
    pub fn judge(&self) -> &J {
        &self.judge
    }

    /// Combined pair verdicts of every group, in [`group_pairs`] order per group.
    ///
    /// # Errors
    /// [`Error::SizeMismatch`] if the batch is not whole groups, [`Error::InvalidConfig`]
    /// (`prompts`) if the prompts within a group differ, or the first judge error.
    pub fn verdicts<C>(&self, prompts: &[&str], completions: &[&C]) -> Result<Vec<Vec<Verdict>>>
    where
        C: ?Sized + Sync,
        J: PairwiseJudge<C>,
    {
        let g = self.config.num_generations;
        let n = completions.len();
        if prompts.len() != n {
            return Err(Error::SizeMismatch {
                what: "prompts (one per completion)",
                expected: n,
                got: prompts.len(),
            });
        }
        if n == 0 || !n.is_multiple_of(g) {
            return Err(Error::SizeMismatch {
                what: "batch size (a positive multiple of num_generations)",
                expected: n.div_ceil(g).max(1) * g,
                got: n,
            });
        }
        for (k, group) in prompts.chunks(g).enumerate() {
            if group.iter().any(|p| *p != group[0]) {
                return Err(invalid(
                    "prompts",
                    format!("group {k} mixes prompts; each group of G must share one prompt"),
                ));
            }
        }
        let pairs = group_pairs(g);
        let orders = if self.config.swap_debias { 2 } else { 1 };
        // job = (group, pair, order)
        let jobs = n / g * pairs.len() * orders;
        let raw = run_ordered(self.config.workers, jobs, |job| {
            let order = job % orders;
            let pair = (job / orders) % pairs.len();
            let group = job / orders / pairs.len();
            let (i, j) = pairs[pair];
            let (a, b) = (group * g + i, group * g + j);
            self.calls.fetch_add(1, Ordering::Relaxed);
            if order == 0 {
                self.judge.judge(prompts[a], completions[a], completions[b])
            } else {
                Ok(self
                    .judge
                    .judge(prompts[a], completions[b], completions[a])?
                    .flipped())
            }
        })?;
        let mut out = Vec::with_capacity(n / g);
        for group in raw.chunks(pairs.len() * orders) {
            let combined: Vec<Verdict> = group
                .chunks(orders)
                .map(|v| {
                    if orders == 2 {
                        if v[0] != v[1] {
                            self.disagreements.fetch_add(1, Ordering::Relaxed);
                        }
                        Verdict::debiased(v[0], v[1])
                    } else {
                        v[0]
                    }
                })
                .collect();
            let ties = combined.iter().filter(|v| **v == Verdict::Tie).count();
            self.comparisons
                .fetch_add(combined.len() as u64, Ordering::Relaxed);
            self.ties.fetch_add(ties as u64, Ordering::Relaxed);
            out.push(combined);
        }
        Ok(out)
    }
}

impl<C, J> RewardFn<C> for WinRateReward<J>
where
    C: ?Sized + Sync,
    J: PairwiseJudge<C>,
{
    fn name(&self) -> &str {
        &self.name
    }

    /// `comparisons`, `ties`, `swap_disagreements` (with `swap_debias`), `judge_calls`, then
    /// the judge's own counters.
    fn counters(&self) -> Vec<(&'static str, u64)> {
        let s = self.stats();
        let mut out = vec![("comparisons", s.comparisons), ("ties", s.ties)];
        if self.config.swap_debias {
            out.push(("swap_disagreements", s.swap_disagreements));
        }
        out.push(("judge_calls", s.judge_calls));
        out.extend(self.judge.counters());
        out
    }

    fn score(&self, prompts: &[&str], completions: &[&C]) -> Result<Vec<Option<f64>>> {
        let g = self.config.num_generations;
        let mut out = Vec::with_capacity(completions.len());
        for verdicts in self.verdicts(prompts, completions)? {
            out.extend(win_rates(g, &verdicts)?.into_iter().map(Some));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::judge_from_scores;

    #[test]
    fn pairs_in_reference_order() {
        assert_eq!(
            group_pairs(4),
            vec![(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
        );
        assert_eq!(group_pairs(8).len(), 28);
    }

    /// Pref-GRPO Fig. 1: a strict order 2 > 1 > 3 > 0 gives [0, 2/3, 1, 1/3].
    #[test]
    fn figure_one_win_rates() {
        let quality = [0.0, 2.0, 3.0, 1.0];
        let judge = judge_from_scores(move |_: &str, c: &usize| quality[*c]);
        let reward = WinRateReward::new(
            "pref",
            judge,
            WinRateConfig {
                num_generations: 4,
                workers: 3,
                ..Default::default()
            },
        )
        .unwrap();
        let items = [0usize, 1, 2, 3];
        let completions: Vec<&usize> = items.iter().collect();
        let w = reward.score(&["p"; 4], &completions).unwrap();
        let want = [0.0, 2.0 / 3.0, 1.0, 1.0 / 3.0];
        for (g, w) in w.iter().zip(want) {
            assert!((g.unwrap() - w).abs() < 1e-12);
        }
        assert_eq!(reward.stats().judge_calls, 6);
    }

    /// A judge that always prefers whatever is shown first: without debiasing the first-shown
    /// (lower index) wins everything; with debiasing every pair disagrees → all ties → ½.
    #[test]
    fn swap_debias_removes_position_bias() {
        let biased =
            crate::judge::ProgrammaticJudge::new(|_: &str, _: &str, _: &str| Verdict::First);
        let biased = std::sync::Arc::new(biased);
        let cfg = WinRateConfig {
            num_generations: 3,
            ..Default::default()
        };
        let plain = WinRateReward::new("pref", biased.clone(), cfg.clone()).unwrap();
        let w = plain.score(&["p"; 3], &["a", "b", "c"]).unwrap();
        assert_eq!(w, vec![Some(1.0), Some(0.5), Some(0.0)]);
        let debiased = WinRateReward::new(
            "pref",
            biased,
            WinRateConfig {
                swap_debias: true,
                ..cfg
            },
        )
        .unwrap();
        let w = debiased.score(&["p"; 3], &["a", "b", "c"]).unwrap();
        assert_eq!(w, vec![Some(0.5); 3]);
        let s = debiased.stats();
        assert_eq!((s.judge_calls, s.swap_disagreements, s.ties), (6, 3, 3));
    }

    #[test]
    fn head_to_head_counts_ties_as_half() {
        let h = head_to_head(&[1.0, 2.0, 3.0, 0.0], &[0.0, 2.0, 4.0, -1.0]).unwrap();
        assert_eq!((h.wins, h.ties, h.losses), (2, 1, 1));
        assert!((h.win_rate - 2.5 / 4.0).abs() < 1e-12);
        let same = head_to_head(&[0.3, -1.0], &[0.3, -1.0]).unwrap();
        assert_eq!((same.win_rate, same.ties), (0.5, 2));
        assert!(head_to_head(&[1.0], &[]).is_err());
        assert_eq!(head_to_head(&[], &[]).unwrap().win_rate, 0.0);
    }

    #[test]
    fn bad_batches_are_errors() {
        let reward = WinRateReward::new(
            "pref",
            judge_from_scores(|_: &str, c: &str| c.len() as f64),
            WinRateConfig {
                num_generations: 2,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(reward.score(&["p"; 3], &["a", "b", "c"]).is_err());
        let err = reward.score(&["p", "q"], &["a", "b"]).unwrap_err();
        assert!(err.to_string().contains("prompts"), "{err}");
        assert!(
            WinRateReward::new(
                "x",
                (),
                WinRateConfig {
                    num_generations: 1,
                    ..Default::default()
                }
            )
            .is_err()
        );
    }
}
