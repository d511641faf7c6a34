//! The programmatic preference of the real-model run: a **correct, concise, direct** answer.
//!
//! `reward = correct × concise`, in [0, 1]:
//! * `correct` is 1 when an accepted answer appears as whole words in the normalised
//!   completion (lower case, punctuation as spaces, digit-group commas dropped) and no
//!   distractor of the same family does (naming several capitals is hedging, not answering);
//!   else 0 — so an empty, off-topic or wrong completion scores 0 whatever its length;
//! * `concise` is 1 up to `max_words` words and `max_words / words` beyond (a correct answer
//!   buried in three times the words scores one third).

use serde::{Deserialize, Serialize};

use super::questions::Question;

/// Knobs of the reward.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConciseAnswerReward {
    /// Longest answer, in words, that keeps the full reward.
    pub max_words: usize,
}

impl Default for ConciseAnswerReward {
    fn default() -> Self {
        Self { max_words: 8 }
    }
}

/// The words of `text`: lower case, `1,000` → `1000`, every other non-alphanumeric
/// character a separator.
pub fn normalized_words(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut cleaned = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let digit_comma = c == ','
            && i > 0
            && chars[i - 1].is_ascii_digit()
            && chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if digit_comma {
            continue;
        }
        if c.is_alphanumeric() {
            cleaned.extend(c.to_lowercase());
        } else {
            cleaned.push(' ');
        }
    }
    cleaned.split_whitespace().map(str::to_string).collect()
}

/// Whether the word sequence `needle` occurs contiguously in `words`.
fn contains_words(words: &[String], needle: &[String]) -> bool {
    !needle.is_empty() && words.windows(needle.len()).any(|w| w == needle)
}

impl ConciseAnswerReward {
    /// Whether `completion` gives one of `question`'s answers and none of its distractors.
    pub fn is_correct(&self, question: &Question, completion: &str) -> bool {
        let words = normalized_words(completion);
        let mentions = |candidates: &[String]| {
            candidates
                .iter()
                .any(|c| contains_words(&words, &normalized_words(c)))
        };
        mentions(&question.answers) && !mentions(&question.distractors)
    }

    /// 1 up to `max_words` words, `max_words / words` beyond.
    pub fn conciseness(&self, completion: &str) -> f64 {
        let words = completion.split_whitespace().count();
        if words <= self.max_words {
            1.0
        } else {
            self.max_words as f64 / words as f64
        }
    }

    /// `correct × concise` of `completion` as an answer to `question`.
    pub fn score(&self, question: &Question, completion: &str) -> f64 {
        if self.is_correct(question, completion) {
            self.conciseness(completion)
        } else {
            0.0
        }
    }
}
