#![doc = include_str!("../README.md")]

mod base_linear;
mod batched_generation;
mod causal_lm;
mod checkpoint;
mod completion_logits;
mod error;
mod flux;
mod folded_rows;
pub mod fused;
mod generation;
mod gguf;
mod kv_cache;
mod llama;
mod load_options;
mod logprobs;
mod lora;
mod mask;
mod on_pool;
pub mod quantized;
mod sampling;
mod scored_positions;
mod sequence_classifier;
mod token_embedding;
mod weights;

pub use base_linear::BaseLinear;
pub use batched_generation::{BatchSeeds, BatchedGenerationConfig};
pub use causal_lm::CausalLm;
pub use checkpoint::{CONFIG_FILE, SAFETENSORS_FILE, SAFETENSORS_INDEX_FILE, SaveDtype};
pub use completion_logits::CompletionLogits;
pub use error::{ModelError, Result};
pub use flux::{
    DIFFUSERS_WEIGHTS_FILE, DIFFUSERS_WEIGHTS_STEM, FLUX_CLASS_NAME, FeedForward,
    FlowMatchingBatch, FluxConfig, FluxDoubleBlock, FluxInit, FluxPipelineModel, FluxRope,
    FluxSingleBlock, FluxTextEncoder, FluxTransformer, LogProbReduction, MODEL_INDEX_FILE,
    MlpEmbedder, PIXEL_PIPELINE_CLASS_NAME, PixelImageSpec, QkvProjection, SdeSamplerConfig,
    SdeTrajectory, SdeTransition, TEXT_ENCODER_CLASS_NAME, TIMESTEP_PROJ_DIM, TextConditioning,
    TextEncoderConfig, TextEncoderLayer, TimeTextEmbed, TimestepSampling, euler_sample,
    flow_matching_loss, flux_resolution_shift, gaussian_log_prob, group_initial_noise, image_ids,
    noisy_sample, pack_latents, predicted_x0, sample_sigmas, sde_sample, sde_transition,
    seeded_normal, text_ids, time_shift, time_shifted_schedule, timestep_projection,
    transition_log_prob, unpack_latents, velocity_target,
};
pub use generation::{GenerationConfig, GenerationOutput};
pub use gguf::{SUPPORTED_GGUF_ARCHITECTURES, llama_config_from_gguf, unpermute_rows};
pub use kv_cache::KvCache;
pub use llama::{
    DecoderLayer, LlamaAttention, LlamaConfig, LlamaMlp, LlamaModel, RopeScaling,
    SUPPORTED_MODEL_TYPES,
};
pub use load_options::LoadOptions;
pub use logprobs::CompletionLogProbs;
pub use lora::{
    ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, LORA_TARGET_MODULES, LoraAdapter, LoraConfig,
    PEFT_KEY_PREFIX,
};
pub use on_pool::on_pool;
pub use sampling::{SamplingParams, select_token};
pub use sequence_classifier::SequenceClassifier;
pub use token_embedding::TokenEmbedding;
