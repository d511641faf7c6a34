//! Reference predictions for the floor and ceiling rows of a personalization table.
//!
//! Both oracles write the generic part exactly (it follows from the query); they differ in
//! the personal part:
//! - [`oracle_with_history`]: the aspect, adjective and sign-off most frequent in the
//!   user's own history (ties go to the most recent) — what a model that reads the
//!   history perfectly would write;
//! - [`oracle_without_history`]: the most frequent ones over the train split
//!   ([`population_style`]) — the best a model that ignores the history can do.

use std::collections::HashMap;

use super::lexicon::{ADJECTIVES, ASPECTS, SIGNOFFS};
use super::review::{PersonalStyle, generic_part_of_query, parse_review_text, review_text};
use super::world::{ProfileReview, UserRow};

/// The personal style a user's history shows: per field, the most frequent value among
/// the parsable reviews, ties broken by the most recent use. `None` when no review of
/// `profile` parses.
pub fn style_from_history(profile: &[ProfileReview]) -> Option<PersonalStyle> {
    let mut ordered: Vec<&ProfileReview> = profile.iter().collect();
    ordered.sort_by_key(|r| r.timestamp);
    let styles: Vec<PersonalStyle> = ordered
        .iter()
        .filter_map(|r| parse_review_text(&r.text))
        .map(|p| p.style)
        .collect();
    if styles.is_empty() {
        return None;
    }
    Some(PersonalStyle {
        aspect: recent_mode(styles.iter().map(|s| s.aspect.as_str())),
        adjective: recent_mode(styles.iter().map(|s| s.adjective.as_str())),
        signoff: recent_mode(styles.iter().map(|s| s.signoff.as_str())),
    })
}

/// The most frequent aspect, adjective and sign-off over all reviews (profiles and
/// targets) of `rows`; ties go to the word listed first in the lexicon.
pub fn population_style(rows: &[UserRow]) -> PersonalStyle {
    let styles: Vec<PersonalStyle> = rows
        .iter()
        .flat_map(|row| {
            row.profile
                .iter()
                .map(|r| r.text.as_str())
                .chain([row.data.text.as_str()])
        })
        .filter_map(parse_review_text)
        .map(|p| p.style)
        .collect();
    PersonalStyle {
        aspect: lexicon_mode(styles.iter().map(|s| s.aspect.as_str()), &ASPECTS),
        adjective: lexicon_mode(styles.iter().map(|s| s.adjective.as_str()), &ADJECTIVES),
        signoff: lexicon_mode(styles.iter().map(|s| s.signoff.as_str()), &SIGNOFFS),
    }
}

/// The generic part of `row`'s target as the query shows it (empty if the query is
/// malformed).
pub fn query_generic_part(row: &UserRow) -> String {
    generic_part_of_query(row.data.rating, &row.data.title).unwrap_or_default()
}

/// The ceiling: the generic part plus the personal part the history shows most often
/// ([`style_from_history`]). With no parsable history it is the generic part alone.
pub fn oracle_with_history(row: &UserRow) -> String {
    let generic = query_generic_part(row);
    match style_from_history(&row.profile) {
        Some(style) => review_text(&generic, &style),
        None => generic,
    }
}

/// The floor: the generic part plus the train split's most frequent personal part
/// (`PersonalizationWorld::train_style`, or [`population_style`] of the train rows).
pub fn oracle_without_history(row: &UserRow, train_style: &PersonalStyle) -> String {
    review_text(&query_generic_part(row), train_style)
}

/// Most frequent value; ties go to the one used last.
fn recent_mode<'a>(values: impl Iterator<Item = &'a str>) -> String {
    let mut seen: HashMap<&str, (usize, usize)> = HashMap::new();
    for (position, value) in values.enumerate() {
        let entry = seen.entry(value).or_insert((0, 0));
        entry.0 += 1;
        entry.1 = position;
    }
    seen.into_iter()
        .max_by_key(|(_, key)| *key)
        .map(|(value, _)| value.to_owned())
        .unwrap_or_default()
}

/// Most frequent lexicon word (words outside the lexicon are ignored); ties go to the one
/// listed first.
fn lexicon_mode<'a>(values: impl Iterator<Item = &'a str>, lexicon: &[&str]) -> String {
    let mut counts = vec![0usize; lexicon.len()];
    for value in values {
        if let Some(i) = lexicon.iter().position(|w| *w == value) {
            counts[i] += 1;
        }
    }
    let mut best = 0;
    for (i, &count) in counts.iter().enumerate() {
        if count > counts[best] {
            best = i;
        }
    }
    lexicon[best].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::personalization::review::generic_part;
    use crate::personalization::world::TargetReview;

    fn review(aspect: &str, adjective: &str, signoff: &str, timestamp: u64) -> ProfileReview {
        let style = PersonalStyle {
            aspect: aspect.into(),
            adjective: adjective.into(),
            signoff: signoff.into(),
        };
        ProfileReview {
            asin: "B000001".into(),
            rating: 4,
            title: "good mug".into(),
            text: review_text(&generic_part(4, "mug"), &style),
            timestamp,
        }
    }

    fn row(profile: Vec<ProfileReview>) -> UserRow {
        UserRow {
            user_id: "u0001".into(),
            profile,
            data: TargetReview {
                asin: "B000002".into(),
                rating: 2,
                title: "poor lamp".into(),
                text: String::new(),
            },
        }
    }

    #[test]
    fn with_history_takes_the_mode_and_breaks_ties_by_recency() {
        // price ×2 beats size ×1; handy, neat and solid tie at one use each: the newest by
        // timestamp (not by position) wins, handy at t=30.
        let profile = vec![
            review("price", "handy", "peace out", 30),
            review("size", "neat", "peace out", 10),
            review("price", "solid", "happy days", 20),
        ];
        let style = style_from_history(&profile).unwrap();
        assert_eq!(style.aspect, "price");
        assert_eq!(style.adjective, "handy");
        assert_eq!(style.signoff, "peace out");
        assert_eq!(
            oracle_with_history(&row(profile)),
            "poor lamp . the price is handy . peace out ."
        );
        assert_eq!(oracle_with_history(&row(vec![])), "poor lamp .");
    }

    #[test]
    fn population_style_counts_profiles_and_targets() {
        let mut a = row(vec![review("size", "neat", "peace out", 1)]);
        a.data.text = review("size", "handy", "happy days", 2).text;
        let b = row(vec![review("price", "handy", "happy days", 1)]);
        let style = population_style(&[a, b.clone()]);
        // size 2 vs price 1; handy 2 vs neat 1; happy days 2 vs peace out 1.
        assert_eq!(style.aspect, "size");
        assert_eq!(style.adjective, "handy");
        assert_eq!(style.signoff, "happy days");
        assert_eq!(
            oracle_without_history(&b, &style),
            "poor lamp . the size is handy . happy days ."
        );
        // Ties → first in the lexicon (price before size).
        let tie = population_style(&[b, row(vec![review("size", "neat", "peace out", 1)])]);
        assert_eq!(tie.aspect, "price");
    }
}
