//! Personalization records → token ids of the with-history prompt, the null-history
//! prompt and the target, under token budgets.

use serde::{Deserialize, Serialize};

use super::options::PersonalOptions;
use super::record::{HistoryItem, PersonalRecord};
use super::render::render_prompt;
use super::report::PersonalReport;
use super::select::select_history;
use crate::error::{DataError, Result};
use crate::records::Message;
use crate::tokenizer::Tokenizer;

/// One tokenized personalization example: the same target under two prompts.
///
/// The target is tokenized on its own, so `completion_ids` is identical after either
/// prompt: position `t` of the completion is the same gold token in both views.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenizedPersonal {
    /// Prompt with the history (after budget fitting).
    pub prompt_ids: Vec<u32>,
    /// Prompt with the null history (`history_header` + `null_history`).
    pub null_prompt_ids: Vec<u32>,
    /// Target ids followed by the EOS id.
    pub completion_ids: Vec<u32>,
    /// History items kept in `prompt_ids`.
    pub history_items: usize,
    /// The user.
    pub user_id: String,
    /// The target text (for ROUGE and friends).
    pub target: String,
}

/// Why a row could not be encoded.
#[derive(Debug)]
pub(crate) enum EncodeError {
    /// The row's content does not fit the options (empty target, prompt over budget).
    Row(String),
    /// Tokenizer, chat template or option failure.
    Data(DataError),
}

impl From<DataError> for EncodeError {
    fn from(e: DataError) -> Self {
        Self::Data(e)
    }
}

impl EncodeError {
    /// The message used for `file:line` errors and skipped rows.
    pub(crate) fn message(&self) -> String {
        match self {
            Self::Row(m) => m.clone(),
            Self::Data(e) => e.to_string(),
        }
    }
}

/// Encodes [`PersonalRecord`]s with one tokenizer and one set of [`PersonalOptions`].
///
/// * Prompt: with a chat template, the conversation `[system (if system_prompt), user
///   (rendered text)]` with the generation prompt; without one, the rendered text with the
///   tokenizer's special tokens (`encode(text, true)`).
/// * Target: `encode(target, false)` followed by the EOS id; an empty target is an error;
///   a target longer than `max_target_length` (EOS included) is cut, keeping EOS last.
/// * Budget: the history starts as [`select_history`] (newest first); while the
///   with-history prompt has more than `max_prompt_length` tokens, the oldest kept item is
///   dropped. A prompt that does not fit with its newest item alone, or a null-history
///   prompt over the budget, is an error.
#[derive(Debug, Clone, Copy)]
pub struct PersonalEncoder<'a> {
    tokenizer: &'a Tokenizer,
    options: &'a PersonalOptions,
}

fn describe(item: &HistoryItem) -> String {
    match &item.id {
        Some(id) => format!("{id:?}"),
        None => "(no id)".into(),
    }
}

impl<'a> PersonalEncoder<'a> {
    /// An encoder for `tokenizer` and `options`.
    pub fn new(tokenizer: &'a Tokenizer, options: &'a PersonalOptions) -> Self {
        Self { tokenizer, options }
    }

    /// Token ids of a rendered prompt (chat template if the tokenizer has one).
    pub fn prompt_ids(&self, text: &str) -> Result<Vec<u32>> {
        if self.tokenizer.chat_template().is_none() {
            return self.tokenizer.encode(text, true);
        }
        let mut messages = Vec::with_capacity(2);
        if let Some(system) = &self.options.system_prompt {
            messages.push(Message::new("system", system.clone()));
        }
        messages.push(Message::new("user", text));
        self.tokenizer.encode_chat(&messages, true)
    }

    /// Target ids + EOS, cut to `max_target_length`; `true` when cut.
    fn completion_ids(&self, target: &str) -> Result<(Vec<u32>, bool), EncodeError> {
        let eos = self.tokenizer.eos().ok_or_else(|| {
            DataError::Tokenizer(
                "the tokenizer has no EOS token (personalization targets end with EOS)".into(),
            )
        })?;
        let mut ids = self.tokenizer.encode(target, false)?;
        if ids.is_empty() {
            return Err(EncodeError::Row(
                "target is empty after tokenization".into(),
            ));
        }
        ids.push(eos.id);
        match self.options.max_target_length {
            Some(max) if ids.len() > max => {
                ids.truncate(max - 1);
                ids.push(eos.id);
                Ok((ids, true))
            }
            _ => Ok((ids, false)),
        }
    }

    pub(crate) fn encode_row(
        &self,
        record: &PersonalRecord,
        report: &mut PersonalReport,
    ) -> Result<TokenizedPersonal, EncodeError> {
        self.options.validate()?;
        let (completion_ids, truncated) = self.completion_ids(&record.target)?;
        let budget = self.options.max_prompt_length;
        let null_prompt_ids = self.prompt_ids(&render_prompt(record, None, self.options))?;
        if let Some(max) = budget
            && null_prompt_ids.len() > max
        {
            return Err(EncodeError::Row(format!(
                "the null-history prompt has {} tokens, more than max_prompt_length {max}",
                null_prompt_ids.len()
            )));
        }
        let mut kept = select_history(&record.history, self.options.max_history_items);
        let over_max = record.history.len() - kept.len();
        let mut dropped = 0;
        let prompt_ids = loop {
            let ids = self.prompt_ids(&render_prompt(record, Some(&kept), self.options))?;
            match budget {
                Some(max) if ids.len() > max => match kept.as_slice() {
                    [] => {
                        return Err(EncodeError::Row(format!(
                            "the prompt without history items has {} tokens, more than \
                             max_prompt_length {max}",
                            ids.len()
                        )));
                    }
                    [only] => {
                        return Err(EncodeError::Row(format!(
                            "history item {} does not fit max_prompt_length {max} even alone \
                             (prompt has {} tokens)",
                            describe(only),
                            ids.len()
                        )));
                    }
                    _ => {
                        kept.pop();
                        dropped += 1;
                    }
                },
                _ => break ids,
            }
        };
        report.examples += 1;
        report.history_items_kept += kept.len();
        report.history_items_over_max += over_max;
        report.history_items_dropped += dropped;
        report.prompts_fitted += usize::from(dropped > 0);
        report.targets_truncated += usize::from(truncated);
        report.empty_histories += usize::from(record.history.is_empty());
        Ok(TokenizedPersonal {
            prompt_ids,
            null_prompt_ids,
            completion_ids,
            history_items: kept.len(),
            user_id: record.user_id.clone(),
            target: record.target.clone(),
        })
    }

    /// Tokenizes one record and adds its counts to `report` (left unchanged on error).
    ///
    /// Row-content failures (empty target, prompt over budget) are
    /// `DataError::InvalidOption` with the reason; [`crate::load_personal_dataset`] turns
    /// them into `file:line` errors or counted skips.
    pub fn encode(
        &self,
        record: &PersonalRecord,
        report: &mut PersonalReport,
    ) -> Result<TokenizedPersonal> {
        self.encode_row(record, report).map_err(|e| match e {
            EncodeError::Row(m) => DataError::InvalidOption(m),
            EncodeError::Data(e) => e,
        })
    }
}
