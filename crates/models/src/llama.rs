//! The Llama family: Llama 2/3, Mistral, Qwen2/2.5, SmolLM and TinyLlama, as Hugging Face
//! writes them (`config.json` + `model.*` tensors).
//!
//! Everything here is specific to this decoder: its config, its rotate-half RoPE, grouped-query
//! attention, the SwiGLU MLP, the pre-norm layer and the trunk ([`LlamaModel`]). The heads that
//! sit on the trunk ([`crate::CausalLm`], [`crate::SequenceClassifier`]) and what runs on them
//! (KV cache, sampling, generation, log-probs, weights I/O) live at the crate's top level.

mod attention;
mod config;
mod decoder_layer;
mod mlp;
mod model;
mod rope;

pub use attention::LlamaAttention;
pub use config::{LlamaConfig, RopeScaling, SUPPORTED_MODEL_TYPES};
pub use decoder_layer::DecoderLayer;
pub use mlp::LlamaMlp;
pub use model::LlamaModel;
