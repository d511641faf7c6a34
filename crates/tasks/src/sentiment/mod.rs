//! The controlled sentiment task: a review grammar, its lexicon, the ground-truth reward
//! and corpora drawn from the grammar.

mod corpus;
mod grammar;
pub mod lexicon;
mod reward;

pub use corpus::{
    CorpusStats, PROMPT_STREAM, RewardStats, SFT_STREAM, corpus_stats, distinct_prompts,
    generate_reviews,
};
pub use grammar::{CorpusMix, Review, ReviewGrammar, Stance};
pub use reward::{
    MAX_MODIFIER, NEGATION_FACTOR, NEGATION_WINDOW, REWARD_TEMPERATURE, reward, sentiment_score,
};
