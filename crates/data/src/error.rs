//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while reading, tokenizing, batching or caching data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A JSONL line did not have the expected layout.
    #[error("{path}:{line}: {message}")]
    BadRow {
        /// The data file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was expected and what was found.
        message: String,
    },
    /// A data file held no usable rows.
    #[error("{path}: empty data set ({detail})")]
    EmptyDataset {
        /// The data file.
        path: PathBuf,
        /// Why nothing was left (no lines, all skipped, all dropped by truncation...).
        detail: String,
    },
    /// A tokenizer file was missing, malformed or inconsistent.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A chat template failed to compile or render (including `raise_exception`).
    #[error("chat template: {0}")]
    ChatTemplate(String),
    /// An option was out of range or options contradict each other.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// A cache file could not be encoded or decoded.
    #[error("cache {path}: {message}")]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The prefetching loader's worker thread panicked or stopped.
    #[error("loader: {0}")]
    Loader(String),
    /// A shared building block (an atomic write) failed other than by I/O.
    #[error(transparent)]
    Core(prefopt_core::CoreError),
}

impl From<prefopt_core::CoreError> for DataError {
    /// Keeps I/O failures (an atomic write: the file, its temporary sibling or the directory)
    /// as [`DataError::Io`], so the message names the path either way.
    fn from(e: prefopt_core::CoreError) -> Self {
        match e {
            prefopt_core::CoreError::Io { path, source } => Self::Io { path, source },
            other => Self::Core(other),
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = DataError> = std::result::Result<T, E>;

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
