//! The world: items, users with latent preferences, their histories and target reviews,
//! split by user into train / eval / test.

use serde::{Deserialize, Serialize};

use prefopt_core::SplitMix64;

use super::config::PersonalizationTaskConfig;
use super::lexicon::{
    ADJECTIVES, ASPECTS, BRANDS, CATEGORIES, COLOURS, FILLERS, ITEMS_PER_CATEGORY, MATERIALS,
    SIGNOFFS,
};
use super::oracle::population_style;
use super::review::{PersonalStyle, generic_part, review_text, review_title};
use super::text_style::TextStyle;

/// Sub-stream of the seed that draws the items; user `k` (0-based over all splits) draws
/// from sub-stream `USER_STREAM_BASE + k`, so a user does not change when split sizes do.
pub const ITEM_STREAM: u64 = 0;
/// See [`ITEM_STREAM`].
pub const USER_STREAM_BASE: u64 = 1;

/// Rating weights for 1..=5 stars (out of 10; skewed to high ratings, as on Amazon).
const RATING_WEIGHTS: [u64; 5] = [1, 1, 2, 3, 3];
/// First timestamp and the spread of the first review's time (seconds).
const FIRST_TIMESTAMP: u64 = 1_600_000_000;
const DAY: u64 = 86_400;

/// A product: one row of `meta.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// `"B000001"`, …
    pub asin: String,
    /// `"{brand} {category}"`.
    pub title: String,
    /// `"{colour} {material} ."`.
    pub description: String,
}

impl Item {
    /// The category: the title's last word.
    pub fn category(&self) -> &str {
        self.title.split_whitespace().last().unwrap_or_default()
    }
}

/// A user's latent preferences (`users.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPreferences {
    /// `"u0001"`, …
    pub user_id: String,
    /// The focus aspect.
    pub aspect: String,
    /// The two favourite adjectives (distinct).
    pub adjectives: [String; 2],
    /// The sign-off phrase.
    pub signoff: String,
}

/// A past review (an entry of `profile`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileReview {
    /// The item reviewed.
    pub asin: String,
    /// Stars, 1..=5.
    pub rating: u8,
    /// Review title.
    pub title: String,
    /// Review text.
    pub text: String,
    /// Seconds; strictly increasing along a profile, all before the target's time.
    pub timestamp: u64,
}

/// The review to generate (`data`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetReview {
    /// The item reviewed (not in the profile).
    pub asin: String,
    /// Stars, 1..=5 (shown in the prompt).
    pub rating: u8,
    /// Review title (shown in the prompt).
    pub title: String,
    /// Review text: the output.
    pub text: String,
}

/// One user's sample in the Amazon layout of NextQuill / DPL: one JSONL row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    /// `"u0001"`, …
    pub user_id: String,
    /// Past reviews, oldest first.
    pub profile: Vec<ProfileReview>,
    /// The target review.
    pub data: TargetReview,
}

/// Which file a user is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// `train.jsonl`.
    Train,
    /// `eval.jsonl`.
    Eval,
    /// `test.jsonl`.
    Test,
}

impl Split {
    /// The three splits in file order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Eval, Split::Test];

    /// `"train"`, `"eval"`, `"test"`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Eval => "eval",
            Split::Test => "test",
        }
    }
}

/// The whole task in memory (the same content as the files).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonalizationWorld {
    /// Every item (`meta.jsonl`), by asin.
    pub items: Vec<Item>,
    /// Train users' rows.
    pub train: Vec<UserRow>,
    /// Eval users' rows.
    pub eval: Vec<UserRow>,
    /// Test users' rows.
    pub test: Vec<UserRow>,
    /// Rows of the pretraining population (`pretrain.jsonl`; empty unless
    /// `pretrain_users > 0`): other users of the same world, for a base model that learns to
    /// read histories before it meets the train users.
    pub pretrain: Vec<UserRow>,
    /// Latent preferences of every user: train, eval, test, then pretraining users.
    pub users: Vec<UserPreferences>,
    /// The most frequent aspect, adjective and sign-off over the train split's reviews
    /// (profiles and targets): what [`super::oracle_without_history`] writes.
    pub train_style: PersonalStyle,
}

impl PersonalizationWorld {
    /// The rows of `split`.
    pub fn split(&self, split: Split) -> &[UserRow] {
        match split {
            Split::Train => &self.train,
            Split::Eval => &self.eval,
            Split::Test => &self.test,
        }
    }

    /// The item with `asin`.
    pub fn item(&self, asin: &str) -> Option<&Item> {
        self.items.iter().find(|item| item.asin == asin)
    }

    /// The latent preferences of `user_id`.
    pub fn preferences(&self, user_id: &str) -> Option<&UserPreferences> {
        self.users.iter().find(|u| u.user_id == user_id)
    }
}

/// The world of `config` (deterministic in `config.seed`).
///
/// # Panics
/// If `config.validate()` fails ([`super::write_personalization_task`] returns that error
/// instead).
pub fn generate_world(config: &PersonalizationTaskConfig) -> PersonalizationWorld {
    if let Err(e) = config.validate() {
        panic!("invalid personalization config: {e}");
    }
    let mut items = generate_items(config.seed);
    let mut rows = Vec::with_capacity(config.total_users());
    let mut users = Vec::with_capacity(config.total_users());
    for k in 0..config.total_users() + config.pretrain_users {
        let mut rng = SplitMix64::for_stream(config.seed, USER_STREAM_BASE + k as u64);
        let prefs = draw_preferences(format!("u{:04}", k + 1), &mut rng);
        rows.push(draw_row(config, &items, &prefs, &mut rng));
        users.push(prefs);
    }
    if config.text != TextStyle::Compact {
        restyle(config.text, &mut items, &mut rows);
    }
    let pretrain = rows.split_off(config.total_users());
    let test = rows.split_off(config.train_users + config.eval_users);
    let eval = rows.split_off(config.train_users);
    let train = rows;
    let train_style = population_style(&train);
    PersonalizationWorld {
        items,
        train,
        eval,
        test,
        pretrain,
        users,
        train_style,
    }
}

/// Rewrites every title, description and review text of `items` and `rows` in `style`
/// (after all random draws, so the users and their choices do not depend on the style).
fn restyle(style: TextStyle, items: &mut [Item], rows: &mut [UserRow]) {
    for item in items {
        item.title = style.render(&item.title);
        item.description = style.render(&item.description);
    }
    for row in rows {
        for review in &mut row.profile {
            review.title = style.render(&review.title);
            review.text = style.render(&review.text);
        }
        row.data.title = style.render(&row.data.title);
        row.data.text = style.render(&row.data.text);
    }
}

fn generate_items(seed: u64) -> Vec<Item> {
    let mut rng = SplitMix64::for_stream(seed, ITEM_STREAM);
    let mut items = Vec::with_capacity(CATEGORIES.len() * ITEMS_PER_CATEGORY);
    for category in CATEGORIES {
        let mut brands = BRANDS;
        rng.shuffle(&mut brands);
        for brand in &brands[..ITEMS_PER_CATEGORY] {
            let colour = pick(&mut rng, &COLOURS);
            let material = pick(&mut rng, &MATERIALS);
            items.push(Item {
                asin: format!("B{:06}", items.len() + 1),
                title: format!("{brand} {category}"),
                description: format!("{colour} {material} ."),
            });
        }
    }
    items
}

fn draw_preferences(user_id: String, rng: &mut SplitMix64) -> UserPreferences {
    let aspect = pick(rng, &ASPECTS).to_owned();
    let first = rng.below(ADJECTIVES.len() as u64) as usize;
    let second = (first + 1 + rng.below(ADJECTIVES.len() as u64 - 1) as usize) % ADJECTIVES.len();
    UserPreferences {
        user_id,
        aspect,
        adjectives: [ADJECTIVES[first].to_owned(), ADJECTIVES[second].to_owned()],
        signoff: pick(rng, &SIGNOFFS).to_owned(),
    }
}

fn draw_row(
    config: &PersonalizationTaskConfig,
    items: &[Item],
    prefs: &UserPreferences,
    rng: &mut SplitMix64,
) -> UserRow {
    let span = (config.max_history - config.min_history) as u64 + 1;
    let history = config.min_history + rng.below(span) as usize;
    // Distinct items: a partial Fisher–Yates shuffle of the indices.
    let mut order: Vec<usize> = (0..items.len()).collect();
    for i in 0..=history {
        let j = i + rng.below((items.len() - i) as u64) as usize;
        order.swap(i, j);
    }
    let mut timestamp = FIRST_TIMESTAMP + rng.below(365 * DAY);
    let mut reviews = Vec::with_capacity(history + 1);
    for &index in &order[..=history] {
        let item = &items[index];
        let rating = draw_rating(rng);
        let style = draw_style(config, prefs, rng);
        let mut generic = generic_part(rating, item.category());
        if config.filler_words > 0 {
            let words: Vec<&str> = (0..config.filler_words)
                .map(|_| FILLERS[rng.below(FILLERS.len() as u64) as usize])
                .collect();
            let stem = generic.strip_suffix(" .").unwrap_or(&generic).to_string();
            generic = format!("{stem} {} .", words.join(" "));
        }
        reviews.push(ProfileReview {
            asin: item.asin.clone(),
            rating,
            title: review_title(rating, item.category()),
            text: review_text(&generic, &style),
            timestamp,
        });
        timestamp += DAY * (1 + rng.below(60)) + rng.below(DAY);
    }
    let target = reviews.pop().expect("history + 1 reviews");
    UserRow {
        user_id: prefs.user_id.clone(),
        profile: reviews,
        data: TargetReview {
            asin: target.asin,
            rating: target.rating,
            title: target.title,
            text: target.text,
        },
    }
}

fn draw_rating(rng: &mut SplitMix64) -> u8 {
    let total: u64 = RATING_WEIGHTS.iter().sum();
    let mut draw = rng.below(total);
    for (stars, weight) in (1u8..).zip(RATING_WEIGHTS) {
        if draw < weight {
            return stars;
        }
        draw -= weight;
    }
    unreachable!("draw < total")
}

fn draw_style(
    config: &PersonalizationTaskConfig,
    prefs: &UserPreferences,
    rng: &mut SplitMix64,
) -> PersonalStyle {
    let aspect = if uniform(rng) < config.aspect_consistency {
        prefs.aspect.clone()
    } else {
        pick_other(rng, &ASPECTS, &[prefs.aspect.as_str()])
    };
    let adjective = if uniform(rng) < config.adjective_consistency {
        prefs.adjectives[rng.below(2) as usize].clone()
    } else {
        let own = [prefs.adjectives[0].as_str(), prefs.adjectives[1].as_str()];
        pick_other(rng, &ADJECTIVES, &own)
    };
    PersonalStyle {
        aspect,
        adjective,
        signoff: prefs.signoff.clone(),
    }
}

fn pick<'a>(rng: &mut SplitMix64, words: &[&'a str]) -> &'a str {
    words[rng.below(words.len() as u64) as usize]
}

fn pick_other(rng: &mut SplitMix64, words: &[&str], excluded: &[&str]) -> String {
    let others: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| !excluded.contains(w))
        .collect();
    pick(rng, &others).to_owned()
}

/// A uniform number in `[0, 1)` with 53 random bits.
fn uniform(rng: &mut SplitMix64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_distinct_and_balanced() {
        let items = generate_items(5);
        assert_eq!(items.len(), 48);
        let titles: std::collections::BTreeSet<&str> =
            items.iter().map(|i| i.title.as_str()).collect();
        assert_eq!(titles.len(), 48);
        for category in CATEGORIES {
            assert_eq!(items.iter().filter(|i| i.category() == category).count(), 4);
        }
        assert_eq!(items[0].asin, "B000001");
        assert_eq!(items[47].asin, "B000048");
        assert!(items[0].description.ends_with(" ."));
    }

    #[test]
    fn ratings_follow_the_weights() {
        let mut rng = SplitMix64::new(11);
        let mut counts = [0usize; 5];
        let n = 20_000;
        for _ in 0..n {
            counts[usize::from(draw_rating(&mut rng)) - 1] += 1;
        }
        for (count, weight) in counts.iter().zip(RATING_WEIGHTS) {
            let expected = n as f64 * weight as f64 / 10.0;
            // 5 binomial standard deviations at most (sd ≤ 65 here).
            assert!((*count as f64 - expected).abs() < 330.0, "{counts:?}");
        }
    }

    #[test]
    fn natural_text_is_the_same_world_in_sentences() {
        let compact = PersonalizationTaskConfig::smoke();
        let natural = PersonalizationTaskConfig {
            text: TextStyle::Natural,
            ..compact
        };
        let (a, b) = (generate_world(&compact), generate_world(&natural));
        assert_eq!(a.users, b.users);
        assert_eq!(a.train_style, b.train_style);
        assert_eq!(
            b.items[0].title,
            TextStyle::Natural.render(&a.items[0].title)
        );
        let (ra, rb) = (&a.test[0], &b.test[0]);
        assert_eq!(rb.data.text, TextStyle::Natural.render(&ra.data.text));
        assert!(
            rb.data.text.starts_with(char::is_uppercase),
            "{}",
            rb.data.text
        );
        assert_eq!(rb.profile.len(), ra.profile.len());
        assert_eq!(
            rb.profile[0].title,
            TextStyle::Natural.render(&ra.profile[0].title)
        );
        assert_eq!(
            super::super::parse_review_text(&rb.data.text),
            super::super::parse_review_text(&ra.data.text)
        );
    }

    #[test]
    fn adjectives_of_a_user_are_distinct() {
        let mut rng = SplitMix64::new(2);
        for _ in 0..500 {
            let prefs = draw_preferences("u".into(), &mut rng);
            assert_ne!(prefs.adjectives[0], prefs.adjectives[1]);
        }
    }
}
