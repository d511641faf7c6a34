//! The crate's error type.

use std::path::PathBuf;

use crate::ggml_type::GgmlType;

/// Everything that can go wrong while reading a GGUF file or dequantizing its tensors.
///
/// Every variant that comes from a file names it, and the metadata key or tensor involved, so a
/// user can find the faulty input without a debugger.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GgufError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The first four bytes are not `GGUF`.
    #[error("{path}: not a GGUF file (the first bytes are {found:02x?}, expected \"GGUF\")")]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The bytes found.
        found: Vec<u8>,
    },
    /// A format version other than 2 or 3.
    #[error("{path}: GGUF version {version} is not supported (supported: 2, 3)")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found.
        version: u32,
    },
    /// A big-endian file (its version field reads byte-swapped).
    #[error(
        "{path}: big-endian GGUF files are not supported (the version field reads {raw:#010x})"
    )]
    BigEndian {
        /// The file.
        path: PathBuf,
        /// The version field as read little-endian.
        raw: u32,
    },
    /// The file is truncated or a field holds an impossible value; `context` names the
    /// section, the metadata key or the tensor.
    #[error("{path}: {context}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// `header`, `metadata key \`x\``, `tensor \`y\``, ...
        context: String,
        /// What is wrong.
        message: String,
    },
    /// A tensor's ggml type id is not one this crate knows.
    #[error("{path}: tensor `{tensor}` has unknown ggml type id {type_id}")]
    UnknownTensorType {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// The id found.
        type_id: u32,
    },
    /// A tensor's type is known but cannot be dequantized by this crate.
    #[error(
        "{path}: tensor `{tensor}` is stored as {ggml_type}, which cannot be dequantized \
         (supported: {supported})",
        supported = GgmlType::dequantizable_names()
    )]
    UnsupportedTensorType {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// Its type.
        ggml_type: GgmlType,
    },
    /// [`crate::dequantize`] was asked for a type it does not implement.
    #[error(
        "dequantizing {ggml_type} is not supported (supported: {supported})",
        supported = GgmlType::dequantizable_names()
    )]
    UnsupportedType {
        /// The type.
        ggml_type: GgmlType,
    },
    /// [`crate::dequantize`] got buffers whose lengths do not fit the type.
    #[error("dequantize {ggml_type}: {message}")]
    BufferSize {
        /// The type.
        ggml_type: GgmlType,
        /// Which lengths disagree.
        message: String,
    },
    /// A [`crate::QuantizedMatrix`] cannot be built or used as asked: its type has no matrix
    /// kernels, `cols` is not a whole number of blocks, the byte length or an operand's length
    /// does not fit the shape, or the requested [`crate::Kernel`] cannot run here.
    #[error("quantized matrix {ggml_type} [{rows} x {cols}]: {message}")]
    QuantizedMatrix {
        /// The matrix's ggml type.
        ggml_type: GgmlType,
        /// Output rows.
        rows: usize,
        /// Input columns.
        cols: usize,
        /// What does not fit, with the sizes involved.
        message: String,
    },
    /// A metadata key the caller needs is absent.
    #[error("{path}: missing metadata key `{key}`")]
    MissingKey {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// A metadata value has a type the caller cannot use.
    #[error("{path}: metadata key `{key}` holds {found}, expected {expected}")]
    WrongType {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// What the caller accepts.
        expected: String,
        /// What the file holds.
        found: String,
    },
    /// A tensor the caller asked for is absent.
    #[error("{path}: missing tensor `{tensor}`")]
    MissingTensor {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
    },
}

/// `Result` with [`GgufError`].
pub type Result<T, E = GgufError> = std::result::Result<T, E>;
