#![doc = include_str!("../README.md")]

mod answer;
mod chart;
pub mod cli;
mod client;
mod dimension;
mod error;
mod images;
mod leaderboard;
mod report;
mod run;
mod score;
mod suite;
mod template;
pub mod text_metrics;
mod theme;
mod verdict;

pub use answer::{AnswerError, ParsedAnswer, parse_answer};
pub use chart::{Bar, bar_chart};
pub use client::{ApiKey, ContentOrder, JudgeClient, JudgeClientConfig, JudgeOutcome};
pub use dimension::{PrimaryDimension, SubDimension};
pub use error::{Error, Result};
pub use images::{ImageEncoding, check_png_header, image_data_uri, image_path, png_bytes_data_uri};
pub use leaderboard::{Comparison, ComparisonLine, Leaderboard, LeaderboardRow, compare};
pub use report::Report;
pub use run::{JudgeRunConfig, RunSummary, default_verdicts_path, judge_suite};
pub use score::{
    Aggregation, Coverage, Fraction, PrimaryScore, ScoreOptions, ScoreReport, SubScore, score,
};
pub use suite::{Language, Prompt, Repair, Suite, SuiteOptions, TestPoint, insert_missing_commas};
pub use template::{JudgeTemplate, Protocol, python_list_repr};
pub use text_metrics::{
    Bleu, CorpusRouge, RougeScore, RougeScores, bleu_tokenize, corpus_bleu, corpus_rouge, rouge,
    rouge_tokenize,
};
pub use theme::{SubTheme, Theme};
pub use verdict::{Verdict, VerdictWriter, Verdicts};
