#![doc = include_str!("../README.md")]

mod batched_generation;
mod causal_lm;
mod checkpoint;
mod completion_logits;
mod error;
mod generation;
mod gguf;
mod kv_cache;
mod llama;
mod logprobs;
mod mask;
mod sampling;
mod scored_positions;
mod sequence_classifier;
mod weights;

pub use batched_generation::{BatchSeeds, BatchedGenerationConfig};
pub use causal_lm::CausalLm;
pub use checkpoint::{CONFIG_FILE, SAFETENSORS_FILE, SAFETENSORS_INDEX_FILE, SaveDtype};
pub use completion_logits::CompletionLogits;
pub use error::{ModelError, Result};
pub use generation::{GenerationConfig, GenerationOutput};
pub use gguf::{SUPPORTED_GGUF_ARCHITECTURES, llama_config_from_gguf, unpermute_rows};
pub use kv_cache::KvCache;
pub use llama::{
    DecoderLayer, LlamaAttention, LlamaConfig, LlamaMlp, LlamaModel, RopeScaling,
    SUPPORTED_MODEL_TYPES,
};
pub use logprobs::CompletionLogProbs;
pub use sampling::{SamplingParams, select_token};
pub use sequence_classifier::SequenceClassifier;
