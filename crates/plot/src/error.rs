//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while drawing a chart.
///
/// Callers wrap it in their own error type; every variant that concerns a file names it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// The chart description cannot be drawn (a zero size, an empty or inverted axis range).
    #[error("invalid chart: {0}")]
    InvalidChart(String),
    /// The embedded font could not be registered with the text renderer.
    #[error("the embedded font could not be loaded")]
    Font,
    /// The drawing backend failed.
    #[error("drawing `{}` failed: {reason}", .path.display())]
    Draw {
        /// The PNG being drawn.
        path: PathBuf,
        /// The backend's message.
        reason: String,
    },
    /// The pixels could not be encoded as PNG.
    #[error("encoding `{}` failed: {reason}", .path.display())]
    Encode {
        /// The PNG being written.
        path: PathBuf,
        /// The encoder's message.
        reason: String,
    },
    /// The PNG could not be written to disk.
    #[error(transparent)]
    Write(#[from] prefopt_core::CoreError),
}

/// `Result` with [`PlotError`].
pub type Result<T, E = PlotError> = std::result::Result<T, E>;

impl PlotError {
    /// A [`PlotError::Draw`] for `path`.
    pub(crate) fn draw(path: &std::path::Path, reason: impl std::fmt::Display) -> Self {
        Self::Draw {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }
}
