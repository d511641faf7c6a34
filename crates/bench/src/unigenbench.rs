//! [UniGenBench](https://github.com/CodeGoat24/UniGenBench): its prompt suites, themes and
//! evaluation dimensions, the judge template and answer format, the verdict store, the judge
//! run over a whole suite, scoring, the published leaderboard and reports, and the two jobs
//! of `prefopt bench unigenbench` ([`judge_command`], [`score_command`]).
//!
//! The generic parts it builds on (the MLLM judge client, image encoding, bar charts, the
//! error type) live at the crate's top level.

mod answer;
mod command;
mod dimension;
mod leaderboard;
mod report;
mod run;
mod score;
mod suite;
mod template;
mod theme;
mod verdict;

pub use answer::{AnswerError, ParsedAnswer, parse_answer};
pub use command::{JudgeCommand, ScoreCommand, ScoreOutcome, judge_command, score_command};
pub use dimension::{PrimaryDimension, SubDimension};
pub use leaderboard::{Comparison, ComparisonLine, Leaderboard, LeaderboardRow, compare};
pub use report::Report;
pub use run::{JudgeRunConfig, RunSummary, default_verdicts_path, judge_suite};
pub use score::{
    Aggregation, Coverage, Fraction, PrimaryScore, ScoreOptions, ScoreReport, SubScore, score,
};
pub use suite::{
    Language, MAX_SUITE_BYTES, MAX_SUITE_ROW_BYTES, Prompt, Repair, Suite, SuiteOptions, TestPoint,
    insert_missing_commas,
};
pub use template::{JudgeTemplate, Protocol, python_list_repr};
pub use theme::{SubTheme, Theme};
pub use verdict::{MAX_VERDICT_LINE_BYTES, Verdict, VerdictWriter, Verdicts};
