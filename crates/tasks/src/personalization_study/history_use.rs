//! How much the history is worth to a model (before training, or after it): the held-out targets'
//! negative log-likelihood per token from the with-history prompt, from the null-history
//! prompt, and from *another* user's prompt (the next held-out user's history and query:
//! the same layout and review format, someone else's preferences), teacher-forced, over every
//! target token and per slot of the review — the generic sentence (which the query gives),
//! the aspect, the adjective and the sign-off (which only the history gives). The null prompt
//! measures what the history is worth in all (format included); another user's history
//! isolates the user's preferences: a model that reads them in context finds its own user's
//! aspect, adjective and sign-off likelier than another user's history makes them.

use std::ops::Range;

use prefopt_data::{TokenizedPersonal, Tokenizer};
use prefopt_models::CausalLm;
use serde::{Deserialize, Serialize};

use crate::demo::sampling::token_logprobs;
use crate::error::Result;
use crate::personalization::parse_review_text;

/// Nats per token of some target tokens from the three prompts.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct NllPair {
    /// Given the history.
    pub history: f64,
    /// Given the null history.
    pub null_history: f64,
    /// Given another user's prompt (history and query).
    pub other_history: f64,
    /// Tokens averaged over.
    pub tokens: usize,
}

impl NllPair {
    /// `null_history - history`: nats per token the history is worth (format included).
    pub fn history_gain(&self) -> f64 {
        self.null_history - self.history
    }

    /// `other_history - history`: nats per token that this user's history is worth over
    /// another user's (the preferences read in context).
    pub fn user_gain(&self) -> f64 {
        self.other_history - self.history
    }
}

/// [`NllPair`]s of the held-out targets: all tokens (EOS included) and per slot.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct HistoryUse {
    /// Every target token.
    pub all: NllPair,
    /// The tokens of the generic sentence (rating word and category).
    pub generic: NllPair,
    /// The aspect word's tokens.
    pub aspect: NllPair,
    /// The adjective's tokens.
    pub adjective: NllPair,
    /// The sign-off phrase's tokens.
    pub signoff: NllPair,
    /// Targets whose tokens could not be aligned with their text (left out of the slots).
    pub unaligned: usize,
}

impl HistoryUse {
    /// The field-wise mean of `uses` (token counts of the first); `None` when empty.
    pub fn mean(uses: &[HistoryUse]) -> Option<HistoryUse> {
        let first = uses.first()?;
        let n = uses.len() as f64;
        let pair = |f: fn(&HistoryUse) -> NllPair| {
            let sum = |g: fn(&NllPair) -> f64| uses.iter().map(|u| g(&f(u))).sum::<f64>() / n;
            NllPair {
                history: sum(|p| p.history),
                null_history: sum(|p| p.null_history),
                other_history: sum(|p| p.other_history),
                tokens: f(first).tokens,
            }
        };
        Some(HistoryUse {
            all: pair(|u| u.all),
            generic: pair(|u| u.generic),
            aspect: pair(|u| u.aspect),
            adjective: pair(|u| u.adjective),
            signoff: pair(|u| u.signoff),
            unaligned: uses.iter().map(|u| u.unaligned).sum(),
        })
    }
}

/// [`HistoryUse`] of `model` on `examples`, `batch_rows` rows per forward.
pub fn history_use<'a>(
    model: &CausalLm,
    tokenizer: &Tokenizer,
    examples: &'a [TokenizedPersonal],
    batch_rows: usize,
) -> Result<HistoryUse> {
    let pad = tokenizer.padding_id();
    let score = |prompts: Vec<&'a [u32]>| {
        let completions = examples.iter().map(|e| e.completion_ids.as_slice());
        token_logprobs(model, prompts.into_iter().zip(completions), pad, batch_rows)
    };
    let with = score(examples.iter().map(|e| e.prompt_ids.as_slice()).collect())?;
    let without = score(
        examples
            .iter()
            .map(|e| e.null_prompt_ids.as_slice())
            .collect(),
    )?;
    let other = score(
        (0..examples.len())
            .map(|i| examples[(i + 1) % examples.len()].prompt_ids.as_slice())
            .collect(),
    )?;
    // Sums of -log p (history, null, other) and counts: all, then the four slots.
    let mut sums = [[0.0f64; 3]; 5];
    let mut counts = [0usize; 5];
    let mut unaligned = 0;
    for (((example, with), without), other) in examples.iter().zip(&with).zip(&without).zip(&other)
    {
        let mut add = |k: usize, i: usize| {
            sums[k][0] -= with[i];
            sums[k][1] -= without[i];
            sums[k][2] -= other[i];
            counts[k] += 1;
        };
        for i in 0..with.len() {
            add(0, i);
        }
        match token_slots(tokenizer, example)? {
            Some(slots) => {
                for (i, slot) in slots.into_iter().enumerate() {
                    if let Some(k) = slot {
                        add(k + 1, i);
                    }
                }
            }
            None => unaligned += 1,
        }
    }
    let pair = |k: usize| NllPair {
        history: sums[k][0] / counts[k].max(1) as f64,
        null_history: sums[k][1] / counts[k].max(1) as f64,
        other_history: sums[k][2] / counts[k].max(1) as f64,
        tokens: counts[k],
    };
    Ok(HistoryUse {
        all: pair(0),
        generic: pair(1),
        aspect: pair(2),
        adjective: pair(3),
        signoff: pair(4),
        unaligned,
    })
}

/// The slot (0 generic, 1 aspect, 2 adjective, 3 sign-off) of each completion token of
/// `example`, `None` outside the slots (EOS, punctuation, `the … is`); `None` overall when
/// the target does not parse or its tokens do not decode back to its text.
fn token_slots(
    tokenizer: &Tokenizer,
    example: &TokenizedPersonal,
) -> Result<Option<Vec<Option<usize>>>> {
    let Some(spans) = slot_spans(&example.target) else {
        return Ok(None);
    };
    let ids = &example.completion_ids;
    let mut slots = Vec::with_capacity(ids.len());
    let mut decoded = String::new();
    for i in 0..ids.len() {
        let start = decoded.len();
        decoded = tokenizer.decode(&ids[..=i], true)?;
        let end = decoded.len();
        let slot = spans
            .iter()
            .position(|s| end > s.start && start < s.end && end > start);
        slots.push(slot);
    }
    // The decoded target must be the target text, or the offsets mean nothing.
    if decoded.trim_end() != example.target.trim_end() {
        return Ok(None);
    }
    Ok(Some(slots))
}

/// Byte ranges of the generic sentence, the aspect, the adjective and the sign-off in a
/// review text of either style; `None` when it does not parse.
fn slot_spans(text: &str) -> Option<[Range<usize>; 4]> {
    let parts = parse_review_text(text)?;
    let lower = text.to_ascii_lowercase();
    let generic = 0..lower.find('.')?;
    let phrase = format!("the {} is ", parts.style.aspect);
    let at = generic.end + lower[generic.end..].find(&phrase)?;
    let aspect = at + 4..at + 4 + parts.style.aspect.len();
    let adjective = at + phrase.len()..at + phrase.len() + parts.style.adjective.len();
    let signoff_at = lower.rfind(&parts.style.signoff)?;
    let signoff = signoff_at..signoff_at + parts.style.signoff.len();
    Some([generic, aspect, adjective, signoff])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_spans_of_both_styles() {
        for text in [
            "Good lamp. The price is sturdy. Cheers from ohio.",
            "good lamp . the price is sturdy . cheers from ohio .",
        ] {
            let [generic, aspect, adjective, signoff] = slot_spans(text).unwrap();
            assert_eq!(text[generic].trim().to_lowercase(), "good lamp");
            assert_eq!(&text[aspect], "price");
            assert_eq!(&text[adjective], "sturdy");
            assert_eq!(text[signoff].to_lowercase(), "cheers from ohio");
        }
        assert!(slot_spans("I liked it.").is_none());
    }
}
