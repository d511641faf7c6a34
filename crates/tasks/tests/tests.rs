//! Integration tests of prefopt-tasks (one binary, see the design's convention 8).

mod corpus;
mod demo;
mod determinism;
mod personalization;
mod readback;
mod real_model;
mod reward;
mod shapes;
mod shapes_grpo;
mod shapes_suite;
mod tokenizer;
