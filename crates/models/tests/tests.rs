//! Integration tests of prefopt-models against transformers fixtures
//! (`tests/fixtures/generate.py`).

mod cache;
mod checkpoint_io;
mod classifier;
mod fixtures;
mod gguf;
mod gguf_smollm2;
mod logprobs;
mod parity;
