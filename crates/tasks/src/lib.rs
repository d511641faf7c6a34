#![doc = include_str!("../README.md")]

mod corpus_files;
mod error;
mod jsonl_writer;
mod labeling;
mod model_config;
mod prepare;
pub mod sentiment;
mod summary_table;
mod tokenizer_training;

pub use corpus_files::{write_prompts_jsonl, write_sft_jsonl};
pub use error::{Result, TaskError};
pub use jsonl_writer::{write_json, write_jsonl};
pub use labeling::{
    PairOptions, PairStrategy, PreferencePair, ScoredPrompt, preference_pairs,
    write_preference_jsonl, write_ranked_jsonl,
};
pub use model_config::TinyLlamaConfig;
pub use prepare::{DemoFiles, DemoSizes, prepare, prepare_with};
pub use sentiment::{
    CorpusMix, CorpusStats, Review, ReviewGrammar, RewardStats, Stance, corpus_stats,
    distinct_prompts, generate_reviews, reward, sentiment_score,
};
pub use summary_table::{SummaryRow, summary_table};
pub use tokenizer_training::{
    BOS_TOKEN, EOS_TOKEN, MIN_VOCAB_SIZE, PAD_TOKEN, SpecialTokenIds, TokenizerTrainingConfig,
    TrainedTokenizer, train_tokenizer,
};
