//! Errors of the objectives crate.

/// What can go wrong when configuring or calling an objective.
///
/// Shape misuse inside a hot loop may still panic with a message; everything a user can get
/// wrong from a config file or a data set is an error value that names the field.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A hyper-parameter is outside its valid range (`field` is the config key, as in TOML).
    #[error("invalid value for `{field}`: {reason}")]
    InvalidConfig {
        /// The config key, spelled as in the TOML file (e.g. `beta`, `label_smoothing`).
        field: &'static str,
        /// Why the value was rejected, including the value itself.
        reason: String,
    },
    /// Input tensors whose shapes do not agree.
    #[error("shape mismatch for `{what}`: expected {expected:?}, got {got:?}")]
    ShapeMismatch {
        /// Which input (e.g. `policy_rejected_logps`).
        what: &'static str,
        /// The expected shape.
        expected: Vec<usize>,
        /// The shape that was passed.
        got: Vec<usize>,
    },
}

/// Result alias of the objectives crate.
pub type Result<T> = std::result::Result<T, Error>;
