//! Review text: a generic part that follows from the query alone (the target item's
//! category, the rating and the review title) and a personal part (aspect, adjective,
//! sign-off) that only a user's history reveals.
//!
//! ```text
//! great kettle . the price is sturdy . peace out .
//! └ generic ───┘ └─────── personal ───────────┘
//! ```

use serde::{Deserialize, Serialize};

use super::lexicon::RATING_WORDS;
use super::text_style::compact_form;

/// The personal choices of one review (or the ones an oracle predicts).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PersonalStyle {
    /// The aspect the review talks about.
    pub aspect: String,
    /// The adjective given to that aspect.
    pub adjective: String,
    /// The closing phrase.
    pub signoff: String,
}

/// A review text taken apart by [`parse_review_text`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewParts {
    /// The generic sentence, ending in ` .`.
    pub generic: String,
    /// The personal choices.
    pub style: PersonalStyle,
}

/// The word for a rating in `1..=5`; `None` outside.
pub fn rating_word(rating: u8) -> Option<&'static str> {
    RATING_WORDS
        .get(usize::from(rating).checked_sub(1)?)
        .copied()
}

/// The review title: `"{rating word} {category}"`.
///
/// # Panics
/// If `rating` is not in `1..=5`.
pub fn review_title(rating: u8, category: &str) -> String {
    format!("{} {category}", expect_rating_word(rating))
}

/// The generic sentence: `"{rating word} {category} ."`.
///
/// # Panics
/// If `rating` is not in `1..=5`.
pub fn generic_part(rating: u8, category: &str) -> String {
    format!("{} {category} .", expect_rating_word(rating))
}

/// The generic sentence from what a prompt shows: the output rating and the output review
/// title (whose last word is the category). `None` when either is malformed.
pub fn generic_part_of_query(rating: u8, review_title: &str) -> Option<String> {
    rating_word(rating)?;
    let category = review_title.split_whitespace().last()?;
    Some(generic_part(rating, category))
}

/// The personal sentences: `"the {aspect} is {adjective} . {signoff} ."`.
pub fn personal_part(style: &PersonalStyle) -> String {
    format!(
        "the {} is {} . {} .",
        style.aspect, style.adjective, style.signoff
    )
}

/// A whole review text: the generic part, a space, the personal part.
pub fn review_text(generic: &str, style: &PersonalStyle) -> String {
    format!("{generic} {}", personal_part(style))
}

/// Splits a text written by [`review_text`] back into its parts, in either
/// [`super::TextStyle`] (it reads the [`compact_form`]); `None` for any other shape (a
/// model's sample, say).
pub fn parse_review_text(text: &str) -> Option<ReviewParts> {
    let compact = compact_form(text);
    let body = compact.strip_suffix(" .")?;
    let mut sentences = body.split(" . ");
    let (generic, personal, signoff) = (sentences.next()?, sentences.next()?, sentences.next()?);
    if sentences.next().is_some() || signoff.is_empty() {
        return None;
    }
    let (aspect, adjective) = personal.strip_prefix("the ")?.split_once(" is ")?;
    let one_word = |w: &str| !w.is_empty() && !w.contains(' ');
    if !(one_word(aspect) && one_word(adjective)) {
        return None;
    }
    Some(ReviewParts {
        generic: format!("{generic} ."),
        style: PersonalStyle {
            aspect: aspect.to_owned(),
            adjective: adjective.to_owned(),
            signoff: signoff.to_owned(),
        },
    })
}

fn expect_rating_word(rating: u8) -> &'static str {
    rating_word(rating).unwrap_or_else(|| panic!("rating {rating} is not in 1..=5"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn style() -> PersonalStyle {
        PersonalStyle {
            aspect: "price".into(),
            adjective: "sturdy".into(),
            signoff: "cheers from ohio".into(),
        }
    }

    #[test]
    fn text_layout_and_round_trip() {
        let generic = generic_part(5, "kettle");
        let text = review_text(&generic, &style());
        assert_eq!(
            text,
            "great kettle . the price is sturdy . cheers from ohio ."
        );
        let parts = parse_review_text(&text).unwrap();
        assert_eq!(parts.generic, generic);
        assert_eq!(parts.style, style());
        assert_eq!(review_title(1, "lamp"), "awful lamp");
        assert_eq!(
            generic_part_of_query(1, "awful lamp").unwrap(),
            "awful lamp ."
        );
    }

    #[test]
    fn malformed_inputs_are_rejected() {
        assert_eq!(rating_word(0), None);
        assert_eq!(rating_word(6), None);
        assert_eq!(rating_word(3), Some("okay"));
        assert!(generic_part_of_query(7, "great lamp").is_none());
        assert!(generic_part_of_query(3, " ").is_none());
        for bad in [
            "",
            "hello",
            "a . b .",
            "x . the price is . s .",
            "x . the big price is neat . s .",
            "x . the price is neat . s . extra .",
        ] {
            assert!(parse_review_text(bad).is_none(), "{bad:?}");
        }
    }
}
