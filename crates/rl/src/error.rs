//! Errors of the rl crate.

use std::path::{Path, PathBuf};

/// What can go wrong when configuring GRPO, scoring rewards or calling a judge.
///
/// Shape misuse of the loss inside a hot loop may still panic with a message; everything a user
/// can get wrong from a config file, and every failure of a reward function or judge, is an error
/// value. A failed judge call is never turned into a silent partial reward: the whole scoring
/// call fails, so that a step is never trained on partial rewards.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is outside its valid range (`field` is the key as spelled in the TOML file).
    #[error(transparent)]
    InvalidConfig(#[from] prefopt_core::InvalidConfig),
    /// Inputs whose sizes do not agree (e.g. a batch that is not a multiple of the group size).
    #[error("size mismatch for `{what}`: expected {expected}, got {got}")]
    SizeMismatch {
        /// Which input.
        what: &'static str,
        /// The expected size.
        expected: usize,
        /// The size that was passed.
        got: usize,
    },
    /// A reward function failed.
    #[error("reward function `{name}` failed: {reason}")]
    Reward {
        /// The reward function's name.
        name: String,
        /// Why it failed.
        reason: String,
    },
    /// An input the chosen configuration needs was not given.
    #[error("missing input `{what}`: {reason}")]
    MissingInput {
        /// Which input (e.g. `num_items_in_batch`).
        what: &'static str,
        /// Why it is needed.
        reason: &'static str,
    },
    /// A pairwise judge failed (after its retries, if it has any).
    #[error("judge failed: {0}")]
    Judge(String),
    /// A request to an LLM judge endpoint failed after every retry.
    #[error("judge endpoint `{url}` failed after {attempts} attempt(s): {last_error}")]
    Endpoint {
        /// The URL that was called (never contains the API key).
        url: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last error seen.
        last_error: String,
    },
    /// An input the caller passed is malformed (empty prompt, token outside the vocabulary,
    /// …).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The policy or reference model failed (generation, forward, log-probs).
    #[error(transparent)]
    Model(#[from] prefopt_models::ModelError),
    /// The optimizer, schedule or metrics log failed.
    #[error(transparent)]
    Train(#[from] prefopt_train::Error),
    /// Writing a file failed.
    #[error(transparent)]
    Core(#[from] prefopt_core::CoreError),
    /// Reading or tokenizing data (prompts, a tokenizer) failed.
    #[error(transparent)]
    Data(#[from] prefopt_data::DataError),
    /// A `[[grpo.rewards]]` entry is invalid or could not be built.
    #[error("[[grpo.rewards]] entry {number} (`{name}`): {source}")]
    RewardEntry {
        /// Its position in the list, counting from 1.
        number: usize,
        /// Its `name`.
        name: String,
        /// What is wrong with it.
        source: Box<Error>,
    },
    /// The loss or the gradient was NaN or ±∞ on too many optimizer steps in a row (each was
    /// skipped); the run stopped. The last checkpoint is intact.
    #[error(
        "non-finite loss or gradient on {count} optimizer steps in a row (the last at step \
         {step}); stopped (max_consecutive_nonfinite_steps)"
    )]
    NonFinite {
        /// Skipped steps in a row.
        count: u64,
        /// The optimizer step of the last one.
        step: u64,
    },
    /// A file or checkpoint a run names could not be loaded or saved.
    #[error("{action} `{}`: {source}", path.display())]
    File {
        /// What was being done (e.g. `loading the policy`).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why it failed.
        source: Box<Error>,
    },
}

/// Result alias of the rl crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An [`Error::RewardEntry`] for the entry at `index` (0-based) called `name`.
    pub(crate) fn reward_entry(index: usize, name: &str, source: impl Into<Error>) -> Self {
        Self::RewardEntry {
            number: index + 1,
            name: name.to_owned(),
            source: Box::new(source.into()),
        }
    }

    /// An [`Error::File`]: `action` on `path` failed with `source`.
    pub(crate) fn file(action: &'static str, path: &Path, source: impl Into<Error>) -> Self {
        Self::File {
            action,
            path: path.to_path_buf(),
            source: Box::new(source.into()),
        }
    }
}
