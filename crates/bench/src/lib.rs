#![doc = include_str!("../README.md")]

mod chart;
mod client;
mod error;
mod images;
pub mod unigenbench;

pub use chart::{Bar, bar_chart};
pub use client::{ContentOrder, JudgeClient, JudgeClientConfig, JudgeOutcome};
pub use error::{Error, Result};
pub use images::{ImageEncoding, check_png_header, image_data_uri, image_path, png_bytes_data_uri};
pub use prefopt_core::{ApiKey, ChatClientConfig};

// UniGenBench, the first benchmark, is also reachable from the top level (its names were here
// before `unigenbench/` existed). A second benchmark is reached through its module only.
pub use unigenbench::{
    Aggregation, AnswerError, Comparison, ComparisonLine, Coverage, Fraction, JudgeCommand,
    JudgeRunConfig, JudgeTemplate, Language, Leaderboard, LeaderboardRow, ParsedAnswer,
    PrimaryDimension, PrimaryScore, Prompt, Protocol, Repair, Report, RunSummary, ScoreCommand,
    ScoreOptions, ScoreOutcome, ScoreReport, SubDimension, SubScore, SubTheme, Suite, SuiteOptions,
    TestPoint, Theme, Verdict, VerdictWriter, Verdicts, compare, default_verdicts_path,
    insert_missing_commas, judge_command, judge_suite, parse_answer, python_list_repr, score,
    score_command,
};
