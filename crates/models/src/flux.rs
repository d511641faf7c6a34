//! A FLUX-architecture rectified-flow transformer (diffusers' `FluxTransformer2DModel`), a
//! small text encoder, the flow-matching loss and the Euler / Flow-GRPO SDE samplers.

mod attention;
mod config;
mod double_block;
mod embeddings;
mod flow_matching;
mod init;
mod modulation;
mod packing;
mod pipeline;
mod rope;
mod sampler;
mod single_block;
mod text_encoder;
mod transformer;

pub use attention::QkvProjection;
pub use config::{FLUX_CLASS_NAME, FluxConfig};
pub use double_block::FluxDoubleBlock;
pub use embeddings::{MlpEmbedder, TIMESTEP_PROJ_DIM, TimeTextEmbed, timestep_projection};
pub use flow_matching::{
    FlowMatchingBatch, TimestepSampling, flow_matching_loss, noisy_sample, sample_sigmas,
    seeded_normal, time_shift, velocity_target,
};
pub use init::FluxInit;
pub use modulation::FeedForward;
pub use packing::{image_ids, pack_latents, text_ids, unpack_latents};
pub use pipeline::{
    FluxPipelineModel, MODEL_INDEX_FILE, PIXEL_PIPELINE_CLASS_NAME, PixelImageSpec,
};
pub use rope::FluxRope;
pub use sampler::{
    LogProbReduction, SdeSamplerConfig, SdeTrajectory, SdeTransition, euler_sample,
    flux_resolution_shift, gaussian_log_prob, group_initial_noise, predicted_x0, sde_sample,
    sde_transition, time_shifted_schedule, transition_log_prob,
};
pub use single_block::FluxSingleBlock;
pub use text_encoder::{
    FluxTextEncoder, TEXT_ENCODER_CLASS_NAME, TextConditioning, TextEncoderConfig, TextEncoderLayer,
};
pub use transformer::{DIFFUSERS_WEIGHTS_FILE, DIFFUSERS_WEIGHTS_STEM, FluxTransformer};
