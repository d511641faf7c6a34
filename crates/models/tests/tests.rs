//! Integration tests of prefopt-models against transformers fixtures
//! (`tests/fixtures/generate.py`).

mod cache;
mod checkpoint_io;
mod classifier;
mod fixtures;
mod logprobs;
mod parity;
