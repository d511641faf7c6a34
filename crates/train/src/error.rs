//! Errors of the train crate.

use std::path::PathBuf;

/// What can go wrong in the shared training-loop building blocks.
///
/// Everything a user can get wrong in a config file, every I/O failure while checkpointing or
/// logging, and a non-finite loss or gradient norm are error values. A non-finite metric stops
/// the loop ([`Error::NonFinite`] names the step) so that the last good checkpoint is kept.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A config value is outside its valid range (`field` is the config key, as in TOML/HF).
    #[error("invalid value for `{field}`: {reason}")]
    InvalidConfig {
        /// The config key, spelled as in Hugging Face `TrainingArguments` (e.g. `warmup_steps`).
        field: &'static str,
        /// Why the value was rejected, including the value itself.
        reason: String,
    },
    /// A logged metric (loss, gradient norm, ...) is NaN or infinite.
    #[error("non-finite `{metric}` = {value} at step {step}")]
    NonFinite {
        /// The optimizer step at which it happened.
        step: u64,
        /// The metric's name (`loss`, `grad_norm`, ...).
        metric: String,
        /// The offending value.
        value: f64,
    },
    /// A file-system operation failed.
    #[error("I/O error on `{}`: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A JSON file could not be read or written.
    #[error("JSON error in `{}`: {source}", .path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// Burn could not save or load a record (optimizer state).
    #[error("record error in `{}`: {reason}", .path.display())]
    Record {
        /// The file.
        path: PathBuf,
        /// Burn's message.
        reason: String,
    },
    /// A checkpoint is incomplete or does not match the model being resumed.
    #[error("bad checkpoint `{}`: {reason}", .path.display())]
    Checkpoint {
        /// The checkpoint directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The caller's model-saving function failed.
    #[error("saving the model into `{}` failed: {source}", .path.display())]
    SaveModel {
        /// The (temporary) checkpoint directory.
        path: PathBuf,
        /// The caller's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The config being resumed differs from the one the checkpoint was written with.
    #[error("config hash mismatch: checkpoint has {saved}, current config is {current}")]
    ConfigMismatch {
        /// The hash stored in `trainer_state.json`.
        saved: String,
        /// The hash of the current config.
        current: String,
    },
    /// Drawing a plot failed.
    #[error("plot `{}` failed: {reason}", .path.display())]
    Plot {
        /// The output file.
        path: PathBuf,
        /// The drawing backend's message.
        reason: String,
    },
    /// A model could not be loaded, run or saved.
    #[error(transparent)]
    Model(#[from] prefopt_models::ModelError),
    /// A data set or tokenizer could not be read.
    #[error(transparent)]
    Data(#[from] prefopt_data::DataError),
    /// An objective rejected its configuration or inputs.
    #[error(transparent)]
    Objective(#[from] prefopt_objectives::Error),
}

/// Result alias of the train crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Shorthand used by config validation.
pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidConfig {
        field,
        reason: reason.into(),
    }
}

/// Shorthand for I/O errors with their path.
pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}

/// Shorthand for JSON errors with their path.
pub(crate) fn json(path: impl Into<PathBuf>) -> impl FnOnce(serde_json::Error) -> Error {
    let path = path.into();
    move |source| Error::Json { path, source }
}
