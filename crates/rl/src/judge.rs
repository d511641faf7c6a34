//! Pairwise preference judges: a verdict on (prompt, first, second).
//!
//! Two in-process judges live here: a Bradley–Terry judge built from a scoring closure (a
//! pointwise reward model turned pairwise, P(a ≻ b) = σ(s_a − s_b)), and a programmatic judge
//! from a ground-truth closure (for controlled tasks). The LLM judge over an OpenAI-compatible
//! endpoint is in [`crate::llm_judge`].

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Which of the two candidates the judge prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The first candidate (`a`, shown first) is better.
    First,
    /// The second candidate (`b`) is better.
    Second,
    /// Neither: half a point each.
    Tie,
}

impl Verdict {
    /// The same verdict seen from the other order (First ↔ Second).
    pub fn flipped(self) -> Self {
        match self {
            Verdict::First => Verdict::Second,
            Verdict::Second => Verdict::First,
            Verdict::Tie => Verdict::Tie,
        }
    }

    /// The verdict of two scores: the higher one wins, equal (or unordered, NaN) scores tie.
    pub fn from_scores(first: f64, second: f64) -> Self {
        if first > second {
            Verdict::First
        } else if second > first {
            Verdict::Second
        } else {
            Verdict::Tie
        }
    }

    /// Points for (first, second): 1/0, 0/1 or ½/½.
    pub fn points(self) -> (f64, f64) {
        match self {
            Verdict::First => (1.0, 0.0),
            Verdict::Second => (0.0, 1.0),
            Verdict::Tie => (0.5, 0.5),
        }
    }

    /// Combines a verdict on (a, b) with one on the swapped order (b, a), already expressed in
    /// the (a, b) order (i.e. after [`Verdict::flipped`]): agreement → that verdict,
    /// disagreement → tie. Removes the judge's position bias at the cost of twice the calls.
    pub fn debiased(ab: Verdict, ba_flipped: Verdict) -> Self {
        if ab == ba_flipped { ab } else { Verdict::Tie }
    }
}

/// A judge of pairwise preferences between two completions of the same prompt.
///
/// `C` is the completion type (`str` for text, the default). Implementations must be callable
/// from several threads at once (the win-rate reward runs the C(G,2) calls of a group
/// concurrently).
pub trait PairwiseJudge<C: ?Sized = str>: Send + Sync {
    /// The verdict on `first` vs `second` for `prompt`.
    ///
    /// # Errors
    /// A failed judgement (e.g. an endpoint down after all retries). Callers must not turn it
    /// into a tie: the step's rewards would be partial.
    fn judge(&self, prompt: &str, first: &C, second: &C) -> Result<Verdict>;

    /// Counters since the judge was built (an LLM judge's `unparsable` answers and
    /// `retries`), by name. None by default.
    fn counters(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
}

impl<C: ?Sized, J: PairwiseJudge<C> + ?Sized> PairwiseJudge<C> for Arc<J> {
    fn judge(&self, prompt: &str, first: &C, second: &C) -> Result<Verdict> {
        (**self).judge(prompt, first, second)
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        (**self).counters()
    }
}

impl<C: ?Sized, J: PairwiseJudge<C> + ?Sized> PairwiseJudge<C> for Box<J> {
    fn judge(&self, prompt: &str, first: &C, second: &C) -> Result<Verdict> {
        (**self).judge(prompt, first, second)
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        (**self).counters()
    }
}

/// How a [`BradleyTerryJudge`] turns P(a ≻ b) into a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum BradleyTerryDecision {
    /// First if P > ½ + `tie_margin`, Second if P < ½ − `tie_margin`, else Tie. Deterministic;
    /// with margin 0 only exactly equal scores tie.
    Threshold {
        /// Half-width of the tie band around ½, in [0, ½).
        tie_margin: f64,
    },
    /// First with probability P, else Second (never a tie): a noisy annotator that follows the
    /// Bradley–Terry model. The uniform draw is a hash of (`seed`, prompt, s_a, s_b), so the
    /// verdict does not depend on thread scheduling or call order; the same pair with the same
    /// scores gets the same draw until the seed changes (change it per step with
    /// [`BradleyTerryJudge::with_seed`] for fresh draws).
    Sample {
        /// Seed of the draws.
        seed: u64,
    },
}

/// A Bradley–Terry judge from a pointwise scoring closure: P(a ≻ b) = σ(s_a − s_b).
///
/// The closure is called once per side per comparison; wrap an expensive reward model in a cache
/// if needed.
pub struct BradleyTerryJudge<F> {
    score: F,
    decision: BradleyTerryDecision,
}

impl<F> fmt::Debug for BradleyTerryJudge<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BradleyTerryJudge")
            .field("decision", &self.decision)
            .finish_non_exhaustive()
    }
}

impl<F> BradleyTerryJudge<F> {
    /// A judge from `score(prompt, completion) -> f64` and a decision rule.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for `tie_margin` outside [0, ½).
    pub fn new(score: F, decision: BradleyTerryDecision) -> Result<Self> {
        if let BradleyTerryDecision::Threshold { tie_margin } = decision
            && !(0.0..0.5).contains(&tie_margin)
        {
            return Err(prefopt_core::invalid(
                "tie_margin",
                format!("must be in [0, 0.5), got {tie_margin}"),
            ));
        }
        Ok(Self { score, decision })
    }

    /// The same judge with another sampling seed (no effect on `Threshold`).
    pub fn with_seed(mut self, seed: u64) -> Self {
        if let BradleyTerryDecision::Sample { seed: s } = &mut self.decision {
            *s = seed;
        }
        self
    }

    /// P(first ≻ second) = σ(s_first − s_second).
    pub fn probability(&self, prompt: &str, first: &str, second: &str) -> f64
    where
        F: Fn(&str, &str) -> f64,
    {
        sigmoid((self.score)(prompt, first) - (self.score)(prompt, second))
    }
}

impl<C: ?Sized, F> PairwiseJudge<C> for BradleyTerryJudge<F>
where
    F: Fn(&str, &C) -> f64 + Send + Sync,
{
    fn judge(&self, prompt: &str, first: &C, second: &C) -> Result<Verdict> {
        let (sa, sb) = ((self.score)(prompt, first), (self.score)(prompt, second));
        if !(sa.is_finite() && sb.is_finite()) {
            return Err(crate::Error::Judge(format!(
                "Bradley–Terry scores must be finite, got {sa} and {sb}"
            )));
        }
        let p = sigmoid(sa - sb);
        Ok(match self.decision {
            BradleyTerryDecision::Threshold { tie_margin } => {
                if p > 0.5 + tie_margin {
                    Verdict::First
                } else if p < 0.5 - tie_margin {
                    Verdict::Second
                } else {
                    Verdict::Tie
                }
            }
            BradleyTerryDecision::Sample { seed } => {
                let mut h = Fnv::new(seed);
                h.write(prompt.as_bytes());
                h.write(&sa.to_bits().to_le_bytes());
                h.write(&sb.to_bits().to_le_bytes());
                if h.uniform() < p {
                    Verdict::First
                } else {
                    Verdict::Second
                }
            }
        })
    }
}

/// A judge from a ground-truth closure `f(prompt, first, second) -> Verdict` (controlled tasks,
/// tests, rule-based preferences).
pub struct ProgrammaticJudge<F> {
    f: F,
}

impl<F> fmt::Debug for ProgrammaticJudge<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProgrammaticJudge").finish_non_exhaustive()
    }
}

impl<F> ProgrammaticJudge<F> {
    /// Wraps the verdict closure.
    pub fn new(f: F) -> Self {
        Self { f }
    }
}

impl<C: ?Sized, F> PairwiseJudge<C> for ProgrammaticJudge<F>
where
    F: Fn(&str, &C, &C) -> Verdict + Send + Sync,
{
    fn judge(&self, prompt: &str, first: &C, second: &C) -> Result<Verdict> {
        Ok((self.f)(prompt, first, second))
    }
}

/// A programmatic judge from a ground-truth score: the higher score wins, equal scores tie.
pub fn judge_from_scores<C: ?Sized, S>(
    score: S,
) -> ProgrammaticJudge<impl Fn(&str, &C, &C) -> Verdict + Send + Sync>
where
    S: Fn(&str, &C) -> f64 + Send + Sync,
{
    ProgrammaticJudge::new(move |prompt: &str, a: &C, b: &C| {
        Verdict::from_scores(score(prompt, a), score(prompt, b))
    })
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// FNV-1a with a splitmix64 finaliser: a small, stable hash for reproducible draws (unlike
/// `std`'s `DefaultHasher`, its output is fixed across Rust versions).
struct Fnv(u64);

impl Fnv {
    fn new(seed: u64) -> Self {
        let mut h = Self(0xcbf2_9ce4_8422_2325);
        h.write(&seed.to_le_bytes());
        h
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// A uniform number in [0, 1).
    fn uniform(&self) -> f64 {
        let mut z = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len_score(_: &str, c: &str) -> f64 {
        c.len() as f64
    }

    #[test]
    fn threshold_judge() {
        let j = BradleyTerryJudge::new(
            len_score,
            BradleyTerryDecision::Threshold { tie_margin: 0.0 },
        )
        .unwrap();
        assert_eq!(j.judge("p", "aaa", "a").unwrap(), Verdict::First);
        assert_eq!(j.judge("p", "a", "aaa").unwrap(), Verdict::Second);
        assert_eq!(j.judge("p", "ab", "cd").unwrap(), Verdict::Tie);
        assert!((j.probability("p", "aa", "a") - 0.731_058_578_630_004_9).abs() < 1e-12);
        // σ(1) − ½ = 0.231: a margin of 0.3 turns a one-character gap into a tie.
        let wide = BradleyTerryJudge::new(
            len_score,
            BradleyTerryDecision::Threshold { tie_margin: 0.3 },
        )
        .unwrap();
        assert_eq!(wide.judge("p", "aa", "a").unwrap(), Verdict::Tie);
        assert!(
            BradleyTerryJudge::new(
                len_score,
                BradleyTerryDecision::Threshold { tie_margin: 0.5 }
            )
            .is_err()
        );
    }

    /// Sampled verdicts follow σ(s_a − s_b): over many prompts (distinct hashes) the share of
    /// First is close to σ(1) = 0.731; the same call repeats exactly.
    #[test]
    fn sampled_judge_frequency_and_reproducibility() {
        let j =
            BradleyTerryJudge::new(len_score, BradleyTerryDecision::Sample { seed: 7 }).unwrap();
        let n = 20_000;
        let firsts = (0..n)
            .filter(|i| j.judge(&format!("prompt {i}"), "aa", "a").unwrap() == Verdict::First)
            .count();
        let share = firsts as f64 / n as f64;
        // binomial sd = sqrt(.731·.269/20000) = 0.0031; allow 5 sd
        assert!((share - 0.731_058_6).abs() < 0.016, "share {share}");
        let a: Vec<Verdict> = (0..50)
            .map(|i| j.judge(&i.to_string(), "aa", "a").unwrap())
            .collect();
        let b: Vec<Verdict> = (0..50)
            .map(|i| j.judge(&i.to_string(), "aa", "a").unwrap())
            .collect();
        assert_eq!(a, b);
        let j2 = j.with_seed(8);
        let c: Vec<Verdict> = (0..50)
            .map(|i| j2.judge(&i.to_string(), "aa", "a").unwrap())
            .collect();
        assert_ne!(a, c);
    }

    #[test]
    fn programmatic_and_debias() {
        let j = judge_from_scores(len_score);
        assert_eq!(j.judge("p", "xx", "x").unwrap(), Verdict::First);
        assert_eq!(j.judge("p", "x", "y").unwrap(), Verdict::Tie);
        assert_eq!(
            Verdict::debiased(Verdict::First, Verdict::First),
            Verdict::First
        );
        assert_eq!(
            Verdict::debiased(Verdict::First, Verdict::Second),
            Verdict::Tie
        );
        assert_eq!(
            Verdict::debiased(Verdict::Tie, Verdict::Second),
            Verdict::Tie
        );
        assert_eq!(Verdict::Second.flipped(), Verdict::First);
        assert_eq!(Verdict::Tie.points(), (0.5, 0.5));
    }
}
