//! Integration tests of prefopt-models against transformers fixtures
//! (`tests/fixtures/generate.py`).

mod cache;
mod checkpoint_io;
mod classifier;
mod fixtures;
mod flux_parity;
mod flux_pipeline;
mod flux_sampler;
mod fused_ops;
mod gguf;
mod gguf_smollm2;
mod logprobs;
mod lora;
mod parity;
mod quantized;
