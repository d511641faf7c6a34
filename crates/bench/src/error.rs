//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in `prefopt-bench`.
///
/// Messages name the file and, where there is one, the CSV row (its `index` column) or the
/// `(prompt index, image j)` pair, so a user can go straight to the bad input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The suite CSV is malformed (missing column, bad row, ...).
    #[error("{path}: {message}")]
    Csv {
        /// The CSV file.
        path: PathBuf,
        /// What is wrong, naming the row.
        message: String,
    },
    /// The JSON test-point field of one row does not parse.
    #[error(
        "{path}: row index {index} (line {line}): the `{column}` JSON does not parse: {message}{hint}"
    )]
    RowJson {
        /// The CSV file.
        path: PathBuf,
        /// The row's `index` column.
        index: usize,
        /// 1-based line of the record in the file (the header is line 1).
        line: u64,
        /// The column holding the JSON.
        column: String,
        /// The parser's message.
        message: String,
        /// A hint about the documented repair, when it would apply.
        hint: String,
    },
    /// A label (theme, sub-theme or test point) is not one of the known values.
    #[error("{path}: row index {index}: unknown {kind} `{label}`")]
    UnknownLabel {
        /// The CSV file.
        path: PathBuf,
        /// The row's `index` column.
        index: usize,
        /// Which kind of label.
        kind: &'static str,
        /// The label as written.
        label: String,
    },
    /// An image file is missing or is not a decodable PNG.
    #[error("{path}: {message}")]
    Image {
        /// The image file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The judge endpoint refused a request (an HTTP status that retrying cannot fix, e.g. 401
    /// for a bad key or 404 for a wrong model name); the message names the URL.
    #[error("judge endpoint: {0}")]
    Endpoint(String),
    /// From the shared chat client or the other `prefopt-core` helpers: an invalid client
    /// setting (naming the field), an endpoint failure, a file that could not be written.
    #[error(transparent)]
    Core(#[from] prefopt_core::CoreError),
    /// The judge's answer could not be parsed.
    #[error("judge answer: {0}")]
    Parse(String),
    /// The verdict store is malformed.
    #[error("{path}: line {line}: {message}")]
    Verdict {
        /// The JSONL file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Scoring refused because verdicts are missing (fail closed).
    #[error("{0}")]
    Incomplete(String),
    /// A configuration value is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Writing a chart failed.
    #[error("chart {path}: {message}")]
    Chart {
        /// The PNG being written.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// JSON (de)serialisation failed outside the cases above.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
