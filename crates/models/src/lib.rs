#![doc = include_str!("../README.md")]

mod attention;
mod causal_lm;
mod checkpoint;
mod completion_logits;
mod config;
mod decoder_layer;
mod error;
mod generation;
mod kv_cache;
mod llama_model;
mod logprobs;
mod mask;
mod mlp;
mod rope;
mod sampling;
mod scored_positions;
mod sequence_classifier;
mod weights;

pub use attention::LlamaAttention;
pub use causal_lm::CausalLm;
pub use checkpoint::{CONFIG_FILE, SAFETENSORS_FILE, SAFETENSORS_INDEX_FILE, SaveDtype};
pub use completion_logits::CompletionLogits;
pub use config::{LlamaConfig, RopeScaling, SUPPORTED_MODEL_TYPES};
pub use decoder_layer::DecoderLayer;
pub use error::{ModelError, Result};
pub use generation::{GenerationConfig, GenerationOutput};
pub use kv_cache::KvCache;
pub use llama_model::LlamaModel;
pub use logprobs::CompletionLogProbs;
pub use mlp::LlamaMlp;
pub use sampling::{SamplingParams, SplitMix64, select_token};
pub use sequence_classifier::SequenceClassifier;
