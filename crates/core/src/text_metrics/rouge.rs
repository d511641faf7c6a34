//! ROUGE-1, ROUGE-2 and ROUGE-L as Google's `rouge_score` computes them.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{check_corpus, rouge_tokenize};
use crate::Result;

/// Precision, recall and F-measure of one ROUGE variant for one prediction/reference pair.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RougeScore {
    /// Matches over the prediction's n-grams (ROUGE-N) or tokens (ROUGE-L), in [0, 1].
    pub precision: f64,
    /// Matches over the reference's n-grams or tokens, in [0, 1].
    pub recall: f64,
    /// Harmonic mean `2PR / (P + R)`, 0 when `P + R = 0`.
    pub fmeasure: f64,
}

impl RougeScore {
    /// The score with this precision and recall (`rouge_score.scoring.fmeasure`).
    fn new(precision: f64, recall: f64) -> Self {
        let fmeasure = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        Self {
            precision,
            recall,
            fmeasure,
        }
    }

    const ZERO: Self = Self {
        precision: 0.0,
        recall: 0.0,
        fmeasure: 0.0,
    };
}

/// ROUGE-1, ROUGE-2 and ROUGE-L of one pair (see [`rouge`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RougeScores {
    /// Unigram overlap.
    pub rouge1: RougeScore,
    /// Bigram overlap.
    pub rouge2: RougeScore,
    /// Longest common subsequence (sentence-level `rougeL`).
    pub rouge_l: RougeScore,
}

/// ROUGE of one `prediction` against one `reference`, as
/// `RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False).score(reference, prediction)`
/// of the `rouge_score` package (note its argument order: reference first; here prediction first).
///
/// Both texts go through [`rouge_tokenize`]. ROUGE-N counts n-grams with multiplicity and clips
/// the overlap (`Σ min(count_pred, count_ref)` over n-grams), `P = overlap / max(#pred n-grams, 1)`,
/// `R = overlap / max(#ref n-grams, 1)`. ROUGE-L uses the longest common subsequence of the token
/// sequences: `P = LCS / #pred tokens`, `R = LCS / #ref tokens`, all zero when either side has no
/// token. `F = 2PR / (P + R)`, 0 when `P + R = 0`.
///
/// ```
/// use prefopt_core::rouge;
/// let s = rouge("the cat was found under the bed", "the cat was under the bed");
/// assert_eq!(s.rouge1.recall, 1.0);
/// assert_eq!(s.rouge1.precision, 6.0 / 7.0);
/// assert_eq!(s.rouge2.precision, 4.0 / 6.0); // "was found" and "found under" miss
/// assert_eq!(s.rouge_l.recall, 1.0);
/// ```
pub fn rouge(prediction: &str, reference: &str) -> RougeScores {
    let pred = rouge_tokenize(prediction);
    let refr = rouge_tokenize(reference);
    let (pred, refr) = intern(&pred, &refr);
    RougeScores {
        rouge1: rouge_n(&pred, &refr, 1),
        rouge2: rouge_n(&pred, &refr, 2),
        rouge_l: rouge_lcs(&pred, &refr),
    }
}

/// Mean ROUGE F-measures over a corpus (see [`corpus_rouge`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CorpusRouge {
    /// Mean ROUGE-1 F-measure over the pairs, in [0, 1].
    pub rouge1: f64,
    /// Mean ROUGE-2 F-measure.
    pub rouge2: f64,
    /// Mean ROUGE-L F-measure.
    pub rouge_l: f64,
    /// Number of pairs.
    pub n: usize,
}

/// Mean over pairs of the [`rouge`] F-measures: `predictions[i]` is scored against
/// `references[i]`.
///
/// Hugging Face `evaluate`'s "rouge" (with its default `use_aggregator=True`) reports instead
/// the median of 1000 bootstrap resamples of this mean (`rouge_score.scoring.BootstrapAggregator`,
/// unseeded); that differs from the plain mean by bootstrap noise only. Multiply by 100 for the
/// percentages papers print.
///
/// # Errors
/// [`CoreError::TextMetric`](crate::CoreError::TextMetric) when the two slices differ in length or are
/// empty.
///
/// ```
/// use prefopt_core::corpus_rouge;
/// let c = corpus_rouge(&["a b c", "x y"], &["a b c", "z"])?;
/// assert_eq!((c.rouge1, c.n), (0.5, 2));
/// assert!(corpus_rouge(&["a"], &["a", "b"]).is_err());
/// # Ok::<(), prefopt_core::CoreError>(())
/// ```
pub fn corpus_rouge(
    predictions: &[impl AsRef<str>],
    references: &[impl AsRef<str>],
) -> Result<CorpusRouge> {
    check_corpus(predictions.len(), references.len())?;
    let (mut r1, mut r2, mut rl) = (0.0, 0.0, 0.0);
    for (p, r) in predictions.iter().zip(references) {
        let s = rouge(p.as_ref(), r.as_ref());
        r1 += s.rouge1.fmeasure;
        r2 += s.rouge2.fmeasure;
        rl += s.rouge_l.fmeasure;
    }
    let n = predictions.len();
    let nf = n as f64;
    Ok(CorpusRouge {
        rouge1: r1 / nf,
        rouge2: r2 / nf,
        rouge_l: rl / nf,
        n,
    })
}

/// Maps the tokens of both sides to shared integer ids (equal ids ⇔ equal tokens).
fn intern(pred: &[String], refr: &[String]) -> (Vec<u32>, Vec<u32>) {
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let mut all = Vec::with_capacity(pred.len() + refr.len());
    for t in pred.iter().chain(refr) {
        let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
        all.push(*ids.entry(t.as_str()).or_insert(next));
    }
    let r = all.split_off(pred.len());
    (all, r)
}

/// Counts of every n-gram (with multiplicity).
fn ngram_counts(tokens: &[u32], n: usize) -> HashMap<&[u32], usize> {
    let mut counts = HashMap::new();
    if tokens.len() >= n {
        for g in tokens.windows(n) {
            *counts.entry(g).or_insert(0) += 1;
        }
    }
    counts
}

/// ROUGE-N (`rouge_score.rouge_scorer._score_ngrams`).
fn rouge_n(pred: &[u32], refr: &[u32], n: usize) -> RougeScore {
    let p = ngram_counts(pred, n);
    let r = ngram_counts(refr, n);
    let overlap: usize = r
        .iter()
        .map(|(g, &c)| c.min(p.get(g).copied().unwrap_or(0)))
        .sum();
    let pred_total = pred.len().saturating_sub(n - 1);
    let ref_total = refr.len().saturating_sub(n - 1);
    RougeScore::new(
        overlap as f64 / pred_total.max(1) as f64,
        overlap as f64 / ref_total.max(1) as f64,
    )
}

/// ROUGE-L (`rouge_score.rouge_scorer._score_lcs`).
fn rouge_lcs(pred: &[u32], refr: &[u32]) -> RougeScore {
    if pred.is_empty() || refr.is_empty() {
        return RougeScore::ZERO;
    }
    let lcs = lcs_len(refr, pred);
    RougeScore::new(
        lcs as f64 / pred.len() as f64,
        lcs as f64 / refr.len() as f64,
    )
}

/// Length of the longest common subsequence, by dynamic programming over one rolling row
/// (`O(|a|·|b|)` time, `O(|b|)` memory).
fn lcs_len(a: &[u32], b: &[u32]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for &x in a {
        for (j, &y) in b.iter().enumerate() {
            cur[j + 1] = if x == y {
                prev[j] + 1
            } else {
                prev[j + 1].max(cur[j])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lcs_of_known_sequences() {
        assert_eq!(lcs_len(&[1, 2, 3, 4, 1], &[3, 4, 1, 2, 1, 3]), 3);
        assert_eq!(lcs_len(&[1, 2, 3], &[1, 2, 3]), 3);
        assert_eq!(lcs_len(&[1, 2], &[3]), 0);
        assert_eq!(lcs_len(&[], &[3]), 0);
    }

    #[test]
    fn clipped_overlap_and_empty_sides() {
        // pred "the"×7 against ref with "the" twice: overlap 2 of 7 predicted unigrams.
        let s = rouge("the the the the the the the", "the cat is on the mat");
        assert_eq!(s.rouge1.precision, 2.0 / 7.0);
        assert_eq!(s.rouge1.recall, 2.0 / 6.0);
        assert_eq!(s.rouge_l.precision, 2.0 / 7.0);
        // one token: no bigram, so ROUGE-2 is 0 (not NaN).
        assert_eq!(rouge("hello", "hello world").rouge2, RougeScore::ZERO);
        assert_eq!(rouge("", "words").rouge1, RougeScore::ZERO);
        assert_eq!(rouge("", "").rouge_l, RougeScore::ZERO);
    }
}
