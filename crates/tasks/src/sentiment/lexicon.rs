//! The sentiment lexicon: which words carry sentiment, how much, and which words modify
//! or negate them. The grammar draws from these lists and the ground-truth reward reads
//! them, so what the corpus says and what the reward measures cannot drift apart.
//!
//! Weights are on a VADER-like scale (Hutto & Gilbert 2014): ±1 mild, ±2 clear, ±3 strong.

/// Positive words and their weights (> 0).
pub const POSITIVE: &[(&str, f64)] = &[
    ("fine", 1.0),
    ("decent", 1.0),
    ("pleasant", 1.5),
    ("nice", 1.5),
    ("solid", 1.5),
    ("fun", 1.5),
    ("good", 2.0),
    ("enjoyable", 2.0),
    ("charming", 2.0),
    ("clever", 2.0),
    ("reliable", 2.0),
    ("great", 2.5),
    ("beautiful", 2.5),
    ("excellent", 3.0),
    ("wonderful", 3.0),
    ("brilliant", 3.0),
    ("superb", 3.0),
    ("delightful", 3.0),
    ("perfect", 3.0),
    ("stunning", 3.0),
];

/// Negative words and their weights (< 0), mirroring [`POSITIVE`] in strength.
pub const NEGATIVE: &[(&str, f64)] = &[
    ("slow", -1.0),
    ("cheap", -1.0),
    ("bland", -1.5),
    ("dull", -1.5),
    ("weak", -1.5),
    ("clumsy", -1.5),
    ("bad", -2.0),
    ("boring", -2.0),
    ("poor", -2.0),
    ("annoying", -2.0),
    ("disappointing", -2.0),
    ("flimsy", -2.5),
    ("ugly", -2.5),
    ("terrible", -3.0),
    ("awful", -3.0),
    ("horrible", -3.0),
    ("dreadful", -3.0),
    ("useless", -3.0),
    ("broken", -3.0),
    ("unbearable", -3.0),
];

/// Intensifiers (factor > 1) and downtoners (factor < 1): they scale the next
/// sentiment word when they stand right before it (or before another modifier).
pub const MODIFIERS: &[(&str, f64)] = &[
    ("very", 1.5),
    ("really", 1.3),
    ("truly", 1.3),
    ("so", 1.3),
    ("extremely", 1.8),
    ("incredibly", 1.8),
    ("slightly", 0.5),
    ("somewhat", 0.6),
    ("fairly", 0.7),
    ("rather", 0.8),
];

/// Words that negate the next sentiment word of their clause.
pub const NEGATORS: &[&str] = &[
    "not", "never", "no", "hardly", "isn't", "wasn't", "aren't", "weren't", "don't", "didn't",
    "doesn't", "cannot", "can't", "nothing",
];

/// Words that close a clause (as punctuation does): negation does not cross them.
pub const CLAUSE_BREAKS: &[&str] = &["but", "although", "though", "yet", "while"];

/// Neutral descriptions the grammar uses; none of their words is in the lexicon.
pub const NEUTRAL_PHRASES: &[&str] = &[
    "long",
    "short",
    "quiet",
    "loud",
    "new",
    "heavy",
    "light",
    "simple",
    "familiar",
    "about two hours long",
    "in black and white",
    "from a small studio",
    "similar to the book",
    "what i expected",
    "like the trailer",
    "about a family in a small town",
    "made for a wide audience",
    "the same as last year",
    "shown in two parts",
    "a standard size",
];

/// Weight of a sentiment word (0 when it carries none).
pub fn word_weight(word: &str) -> f64 {
    POSITIVE
        .iter()
        .chain(NEGATIVE)
        .find(|(w, _)| *w == word)
        .map_or(0.0, |&(_, weight)| weight)
}

/// Factor of a modifier word, if it is one.
pub fn modifier_factor(word: &str) -> Option<f64> {
    MODIFIERS
        .iter()
        .find(|(w, _)| *w == word)
        .map(|&(_, factor)| factor)
}

/// Whether `word` negates.
pub fn is_negator(word: &str) -> bool {
    NEGATORS.contains(&word)
}

/// Whether `word` closes a clause.
pub fn is_clause_break(word: &str) -> bool {
    CLAUSE_BREAKS.contains(&word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_disjoint_and_signed() {
        for (w, x) in POSITIVE {
            assert!(*x > 0.0, "{w}");
            assert!(modifier_factor(w).is_none() && !is_negator(w) && !is_clause_break(w));
        }
        for (w, x) in NEGATIVE {
            assert!(*x < 0.0, "{w}");
            assert!(POSITIVE.iter().all(|(p, _)| p != w), "{w} in both lists");
            assert!(modifier_factor(w).is_none() && !is_negator(w) && !is_clause_break(w));
        }
        for (w, f) in MODIFIERS {
            assert!(*f > 0.0 && word_weight(w) == 0.0 && !is_negator(w), "{w}");
        }
    }

    #[test]
    fn neutral_phrases_carry_no_lexicon_word() {
        for phrase in NEUTRAL_PHRASES {
            for word in phrase.split(' ') {
                assert_eq!(word_weight(word), 0.0, "{phrase}");
                assert!(modifier_factor(word).is_none(), "{phrase}");
                assert!(!is_negator(word) && !is_clause_break(word), "{phrase}");
            }
        }
    }

    #[test]
    fn polarity_is_balanced() {
        // Equal total strength on both sides keeps a symmetric corpus mix near neutral.
        let pos: f64 = POSITIVE.iter().map(|(_, x)| x).sum();
        let neg: f64 = NEGATIVE.iter().map(|(_, x)| x).sum();
        assert_eq!(POSITIVE.len(), NEGATIVE.len());
        assert!((pos + neg).abs() < 1e-9, "pos {pos} neg {neg}");
    }
}
