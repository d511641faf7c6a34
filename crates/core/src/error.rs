//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in `prefopt-core`.
///
/// Callers wrap it in their own error type (`#[from]`), so a message that reaches the user still
/// names the file or the endpoint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// A file or directory could not be read, written, synced or renamed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A setting is invalid.
    #[error(transparent)]
    InvalidConfig(#[from] crate::InvalidConfig),
    /// An endpoint kept failing with retryable errors (transport, HTTP 429/5xx, an unreadable
    /// or oversized body, a reply without content) until the attempts ran out.
    #[error("endpoint `{url}` failed after {attempts} attempt(s): {last_error}")]
    EndpointExhausted {
        /// The URL called (never holds the API key).
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last_error: String,
    },
    /// An endpoint answered with an HTTP status that retrying cannot fix (4xx other than 429).
    #[error("endpoint `{url}` refused the request (attempt {attempts}): {message}")]
    EndpointRejected {
        /// The URL called (never holds the API key).
        url: String,
        /// Attempts made, this one included.
        attempts: u32,
        /// The status and the start of the body.
        message: String,
    },
    /// A text metric (ROUGE, BLEU) got unusable input: prediction and reference counts differ,
    /// or the corpus is empty.
    #[error("text metric: {0}")]
    TextMetric(String),
}

/// `Result` with [`CoreError`].
pub type Result<T, E = CoreError> = std::result::Result<T, E>;

impl CoreError {
    /// A [`CoreError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// The attempts an endpoint error took (0 for other errors).
    pub fn attempts(&self) -> u32 {
        match self {
            Self::EndpointExhausted { attempts, .. } | Self::EndpointRejected { attempts, .. } => {
                *attempts
            }
            _ => 0,
        }
    }
}
