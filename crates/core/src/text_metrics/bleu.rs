//! Corpus BLEU with sacreBLEU's defaults.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{bleu_tokenize, check_corpus};
use crate::Result;

/// Highest n-gram order (sacreBLEU's `MAX_NGRAM_ORDER`).
const MAX_ORDER: usize = 4;

/// What sacreBLEU's `my_log` returns for `log(0)`.
const LOG_ZERO: f64 = -9_999_999_999.0;

/// A corpus BLEU score and its statistics, as sacreBLEU's `BLEUScore` (see [`corpus_bleu`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bleu {
    /// BLEU on the 0–100 scale (floating-point rounding can put identical corpora at
    /// `100 + 4e-14`, as in sacreBLEU).
    pub score: f64,
    /// Smoothed n-gram precisions for n = 1..4, in percent.
    pub precisions: [f64; 4],
    /// Brevity penalty `exp(1 − ref_len/sys_len)` when `sys_len < ref_len`, else 1 (0 when
    /// `sys_len = 0 < ref_len`).
    pub bp: f64,
    /// Total number of prediction tokens.
    pub sys_len: usize,
    /// Total number of reference tokens.
    pub ref_len: usize,
    /// Clipped n-gram matches for n = 1..4, summed over the corpus.
    pub counts: [usize; 4],
    /// Prediction n-grams for n = 1..4, summed over the corpus.
    pub totals: [usize; 4],
}

/// Corpus BLEU of `predictions` against one reference each (`references[i]` for
/// `predictions[i]`), as `sacrebleu.corpus_bleu(predictions, [references])` with its defaults,
/// which is what Hugging Face `evaluate`'s "sacrebleu" computes: `13a` tokenization
/// ([`bleu_tokenize`]), case-sensitive, `exp` smoothing, no effective order, up to 4-grams.
///
/// Per segment, prediction n-gram counts are clipped by the reference's; matches, n-gram
/// totals and lengths are summed over the corpus, then
/// `BLEU = BP · exp(¼ Σₙ log pₙ)` with `pₙ = 100·matchesₙ/totalₙ`. Smoothing (`exp`, NIST's
/// method 3): the k-th order with zero matches gets `pₙ = 100 / (2ᵏ · totalₙ)`. Edge cases as
/// in sacreBLEU: no match at any order gives score 0 with all precisions 0; an order with no
/// prediction n-gram at all (every prediction shorter than n tokens) stops the loop, leaving
/// that and higher precisions at 0 and so the score at 0 (`log 0` is floored at −9999999999);
/// `sys_len = 0` gives BP 0.
///
/// # Errors
/// [`CoreError::TextMetric`](crate::CoreError::TextMetric) when the two slices differ in length or are
/// empty.
///
/// ```
/// use prefopt_core::corpus_bleu;
/// let b = corpus_bleu(&["the cat sat on the mat ."], &["the cat sat on the mat ."])?;
/// assert!((b.score - 100.0).abs() < 1e-9);
/// let b = corpus_bleu(&["the cat"], &["the cat sat on the mat"])?;
/// assert_eq!((b.sys_len, b.ref_len, b.score), (2, 6, 0.0)); // no 3-gram: score 0
/// # Ok::<(), prefopt_core::CoreError>(())
/// ```
pub fn corpus_bleu(
    predictions: &[impl AsRef<str>],
    references: &[impl AsRef<str>],
) -> Result<Bleu> {
    check_corpus(predictions.len(), references.len())?;
    let mut stats = Stats::default();
    for (p, r) in predictions.iter().zip(references) {
        stats.add_segment(&bleu_tokenize(p.as_ref()), &bleu_tokenize(r.as_ref()));
    }
    Ok(stats.bleu())
}

/// Sufficient statistics of corpus BLEU.
#[derive(Debug, Default)]
struct Stats {
    sys_len: usize,
    ref_len: usize,
    correct: [usize; MAX_ORDER],
    total: [usize; MAX_ORDER],
}

impl Stats {
    /// Adds one segment (`BLEU._compute_segment_statistics` with a single reference).
    fn add_segment(&mut self, hyp: &[String], refr: &[String]) {
        self.sys_len += hyp.len();
        self.ref_len += refr.len();
        for n in 1..=MAX_ORDER {
            let ref_counts = ngram_counts(refr, n);
            for (g, c) in ngram_counts(hyp, n) {
                self.total[n - 1] += c;
                self.correct[n - 1] += c.min(ref_counts.get(g).copied().unwrap_or(0));
            }
        }
    }

    /// `BLEU.compute_bleu` with `smooth_method='exp'`, `effective_order=False`.
    fn bleu(&self) -> Bleu {
        let mut bp = 1.0;
        if self.sys_len < self.ref_len {
            bp = if self.sys_len > 0 {
                (1.0 - self.ref_len as f64 / self.sys_len as f64).exp()
            } else {
                0.0
            };
        }
        let mut precisions = [0.0; MAX_ORDER];
        let mut result = Bleu {
            score: 0.0,
            precisions,
            bp,
            sys_len: self.sys_len,
            ref_len: self.ref_len,
            counts: self.correct,
            totals: self.total,
        };
        if self.correct.iter().all(|&c| c == 0) {
            return result;
        }
        let mut smooth = 1.0;
        for ((p, &correct), &total) in precisions.iter_mut().zip(&self.correct).zip(&self.total) {
            if total == 0 {
                break;
            }
            *p = if correct == 0 {
                smooth *= 2.0;
                100.0 / (smooth * total as f64)
            } else {
                100.0 * correct as f64 / total as f64
            };
        }
        let log_sum = precisions.iter().fold(0.0, |acc, &p| {
            acc + if p == 0.0 { LOG_ZERO } else { p.ln() }
        });
        result.score = bp * (log_sum / MAX_ORDER as f64).exp();
        result.precisions = precisions;
        result
    }
}

/// Counts of every n-gram of `tokens` (with multiplicity).
fn ngram_counts(tokens: &[String], n: usize) -> HashMap<&[String], usize> {
    let mut counts = HashMap::new();
    if tokens.len() >= n {
        for g in tokens.windows(n) {
            *counts.entry(g).or_insert(0) += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(correct: [usize; 4], total: [usize; 4], sys_len: usize, ref_len: usize) -> Bleu {
        Stats {
            sys_len,
            ref_len,
            correct,
            total,
        }
        .bleu()
    }

    #[test]
    fn exp_smoothing_doubles_per_zero_order() {
        // 3rd and 4th orders without match: p3 = 100/(2·8), p4 = 100/(4·7).
        let b = stats([10, 5, 0, 0], [10, 9, 8, 7], 10, 10);
        assert_eq!(
            b.precisions,
            [100.0, 500.0 / 9.0, 100.0 / 16.0, 100.0 / 28.0]
        );
        let expected = ((100.0f64).ln()
            + (500.0f64 / 9.0).ln()
            + (100.0f64 / 16.0).ln()
            + (100.0f64 / 28.0).ln())
            / 4.0;
        assert!((b.score - expected.exp()).abs() < 1e-12);
        assert_eq!(b.bp, 1.0);
    }

    #[test]
    fn edge_cases() {
        // No match anywhere: 0, precisions untouched.
        let b = stats([0; 4], [3, 2, 1, 0], 3, 5);
        assert_eq!((b.score, b.precisions), (0.0, [0.0; 4]));
        assert_eq!(b.bp, (1.0f64 - 5.0 / 3.0).exp());
        // Empty prediction: BP 0.
        assert_eq!(stats([0; 4], [0; 4], 0, 4).bp, 0.0);
        // Both empty: BP 1, score 0.
        let b = stats([0; 4], [0; 4], 0, 0);
        assert_eq!((b.score, b.bp), (0.0, 1.0));
        // No 4-gram predicted: the loop stops, p4 = 0, score floors to 0.
        let b = stats([3, 2, 1, 0], [3, 2, 1, 0], 3, 3);
        assert_eq!(b.precisions, [100.0, 100.0, 100.0, 0.0]);
        assert_eq!(b.score, 0.0);
    }
}
