//! Flow-GRPO / Pref-GRPO for a pixel-space text-to-image pipeline
//! ([`prefopt_models::FluxPipelineModel`]), generic over the image type the rewards see.
//!
//! One step: `prompts_per_step` prompts (a seeded order, a pure function of `(seed, step)`),
//! G images each from the same initial noise with the SDE sampler (old policy, no grad,
//! per-step log-probs recorded), rewards per image from a [`RewardSet`](crate::RewardSet) of
//! pointwise rewards and/or win rates ([`WinRateReward`](crate::WinRateReward)), each
//! group-normalised and mixed with its weight ([`AdvantageEstimator`](crate::AdvantageEstimator),
//! `sum_of_advantages`: Pref-GRPO's `reward_spec`), then per image a random subset of its
//! timesteps (the last one dropped) re-scored under the current model with gradients, the
//! clipped ratio loss ([`GrpoLoss`](crate::GrpoLoss), `grpo` aggregation), an optional KL to
//! the reference in Gaussian-mean form, gradient accumulation over images, clipping and AdamW.
//!
//! | file | what |
//! |---|---|
//! | `config.rs` | [`FlowGrpoConfig`] (`[grpo]`): the paper's settings as named defaults |
//! | `env.rs` | [`FlowGrpoEnv`]: prompts, pixels → images, rewards, evaluation |
//! | `step.rs` | rollout, advantages, the per-image loss ([`FlowGrpoStep`]) |
//! | `run.rs` | [`train_flow_grpo`]: steps, metrics, checkpoints, exact resume |

mod config;
mod env;
mod run;
mod step;

pub use config::{FlowGrpoConfig, LogProbMode};
pub use env::{FlowGrpoEnv, FlowPrompt};
pub use run::{FlowGrpoReport, train_flow_grpo};
pub use step::{FlowGrpoStep, ImageLoss, Rollout, group_std_mean, train_timesteps};
