//! Properties of the ground-truth reward.

use prefopt_tasks::sentiment::lexicon::{MODIFIERS, NEGATIVE, NEGATORS, POSITIVE, word_weight};
use prefopt_tasks::{reward, sentiment_score};
use proptest::prelude::*;

#[test]
fn clearly_positive_beats_clearly_negative() {
    let pos = reward("review: the film was excellent. the acting was truly wonderful.");
    let neg = reward("review: the film was terrible. the acting was really awful.");
    let mixed = reward("review: the film was good, but the ending was dull.");
    assert!(pos > 0.9 && neg < -0.9, "pos {pos} neg {neg}");
    assert!(neg < mixed && mixed < pos);
}

#[test]
fn negation_flips_every_lexicon_word() {
    for (word, weight) in POSITIVE.iter().chain(NEGATIVE) {
        let plain = reward(&format!("the film was {word}."));
        assert_eq!(plain.signum(), weight.signum(), "{word}");
        for negator in NEGATORS {
            let negated = reward(&format!("the film was {negator} {word}."));
            assert_eq!(negated.signum(), -weight.signum(), "{negator} {word}");
            // VADER-style damping: a negated word is weaker than the word itself.
            assert!(negated.abs() < plain.abs(), "{negator} {word}");
        }
    }
}

#[test]
fn intensifiers_strengthen_and_downtoners_weaken() {
    for (word, _) in POSITIVE.iter().chain(NEGATIVE) {
        let plain = sentiment_score(word);
        for (modifier, factor) in MODIFIERS {
            let modified = sentiment_score(&format!("{modifier} {word}"));
            assert!(
                (modified - factor * plain).abs() < 1e-12,
                "{modifier} {word}"
            );
        }
    }
}

/// Lower-case words that are not in the lexicon and do not negate or modify.
fn unknown_word() -> impl Strategy<Value = String> {
    "[a-z]{1,10}".prop_filter("not a lexicon word", |w| {
        word_weight(w) == 0.0
            && !NEGATORS.contains(&w.as_str())
            && !w.ends_with("n't")
            && MODIFIERS.iter().all(|(m, _)| m != w)
    })
}

proptest! {
    #[test]
    fn bounded_and_finite_on_any_text(text in any::<String>()) {
        let r = reward(&text);
        prop_assert!(r.is_finite() && (-1.0..=1.0).contains(&r), "{r}");
        prop_assert!(sentiment_score(&text).is_finite());
    }

    #[test]
    fn bounded_on_lexicon_spam(words in prop::collection::vec(
        prop::sample::select(vec!["very", "extremely", "not", "excellent", "awful", "so", ",", "."]),
        0..400,
    )) {
        let text = words.join(" ");
        let r = reward(&text);
        prop_assert!(r.is_finite() && (-1.0..=1.0).contains(&r), "{r}");
    }

    #[test]
    fn unknown_words_are_neutral(words in prop::collection::vec(unknown_word(), 0..20)) {
        prop_assert_eq!(reward(&words.join(" ")), 0.0);
        // and appending them as a separate sentence does not change a reward
        let base = "the film was very good";
        prop_assert_eq!(reward(&format!("{base}. {}", words.join(" "))), reward(base));
    }
}
