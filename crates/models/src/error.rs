//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while reading, checking or writing a model.
///
/// Every variant names the file (and the tensor, where there is one) so that a user can find
/// the faulty input without a debugger.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `config.json` (or another JSON file) is not valid JSON or misses a field.
    #[error("{path}: invalid JSON: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// The configuration is syntactically fine but describes something we cannot build.
    #[error("{path}: {message}")]
    InvalidConfig {
        /// The file (or `<memory>` for configs built in code).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `model_type` names an architecture this crate does not implement.
    #[error("{path}: unsupported model_type `{model_type}`; supported: {supported}")]
    UnsupportedModelType {
        /// The config file.
        path: PathBuf,
        /// The value found.
        model_type: String,
        /// The supported values, comma separated.
        supported: String,
    },
    /// The directory holds neither `model.safetensors` nor `model.safetensors.index.json`.
    #[error("{dir}: no weights found (expected model.safetensors or model.safetensors.index.json)")]
    MissingWeights {
        /// The checkpoint directory.
        dir: PathBuf,
    },
    /// A safetensors file is truncated or otherwise not a valid safetensors file.
    #[error("{path}: not a valid safetensors file (truncated or corrupt?): {message}")]
    InvalidSafetensors {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A tensor the model needs is absent from the checkpoint.
    #[error("{path}: missing tensor `{tensor}`")]
    MissingTensor {
        /// The file (or index) that should have held it.
        path: PathBuf,
        /// The HF tensor name.
        tensor: String,
    },
    /// A tensor has a shape that does not fit the configuration.
    #[error("{path}: tensor `{tensor}` has shape {found:?}, expected {expected:?}")]
    ShapeMismatch {
        /// The file.
        path: PathBuf,
        /// The HF tensor name.
        tensor: String,
        /// The shape implied by `config.json`.
        expected: Vec<usize>,
        /// The shape stored in the file.
        found: Vec<usize>,
    },
    /// A tensor is stored in a dtype other than f32, f16, bf16 or f64.
    #[error(
        "{path}: tensor `{tensor}` has unsupported dtype {dtype} (supported: F32, F16, BF16, F64)"
    )]
    UnsupportedDtype {
        /// The file.
        path: PathBuf,
        /// The HF tensor name.
        tensor: String,
        /// The dtype found.
        dtype: String,
    },
    /// The tokenizer has more tokens than the model has embedding rows.
    #[error(
        "tokenizer vocabulary ({tokenizer_vocab_size} tokens) does not fit the model's vocab_size {model_vocab_size}{}",
        path.as_ref().map(|p| format!(" ({})", p.display())).unwrap_or_default()
    )]
    VocabMismatch {
        /// The config the model came from, when known.
        path: Option<PathBuf>,
        /// Number of tokens the tokenizer can produce.
        tokenizer_vocab_size: usize,
        /// Rows of the embedding matrix.
        model_vocab_size: usize,
    },
    /// Writing a safetensors file failed.
    #[error("{path}: cannot serialize safetensors: {message}")]
    Serialize {
        /// The file.
        path: PathBuf,
        /// The serializer's message.
        message: String,
    },
    /// Inputs handed to a model function are inconsistent (shapes, masks, tokens).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Reading a tensor back from the device failed.
    #[error("tensor read-back failed: {0}")]
    TensorRead(String),
    /// A GGUF file could not be read (the message names the file and the key or tensor).
    #[error(transparent)]
    Gguf(#[from] prefopt_gguf::GgufError),
    /// A shared building block of `prefopt-core` failed for a reason other than I/O (its I/O
    /// errors become [`ModelError::Io`]).
    #[error(transparent)]
    Core(prefopt_core::CoreError),
}

impl From<prefopt_core::CoreError> for ModelError {
    /// Keeps I/O failures (an atomic write: the file, its temporary sibling or the directory)
    /// as [`ModelError::Io`], so the message names the path either way.
    fn from(e: prefopt_core::CoreError) -> Self {
        match e {
            prefopt_core::CoreError::Io { path, source } => Self::Io { path, source },
            other => Self::Core(other),
        }
    }
}

/// `Result` with [`ModelError`].
pub type Result<T, E = ModelError> = std::result::Result<T, E>;
