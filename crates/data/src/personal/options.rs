//! Options of the `[personalization.prompt]` table of a run config: history selection,
//! rendering and token budget.

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

/// History selection, prompt rendering and length limits of personalization data (all of
/// it is part of the cache key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersonalOptions {
    /// At most this many history items, newest first (NextQuill's `max_his_len` = 8).
    pub max_history_items: usize,
    /// Token budget of the with-history prompt: the oldest kept items are dropped until it
    /// fits. `None`: no limit.
    pub max_prompt_length: Option<usize>,
    /// Targets longer than this many tokens (EOS included) are cut, keeping EOS last.
    pub max_target_length: Option<usize>,
    /// The line that opens the history block.
    pub history_header: String,
    /// The line that opens each history item; `{i}` is its 1-based index.
    pub item_header: String,
    /// The line that replaces the items in the null-history prompt.
    pub null_history: String,
    /// System message; used only when the tokenizer has a chat template.
    pub system_prompt: Option<String>,
}

impl Default for PersonalOptions {
    fn default() -> Self {
        Self {
            max_history_items: 8,
            max_prompt_length: Some(2048),
            max_target_length: Some(2048),
            history_header: "[User's Past Reviews]:".into(),
            item_header: "[Review {i}]".into(),
            null_history: "None".into(),
            system_prompt: None,
        }
    }
}

impl PersonalOptions {
    /// Checks the limits: `max_prompt_length` and `max_target_length` must be at least 1
    /// (the target keeps its EOS).
    pub fn validate(&self) -> Result<()> {
        if self.max_prompt_length == Some(0) {
            return Err(DataError::InvalidOption(
                "personalization.max_prompt_length must be at least 1".into(),
            ));
        }
        if self.max_target_length == Some(0) {
            return Err(DataError::InvalidOption(
                "personalization.max_target_length must be at least 1 (the EOS)".into(),
            ));
        }
        Ok(())
    }
}
