//! The crate's error type: what can stop the server from starting (HTTP-level failures of
//! single requests are [`ApiError`](crate::ApiError) answers, not errors of the server).

use std::path::PathBuf;

/// Everything that can go wrong while loading a model for serving, starting the server or
/// installing the signal handlers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// A setting is invalid (`field` is the CLI flag's name without dashes, e.g. `max_batch`).
    #[error(transparent)]
    InvalidConfig(#[from] prefopt_core::InvalidConfig),
    /// The model path is not something this server can load (yet).
    #[error("model `{}`: {reason}", .path.display())]
    UnsupportedModel {
        /// The path as given.
        path: PathBuf,
        /// Why it cannot be served.
        reason: String,
    },
    /// Loading or running the model failed.
    #[error(transparent)]
    Model(#[from] prefopt_models::ModelError),
    /// The tokenizer or its chat template failed.
    #[error(transparent)]
    Data(#[from] prefopt_data::DataError),
    /// Loading the tokenizer failed.
    #[error(transparent)]
    Train(#[from] prefopt_train::Error),
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// `host:port` as asked for.
        addr: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A SIGINT/SIGTERM handler could not be installed.
    #[error("cannot install the handler of signal {signal}: {source}")]
    Signal {
        /// The signal number.
        signal: i32,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A server thread could not be started or panicked.
    #[error("server thread `{thread}`: {message}")]
    Thread {
        /// Which thread.
        thread: &'static str,
        /// What happened.
        message: String,
    },
}

/// `Result` with [`ServeError`].
pub type Result<T, E = ServeError> = std::result::Result<T, E>;
