//! The ground-truth reward: a lexicon score with intensifiers and negation, squashed by
//! `tanh` into (−1, 1).
//!
//! It plays the part of the sentiment classifier in the DPO paper's controlled sentiment
//! experiment (Rafailov et al. 2023, §6.1: `siebert/sentiment-roberta-large-english` on
//! IMDb). Being a short, exact function, it lets a demo measure true reward rather than a
//! learned proxy of it.
//!
//! **The score.** The text is lower-cased and split into words (letters, digits and `'`);
//! `. , ; : ! ?` and the words `but`, `although`, `though`, `yet`, `while` close a clause.
//! Each sentiment word of [`POSITIVE`](super::lexicon::POSITIVE) /
//! [`NEGATIVE`](super::lexicon::NEGATIVE) adds its weight `w`, scaled by
//!
//! * the product of the [modifiers](super::lexicon::MODIFIERS) standing right before it
//!   (`very good` = 1.5 · 2), capped at [`MAX_MODIFIER`];
//! * [`NEGATION_FACTOR`] = −0.75 when a [negator](super::lexicon::NEGATORS) (or any word
//!   ending in `n't`) occurs at most [`NEGATION_WINDOW`] words earlier in the same clause
//!   (`not good` = −1.5, `not bad` = +1.5). The factor is VADER's `N_SCALAR` (−0.74, Hutto &
//!   Gilbert 2014) rounded: a negated word is weaker than its antonym. A negator negates one
//!   sentiment word.
//!
//! Words outside the lexicon count 0, so unknown tokens, numbers, markup and empty text are
//! neutral. **The reward** is `tanh(score / REWARD_TEMPERATURE)` with temperature 3: `good`
//! ≈ 0.58, `very good` ≈ 0.76, `terrible` ≈ −0.76, a mixed `good, but dull` ≈ 0.17. It is
//! finite and in [−1, 1] for every input (each term is bounded, so the sum is finite).

use super::lexicon::{is_clause_break, is_negator, modifier_factor, word_weight};

/// Divides the raw score before `tanh`.
pub const REWARD_TEMPERATURE: f64 = 3.0;
/// Multiplies a negated sentiment word's weight.
pub const NEGATION_FACTOR: f64 = -0.75;
/// How many words after a negator a sentiment word is still negated.
pub const NEGATION_WINDOW: usize = 3;
/// Upper bound of the product of stacked modifiers (`very very very ...`).
pub const MAX_MODIFIER: f64 = 4.0;

/// A word, or the end of a clause.
#[derive(Debug, PartialEq)]
enum Piece {
    Word(String),
    Break,
}

fn pieces(text: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<Piece>| {
        let trimmed = word.trim_matches('\'');
        if !trimmed.is_empty() {
            out.push(Piece::Word(trimmed.to_string()));
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() || c == '\'' || c == '\u{2019}' {
            let c = if c == '\u{2019}' { '\'' } else { c };
            word.extend(c.to_lowercase());
        } else {
            flush(&mut word, &mut out);
            if matches!(c, '.' | ',' | ';' | ':' | '!' | '?') {
                out.push(Piece::Break);
            }
        }
    }
    flush(&mut word, &mut out);
    out
}

fn negates(word: &str) -> bool {
    is_negator(word) || word.ends_with("n't")
}

/// The raw lexicon score of `text` (unbounded, 0 when no sentiment word occurs).
pub fn sentiment_score(text: &str) -> f64 {
    let mut score = 0.0;
    let mut modifier = 1.0_f64;
    // Words seen since the last negator of this clause.
    let mut since_negator: Option<usize> = None;
    for piece in pieces(text) {
        let word = match piece {
            Piece::Break => {
                modifier = 1.0;
                since_negator = None;
                continue;
            }
            Piece::Word(word) => word,
        };
        if is_clause_break(&word) {
            modifier = 1.0;
            since_negator = None;
            continue;
        }
        if negates(&word) {
            since_negator = Some(0);
            modifier = 1.0;
            continue;
        }
        since_negator = since_negator.map(|n| n + 1);
        if let Some(factor) = modifier_factor(&word) {
            modifier = (modifier * factor).min(MAX_MODIFIER);
            continue;
        }
        let weight = word_weight(&word);
        if weight != 0.0 {
            let mut term = weight * modifier;
            if since_negator.is_some_and(|n| n <= NEGATION_WINDOW) {
                term *= NEGATION_FACTOR;
            }
            score += term;
            since_negator = None;
        }
        modifier = 1.0;
    }
    score
}

/// The ground-truth reward of `text`, in [−1, 1]: `tanh(sentiment_score / 3)`.
///
/// Score the completion (the prompts of [`ReviewGrammar`](super::ReviewGrammar) carry no
/// sentiment word, so scoring prompt + completion gives the same number).
pub fn reward(text: &str) -> f64 {
    (sentiment_score(text) / REWARD_TEMPERATURE).tanh()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_the_documented_rule() {
        assert_eq!(sentiment_score("good"), 2.0);
        assert_eq!(sentiment_score("very good"), 3.0);
        assert_eq!(sentiment_score("not good"), -1.5);
        assert_eq!(sentiment_score("not bad"), 1.5);
        assert_eq!(sentiment_score("not a very good film"), -2.25);
        // negation ends at the clause break: "not long, but good" is positive
        assert_eq!(sentiment_score("not long, but good"), 2.0);
        // beyond the window: not(0) one two three four good
        assert_eq!(sentiment_score("not one two three four good"), 2.0);
        // a negator negates one word only
        assert_eq!(sentiment_score("not good and dull"), -1.5 - 1.5);
        assert_eq!(sentiment_score("wasn't boring"), 1.5);
        assert_eq!(sentiment_score("GOOD!!! Great."), 4.5);
        assert_eq!(sentiment_score("very very very very very good"), 8.0);
        // a modifier only touches the word right after it
        assert_eq!(sentiment_score("very long and good"), 2.0);
    }

    #[test]
    fn reward_values_quoted_in_the_docs() {
        let close = |a: f64, b: f64| (a - b).abs() < 5e-3;
        assert!(close(reward("good"), 0.583));
        assert!(close(reward("very good"), 0.762));
        assert!(close(reward("terrible"), -0.762));
        assert!(close(reward("good, but dull"), 0.165));
        assert_eq!(reward(""), 0.0);
    }

    #[test]
    fn tokenization_splits_on_punctuation_and_keeps_apostrophes() {
        assert_eq!(
            pieces("It wasn't GOOD, 'ok'"),
            vec![
                Piece::Word("it".into()),
                Piece::Word("wasn't".into()),
                Piece::Word("good".into()),
                Piece::Break,
                Piece::Word("ok".into()),
            ]
        );
    }
}
