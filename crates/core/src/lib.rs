#![doc = include_str!("../README.md")]

pub mod allocator;
pub mod atomic_file;
pub mod chat_client;
mod error;
pub mod invalid_config;
pub mod peak_memory;
pub mod pool;
mod rng;
pub mod text_metrics;

pub use atomic_file::{remove_orphaned_temporaries, replace_dir, sync_dir, write_atomic};
pub use chat_client::{ApiKey, ChatClient, ChatClientConfig, ChatReply};
pub use error::{CoreError, Result};
pub use invalid_config::{InvalidConfig, invalid};
pub use pool::{for_each_bounded, run_ordered};
pub use rng::SplitMix64;
pub use text_metrics::{
    Bleu, CorpusRouge, RougeScore, RougeScores, bleu_tokenize, corpus_bleu, corpus_rouge, rouge,
    rouge_tokenize,
};
