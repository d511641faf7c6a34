//! Integration tests of prefopt-bench (one binary: see the crate README).

mod bad_input;
mod commands;
mod common;
mod judge;
mod leaderboard;
mod limits;
mod suites;
