//! Text-generation metrics for personalization evaluation: ROUGE and BLEU as NextQuill reports
//! them through Hugging Face `evaluate` (research notes `nextquill.md` §2.7).
//!
//! - [`rouge`] / [`corpus_rouge`]: Google's `rouge_score` package (what `evaluate`'s "rouge"
//!   calls) with `use_stemmer=False`: [`rouge_tokenize`] (lowercase, every character outside
//!   `[a-z0-9]` becomes a separator), clipped n-gram overlap for ROUGE-1/2, and sentence-level
//!   LCS for ROUGE-L (`rougeL`, not `rougeLsum`).
//! - [`corpus_bleu`]: sacreBLEU's corpus BLEU with its defaults (`13a` tokenizer via
//!   [`bleu_tokenize`], `exp` smoothing, case-sensitive, one reference per prediction), on the
//!   0–100 scale.
//!
//! Both match the Python packages to 1e-9 (ROUGE) and 1e-6 (BLEU) on the reference pairs in
//! `tests/fixtures/text_metrics_reference.json`. One documented difference: `evaluate`'s
//! "rouge" reports the bootstrap-resampled median of the per-pair F-measures; [`corpus_rouge`]
//! reports their plain mean, which lies inside the bootstrap interval (see
//! `docs/text-metrics.md`).

mod bleu;
mod rouge;
mod rouge_tokenizer;
mod tokenizer_13a;

pub use bleu::{Bleu, corpus_bleu};
pub use rouge::{CorpusRouge, RougeScore, RougeScores, corpus_rouge, rouge};
pub use rouge_tokenizer::rouge_tokenize;
pub use tokenizer_13a::{bleu_tokenize, is_python_whitespace};

use crate::{CoreError, Result};

/// Checks that a corpus has as many references as predictions and is not empty.
fn check_corpus(predictions: usize, references: usize) -> Result<()> {
    if predictions != references {
        return Err(CoreError::TextMetric(format!(
            "{predictions} predictions but {references} references (one reference per prediction)"
        )));
    }
    if predictions == 0 {
        return Err(CoreError::TextMetric(
            "empty corpus: no prediction to score".into(),
        ));
    }
    Ok(())
}
