//! The controlled personalization task: users with latent preferences (a focus aspect, two
//! favourite adjectives, a sign-off) that show in their past reviews and in the review to
//! generate, in the Amazon layout that NextQuill reads (`user_id`, `profile`, `data` +
//! item metadata). The generic half of a target follows from the query alone; the personal
//! half only from the history — so a model with history can beat one without, by a margin
//! the oracles bound.

mod config;
mod files;
pub mod lexicon;
mod oracle;
mod review;
mod slot_accuracy;
mod text_style;
mod world;

pub use config::PersonalizationTaskConfig;
pub use files::{
    PersonalizationFiles, PersonalizationStats, render_prompt, write_personalization_task,
};
pub use oracle::{
    oracle_with_history, oracle_without_history, population_style, query_generic_part,
    style_from_history,
};
pub use review::{
    PersonalStyle, ReviewParts, generic_part, generic_part_of_query, parse_review_text,
    personal_part, rating_word, review_text, review_title,
};
pub use slot_accuracy::{
    SlotAccuracy, slot_accuracy, slot_accuracy_by_mentions, slot_accuracy_for,
};
pub use text_style::{TextStyle, compact_form};
pub use world::{
    ITEM_STREAM, Item, PersonalizationWorld, ProfileReview, Split, TargetReview, USER_STREAM_BASE,
    UserPreferences, UserRow, generate_world,
};
