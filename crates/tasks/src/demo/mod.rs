//! The controlled sentiment demo (issue 4): the model-dependent half, wired to
//! `prefopt-models` and `prefopt-train`.

pub mod config;
pub mod evaluation;
pub mod pipeline;
pub mod report;
pub mod reward_kl_plot;
pub mod sampling;
pub(crate) mod training;
