//! Integration tests of prefopt-tasks (one binary, see the design's convention 8).

mod corpus;
mod demo;
mod determinism;
mod personalization;
mod readback;
mod reward;
mod tokenizer;
