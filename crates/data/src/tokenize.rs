//! Records → token ids, following TRL (`DPOTrainer._prepare_dataset`, TRL 1.16).
//!
//! * **Text** (standard layout): EOS text is appended to each completion that does not
//!   already end with it; the prompt and `prompt + completion` are tokenized with
//!   `add_special_tokens=True` (so a Llama-style tokenizer puts BOS first).
//! * **Conversations**: the prompt is rendered with `add_generation_prompt=True`, the
//!   prompt plus completion messages without it, both tokenized with
//!   `add_special_tokens=False` (the template writes BOS). No EOS is added: the template
//!   ends each turn.
//!
//! The prompt ids kept are the longest prefix the tokenized prompt shares with every
//! tokenized `prompt + completion` (TRL's `common_prefix_length`); each completion is the
//! rest of its full ids. When that prefix is shorter than the tokenized prompt (a template
//! that renders the prompt differently alone, or a BPE merge across the boundary) the
//! example is counted in [`TokenizeReport::prefix_mismatches`] and a warning is logged.
//!
//! Sequences are not cut here: the [`crate::Collator`] truncates each row, as TRL's collator
//! does. Examples whose (kept) prompt alone reaches `max_length` under keep-start are
//! dropped, and rows that the collator will cut are counted.

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::records::{Content, PreferenceRecord, PromptRecord, RankedRecord, SftRecord};
use crate::tokenizer::Tokenizer;
use crate::truncation::{Truncation, TruncationReport};

/// A tokenized preference pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenizedPair {
    /// Prompt ids (shared by both rows).
    pub prompt_ids: Vec<u32>,
    /// Chosen completion ids.
    pub chosen_ids: Vec<u32>,
    /// Rejected completion ids.
    pub rejected_ids: Vec<u32>,
}

/// A tokenized ranked list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenizedList {
    /// Prompt ids (shared by all rows).
    pub prompt_ids: Vec<u32>,
    /// Completion ids of each response.
    pub response_ids: Vec<Vec<u32>>,
    /// One score per response.
    pub scores: Vec<f32>,
}

/// A tokenized SFT example (`prompt_ids` empty for language-modeling rows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenizedSft {
    /// Prompt ids (not trained on).
    pub prompt_ids: Vec<u32>,
    /// Completion ids (trained on).
    pub completion_ids: Vec<u32>,
}

/// A tokenized prompt for generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenizedPrompt {
    /// Prompt ids (conversations end with the assistant header).
    pub prompt_ids: Vec<u32>,
}

/// Counts from tokenizing a data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenizeReport {
    /// Examples kept.
    pub examples: usize,
    /// Truncation counts.
    pub truncation: TruncationReport,
    /// Rows whose full tokenization did not start with the prompt's tokens.
    pub prefix_mismatches: usize,
}

/// Number of leading ids `a` and `b` share.
pub fn common_prefix_length(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Tokenizes prompts and completions with one tokenizer and one length limit.
#[derive(Debug, Clone, Copy)]
pub struct Encoder<'a> {
    tokenizer: &'a Tokenizer,
    truncation: Truncation,
}

/// A prompt's ids and the ids of each of its completions.
struct EncodedExample {
    prompt_ids: Vec<u32>,
    completion_ids: Vec<Vec<u32>>,
}

/// The prompt of an example, tokenized once and reused for each completion.
struct EncodedPrompt<'c> {
    content: &'c Content,
    text: Option<String>,
    ids: Vec<u32>,
}

impl<'a> Encoder<'a> {
    /// An encoder for `tokenizer` with `truncation`.
    pub fn new(tokenizer: &'a Tokenizer, truncation: Truncation) -> Self {
        Self {
            tokenizer,
            truncation,
        }
    }

    fn encode_prompt<'c>(&self, prompt: &'c Content) -> Result<EncodedPrompt<'c>> {
        match prompt {
            Content::Text(text) => Ok(EncodedPrompt {
                content: prompt,
                text: Some(text.clone()),
                ids: self.tokenizer.encode(text, true)?,
            }),
            Content::Conversation(messages) => Ok(EncodedPrompt {
                content: prompt,
                text: None,
                ids: self.tokenizer.encode_chat(messages, true)?,
            }),
        }
    }

    /// `text` with the EOS text appended unless it already ends with it (TRL's `add_eos`).
    fn with_eos(&self, text: &str) -> String {
        match self.tokenizer.eos() {
            Some(eos) if !text.ends_with(&eos.text) => format!("{text}{}", eos.text),
            _ => text.to_string(),
        }
    }

    /// The full ids of `prompt + completion`.
    fn encode_full(&self, prompt: &EncodedPrompt<'_>, completion: &Content) -> Result<Vec<u32>> {
        match (prompt.content, completion) {
            (Content::Text(_), Content::Text(c)) => {
                let mut text = prompt.text.clone().unwrap_or_default();
                text.push_str(&self.with_eos(c));
                self.tokenizer.encode(&text, true)
            }
            (Content::Conversation(p), Content::Conversation(c)) => {
                let messages: Vec<_> = p.iter().chain(c).cloned().collect();
                self.tokenizer.encode_chat(&messages, false)
            }
            _ => Err(DataError::InvalidOption(
                "prompt and completion must both be text or both conversations".into(),
            )),
        }
    }

    /// Prompt ids and completion ids for `completions`; `None` when the prompt alone
    /// reaches `max_length` under keep-start (the example is dropped and counted).
    fn encode_example(
        &self,
        prompt: &Content,
        completions: &[&Content],
        report: &mut TokenizeReport,
    ) -> Result<Option<EncodedExample>> {
        let prompt = self.encode_prompt(prompt)?;
        let fulls = completions
            .iter()
            .map(|c| self.encode_full(&prompt, c))
            .collect::<Result<Vec<_>>>()?;
        let prompt_len = fulls
            .iter()
            .map(|f| common_prefix_length(&prompt.ids, f))
            .min()
            .unwrap_or(prompt.ids.len());
        if prompt_len < prompt.ids.len() {
            report.prefix_mismatches += 1;
            tracing::debug!(
                dropped = prompt.ids.len() - prompt_len,
                "the tokenized prompt is not a prefix of prompt + completion"
            );
        }
        if self.truncation.drops_prompt(prompt_len) {
            report.truncation.dropped_long_prompt += 1;
            return Ok(None);
        }
        let completion_ids: Vec<Vec<u32>> =
            fulls.iter().map(|f| f[prompt_len..].to_vec()).collect();
        if let Some(max) = self.truncation.max_length {
            report.truncation.truncated_rows += completion_ids
                .iter()
                .filter(|c| prompt_len + c.len() > max)
                .count();
        }
        report.examples += 1;
        Ok(Some(EncodedExample {
            prompt_ids: prompt.ids[..prompt_len].to_vec(),
            completion_ids,
        }))
    }

    /// Tokenizes one preference pair; `None` if the prompt is too long (dropped).
    pub fn pair(
        &self,
        record: &PreferenceRecord,
        report: &mut TokenizeReport,
    ) -> Result<Option<TokenizedPair>> {
        let example =
            self.encode_example(&record.prompt, &[&record.chosen, &record.rejected], report)?;
        Ok(example.map(|mut e| {
            let rejected_ids = e.completion_ids.pop().unwrap_or_default();
            let chosen_ids = e.completion_ids.pop().unwrap_or_default();
            TokenizedPair {
                prompt_ids: e.prompt_ids,
                chosen_ids,
                rejected_ids,
            }
        }))
    }

    /// Tokenizes one ranked list; `None` if the prompt is too long (dropped).
    pub fn list(
        &self,
        record: &RankedRecord,
        report: &mut TokenizeReport,
    ) -> Result<Option<TokenizedList>> {
        let responses: Vec<&Content> = record.responses.iter().collect();
        let example = self.encode_example(&record.prompt, &responses, report)?;
        Ok(example.map(|e| TokenizedList {
            prompt_ids: e.prompt_ids,
            response_ids: e.completion_ids,
            scores: record.scores.clone(),
        }))
    }

    /// Tokenizes one SFT example; `None` if the prompt is too long (dropped).
    ///
    /// Rows without a prompt (`text`, `messages`) are tokenized whole as the completion:
    /// text with `add_special_tokens=True` plus EOS, conversations with the template and
    /// no generation prompt.
    pub fn sft(
        &self,
        record: &SftRecord,
        report: &mut TokenizeReport,
    ) -> Result<Option<TokenizedSft>> {
        if let Some(prompt) = &record.prompt {
            let example = self.encode_example(prompt, &[&record.completion], report)?;
            return Ok(example.map(|mut e| TokenizedSft {
                prompt_ids: e.prompt_ids,
                completion_ids: e.completion_ids.pop().unwrap_or_default(),
            }));
        }
        let ids = match &record.completion {
            Content::Text(text) => self.tokenizer.encode(&self.with_eos(text), true)?,
            Content::Conversation(messages) => self.tokenizer.encode_chat(messages, false)?,
        };
        if self
            .truncation
            .max_length
            .is_some_and(|max| ids.len() > max)
        {
            report.truncation.truncated_rows += 1;
        }
        report.examples += 1;
        Ok(Some(TokenizedSft {
            prompt_ids: Vec::new(),
            completion_ids: ids,
        }))
    }

    /// Tokenizes one generation prompt; `None` if it is too long (dropped).
    pub fn prompt(
        &self,
        record: &PromptRecord,
        report: &mut TokenizeReport,
    ) -> Result<Option<TokenizedPrompt>> {
        let prompt = self.encode_prompt(&record.prompt)?;
        if self.truncation.drops_prompt(prompt.ids.len()) {
            report.truncation.dropped_long_prompt += 1;
            return Ok(None);
        }
        let (prompt_ids, _, cut) = self.truncation.apply(&prompt.ids, &[]);
        report.truncation.truncated_rows += usize::from(cut);
        report.examples += 1;
        Ok(Some(TokenizedPrompt { prompt_ids }))
    }
}
