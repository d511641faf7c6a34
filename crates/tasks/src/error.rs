//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while generating, writing or preparing a task.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A value could not be turned into JSON.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// Training or saving the tokenizer failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// Reading back through `prefopt-data` failed.
    #[error(transparent)]
    Data(#[from] prefopt_data::DataError),
    /// An argument was out of range or inputs disagree (lengths, sizes, empty lists).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Building, running, loading or saving a model failed.
    #[error(transparent)]
    Model(#[from] prefopt_models::ModelError),
    /// A training stage failed.
    #[error(transparent)]
    Train(#[from] prefopt_train::Error),
    /// The image GRPO loop (`prefopt_rl::flow_grpo`) failed.
    #[error(transparent)]
    Rl(#[from] prefopt_rl::Error),
    /// A benchmark file (suite, verdicts) could not be read or scored.
    #[error(transparent)]
    Bench(#[from] prefopt_bench::Error),
    /// A tensor could not be read back to the host.
    #[error("reading a tensor back: {0}")]
    TensorRead(String),
    /// The reward–KL plot could not be drawn.
    #[error("plot {path}: {reason}")]
    Plot {
        /// The PNG being written.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A caption is outside the shapes world's grammar (`word` is 1-based; 0 for the whole caption).
    #[error("caption {caption:?}: word {word}: {message}")]
    Caption {
        /// The caption as given.
        caption: String,
        /// 1-based position of the offending word (0: the caption as a whole).
        word: usize,
        /// What was expected or what is wrong.
        message: String,
    },
    /// An image could not be read, written or checked (wrong size, wrong mode, not a PNG).
    #[error("{path}: {message}")]
    Image {
        /// The image file (or a description of an in-memory image).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A shared building block (atomic writes, text metrics) failed; its I/O errors become
    /// [`TaskError::Io`] with their path.
    #[error(transparent)]
    Core(prefopt_core::CoreError),
}

impl From<prefopt_core::CoreError> for TaskError {
    fn from(e: prefopt_core::CoreError) -> Self {
        match e {
            prefopt_core::CoreError::Io { path, source } => Self::Io { path, source },
            other => Self::Core(other),
        }
    }
}

impl TaskError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = TaskError> = std::result::Result<T, E>;
