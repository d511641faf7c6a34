//! Integration tests of prefopt-bench (one binary: see the crate README).

mod bad_input;
mod cli;
mod common;
mod judge;
mod leaderboard;
mod server;
mod suites;
mod text_metrics;
