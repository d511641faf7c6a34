#![doc = include_str!("../README.md")]

mod api_error;
pub mod batch_plan;
mod engine;
mod error;
mod request;
mod response;
mod scheduler;
mod server;
mod shutdown;
mod stats;
mod stop_strings;

pub use api_error::ApiError;
pub use batch_plan::{BatchKey, plan};
pub use engine::Engine;
pub use error::{Result, ServeError};
pub use request::{ChatRequest, MAX_STOP_BYTES, MAX_STOP_STRINGS, parse_chat_request};
pub use response::{Choice, Completion, FinishReason, model_json, models_json};
pub use server::{CHAT_COMPLETIONS_PATH, HEALTH_PATH, MODELS_PATH, ServeConfig, ServerHandle};
pub use shutdown::ShutdownSignal;
pub use stats::ServeStats;
pub use stop_strings::{find_stop, shortest_prefix};
