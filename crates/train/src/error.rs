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
    /// A setting is outside its valid range (`field` is the key as spelled in the TOML file).
    #[error(transparent)]
    InvalidConfig(#[from] prefopt_core::InvalidConfig),
    /// A run-config file (`run.toml`) could not be read, is not TOML, or one of its tables is
    /// bad; `reason` names the table and key.
    #[error("config `{}`: {reason}", .path.display())]
    ConfigFile {
        /// The config file.
        path: PathBuf,
        /// What is wrong, naming the table and key.
        reason: String,
    },
    /// A table of a run config is unknown, not a table, or holds an unknown key or a value of
    /// the wrong type.
    #[error("in [{table}]: {reason}")]
    ConfigTable {
        /// The table (`dpo`, `training`, ...).
        table: String,
        /// What is wrong (serde's message names the key).
        reason: String,
    },
    /// A `--set key=value` override is malformed.
    #[error("--set `{item}`: {reason}")]
    Override {
        /// The override as given.
        item: String,
        /// What is wrong with it.
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
    /// A training-data source failed to give the batch of a step.
    #[error("training data for step {step}: {message}")]
    StepData {
        /// The optimizer step (1-based).
        step: u64,
        /// What the source reported.
        message: String,
    },

    #[error(transparent)]
    Model(#[from] prefopt_models::ModelError),
    /// A data set or tokenizer could not be read.
    #[error(transparent)]
    Data(#[from] prefopt_data::DataError),
    /// An objective rejected its configuration or inputs.
    #[error(transparent)]
    Objective(#[from] prefopt_objectives::Error),
    /// A shared building block (atomic writes, text metrics) failed; its I/O errors become
    /// [`Error::Io`] with their path.
    #[error(transparent)]
    Core(prefopt_core::CoreError),
}

impl From<prefopt_core::CoreError> for Error {
    fn from(e: prefopt_core::CoreError) -> Self {
        match e {
            prefopt_core::CoreError::Io { path, source } => Self::Io { path, source },
            other => Self::Core(other),
        }
    }
}

/// Result alias of the train crate.
pub type Result<T> = std::result::Result<T, Error>;

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
