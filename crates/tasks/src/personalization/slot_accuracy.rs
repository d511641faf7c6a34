//! [`slot_accuracy`]: how often generated reviews get each slot of the target right — the
//! generic sentence (from the query) and the aspect, adjective and sign-off (from the
//! history) — so a ROUGE difference can be traced to the part of the text that made it.

use serde::{Deserialize, Serialize};

use super::review::parse_review_text;

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
    let mut hits = [0usize; 4];
    let (mut malformed, mut examples) = (0, 0);
    for (prediction, target) in predictions.iter().zip(targets) {
        let Some(target) = parse_review_text(target.as_ref()) else {
            continue;
        };
        examples += 1;
        let Some(prediction) = parse_review_text(prediction.as_ref()) else {
            malformed += 1;
            continue;
        };
        let same = [
            prediction.generic == target.generic,
            prediction.style.aspect == target.style.aspect,
            prediction.style.adjective == target.style.adjective,
            prediction.style.signoff == target.style.signoff,
        ];
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
}
