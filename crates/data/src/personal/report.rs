//! Counts from encoding personalization examples.

use serde::{Deserialize, Serialize};

/// What encoding kept, dropped and cut. Counts only examples that were encoded
/// successfully (a row that fails leaves the report unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PersonalReport {
    /// Examples encoded.
    pub examples: usize,
    /// History items kept in the with-history prompts.
    pub history_items_kept: usize,
    /// Items beyond `max_history_items` (the oldest ones), never considered.
    pub history_items_over_max: usize,
    /// Selected items dropped (oldest first) to fit `max_prompt_length`.
    pub history_items_dropped: usize,
    /// Examples with at least one item dropped to fit the budget.
    pub prompts_fitted: usize,
    /// Targets cut to `max_target_length`.
    pub targets_truncated: usize,
    /// Rows whose history was empty (their with-history prompt shows the header and no
    /// item).
    pub empty_histories: usize,
}
