//! [`slot_accuracy`]: how often generated reviews get each slot of the target right — the
//! generic sentence (from the query) and the aspect, adjective and sign-off (from the
//! history) — so a ROUGE difference can be traced to the part of the text that made it.

use serde::{Deserialize, Serialize};

use super::lexicon::{ADJECTIVES, ASPECTS, SIGNOFFS};
use super::review::{ReviewParts, parse_review_text};
use super::text_style::{TextStyle, compact_form};

/// Fractions of examples whose prediction matches the target in each slot.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct SlotAccuracy {
    /// The generic sentence (rating word and category).
    pub generic: f64,
    /// The aspect.
    pub aspect: f64,
    /// The adjective.
    pub adjective: f64,
    /// The sign-off.
    pub signoff: f64,
    /// Predictions that do not have the review layout (wrong in every slot).
    pub malformed: usize,
    /// Examples scored.
    pub examples: usize,
}

/// Slot-by-slot agreement of `predictions` with `targets` (paired by index; extra entries of
/// the longer list are ignored). A target that does not parse is skipped; a prediction that
/// does not parse counts as wrong in every slot and as `malformed`.
pub fn slot_accuracy<P: AsRef<str>, T: AsRef<str>>(
    predictions: &[P],
    targets: &[T],
) -> SlotAccuracy {
    score_slots(predictions, targets, |prediction, target| {
        let prediction = parse_review_text(prediction)?;
        Some([
            prediction.generic == target.generic,
            prediction.style.aspect == target.style.aspect,
            prediction.style.adjective == target.style.adjective,
            prediction.style.signoff == target.style.signoff,
        ])
    })
}

/// The slot accuracy that fits texts of `style`: by the review layout
/// ([`slot_accuracy`]) for the compact form, by mentions ([`slot_accuracy_by_mentions`]) for
/// natural text, which a pretrained model writes freely.
pub fn slot_accuracy_for<P: AsRef<str>, T: AsRef<str>>(
    style: TextStyle,
    predictions: &[P],
    targets: &[T],
) -> SlotAccuracy {
    match style {
        TextStyle::Compact => slot_accuracy(predictions, targets),
        TextStyle::Natural => slot_accuracy_by_mentions(predictions, targets),
    }
}

/// Slot agreement by what a prediction *mentions*, for free text (a pretrained model's
/// review need not keep the layout to show that it read the history): the generic slot is
/// right when the prediction's first sentence is the target's generic sentence; the aspect
/// and the adjective when the prediction names the target's word and no other word of that
/// list; the sign-off when it contains the target's phrase and no other sign-off. Case and
/// punctuation are ignored ([`compact_form`]). A target that does not parse is skipped;
/// `malformed` counts the predictions without the review layout, scored all the same.
pub fn slot_accuracy_by_mentions<P: AsRef<str>, T: AsRef<str>>(
    predictions: &[P],
    targets: &[T],
) -> SlotAccuracy {
    let mut accuracy = score_slots(predictions, targets, |prediction, target| {
        let compact = compact_form(prediction);
        let words: Vec<&str> = compact.split_whitespace().collect();
        let only = |list: &[&str], wanted: &str| {
            let named: Vec<&&str> = list.iter().filter(|w| words.contains(w)).collect();
            named.len() == 1 && *named[0] == wanted
        };
        let padded = format!(" {compact} ");
        let signoffs: Vec<&&str> = SIGNOFFS
            .iter()
            .filter(|s| padded.contains(&format!(" {s} ")))
            .collect();
        let first_sentence = compact.split(" . ").next().unwrap_or_default();
        let first_sentence = first_sentence.strip_suffix(" .").unwrap_or(first_sentence);
        Some([
            format!("{first_sentence} .") == target.generic,
            only(&ASPECTS, &target.style.aspect),
            only(&ADJECTIVES, &target.style.adjective),
            signoffs.len() == 1 && *signoffs[0] == target.style.signoff,
        ])
    });
    accuracy.malformed = predictions
        .iter()
        .zip(targets)
        .filter(|(p, t)| {
            parse_review_text(t.as_ref()).is_some() && parse_review_text(p.as_ref()).is_none()
        })
        .count();
    accuracy
}

/// Pairs predictions with parsable targets and averages `hits` (`None`: malformed, wrong
/// in every slot).
fn score_slots<P: AsRef<str>, T: AsRef<str>>(
    predictions: &[P],
    targets: &[T],
    hits_of: impl Fn(&str, &ReviewParts) -> Option<[bool; 4]>,
) -> SlotAccuracy {
    let mut hits = [0usize; 4];
    let (mut malformed, mut examples) = (0, 0);
    for (prediction, target) in predictions.iter().zip(targets) {
        let Some(target) = parse_review_text(target.as_ref()) else {
            continue;
        };
        examples += 1;
        let Some(same) = hits_of(prediction.as_ref(), &target) else {
            malformed += 1;
            continue;
        };
        for (hit, same) in hits.iter_mut().zip(same) {
            *hit += usize::from(same);
        }
    }
    let rate = |hit: usize| {
        if examples == 0 {
            f64::NAN
        } else {
            hit as f64 / examples as f64
        }
    };
    SlotAccuracy {
        generic: rate(hits[0]),
        aspect: rate(hits[1]),
        adjective: rate(hits[2]),
        signoff: rate(hits[3]),
        malformed,
        examples,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_slot_and_malformed_predictions() {
        let targets = [
            "great kettle . the price is sturdy . cheers from ohio .",
            "awful lamp . the size is neat . peace out .",
            "okay mug . the design is handy . happy days .",
            "not a review",
        ];
        let predictions = [
            "great kettle . the price is solid . cheers from ohio .",
            "awful lamp . the weight is neat . my two cents .",
            "okay mug . the design",
            "great kettle . the price is sturdy . cheers from ohio .",
        ];
        let acc = slot_accuracy(&predictions, &targets);
        assert_eq!((acc.examples, acc.malformed), (3, 1));
        assert!((acc.generic - 2.0 / 3.0).abs() < 1e-12);
        assert!((acc.aspect - 1.0 / 3.0).abs() < 1e-12);
        assert!((acc.adjective - 1.0 / 3.0).abs() < 1e-12);
        assert!((acc.signoff - 1.0 / 3.0).abs() < 1e-12);
        assert!(slot_accuracy::<&str, &str>(&[], &[]).aspect.is_nan());
    }

    #[test]
    fn mentions_score_free_text_and_natural_case() {
        let targets = [
            "Great kettle. The price is sturdy. Cheers from ohio.",
            "Awful lamp. The size is neat. Peace out.",
            "Okay mug. The design is handy. Happy days.",
        ];
        let predictions = [
            // Free text: every slot mentioned once, the layout broken.
            "Great kettle! I think the price is sturdy, honestly. Cheers from Ohio!",
            // Two aspects named: the aspect slot is wrong; the adjective is another one.
            "Awful lamp. The size and the weight are solid. Peace out.",
            // The layout kept, two sign-offs: that slot is wrong.
            "Okay mug. The design is handy. Happy days. Peace out.",
        ];
        let acc = slot_accuracy_by_mentions(&predictions, &targets);
        assert_eq!((acc.examples, acc.malformed), (3, 3));
        assert!((acc.generic - 1.0).abs() < 1e-12, "{acc:?}");
        assert!((acc.aspect - 2.0 / 3.0).abs() < 1e-12, "{acc:?}");
        assert!((acc.adjective - 2.0 / 3.0).abs() < 1e-12, "{acc:?}");
        assert!((acc.signoff - 2.0 / 3.0).abs() < 1e-12, "{acc:?}");
        // The layout-based score reads the natural style too, and rejects the free text.
        let strict = slot_accuracy(&targets, &targets);
        assert_eq!((strict.malformed, strict.aspect), (0, 1.0));
        assert_eq!(slot_accuracy(&predictions, &targets).malformed, 3);
    }
}
