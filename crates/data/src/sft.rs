//! Supervised fine-tuning rows, in TRL's `SFTTrainer` layouts:
//! `prompt` + `completion` (loss on the completion only), `messages` (conversational
//! language modeling: loss on every token) or `text` (plain language modeling).

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::Result;
use crate::jsonl::{ReadOptions, Rows, field, parse_content, parse_messages, string_field};
use crate::records::{Content, SftRecord};

/// Parses one SFT row.
pub fn parse_sft_row(row: &Map<String, Value>) -> std::result::Result<SftRecord, String> {
    if row.contains_key("completion") {
        let prompt = parse_content(field(row, "prompt")?, "prompt")?;
        let completion = parse_content(field(row, "completion")?, "completion")?;
        if prompt.is_conversation() != completion.is_conversation() {
            return Err(
                "`prompt` and `completion` must both be strings or both message lists".into(),
            );
        }
        return Ok(SftRecord {
            prompt: Some(prompt),
            completion,
        });
    }
    if let Some(messages) = row.get("messages") {
        let messages = parse_messages(messages, "messages")?;
        if messages.is_empty() {
            return Err("`messages` is empty".into());
        }
        return Ok(SftRecord {
            prompt: None,
            completion: Content::Conversation(messages),
        });
    }
    if row.contains_key("text") {
        return Ok(SftRecord {
            prompt: None,
            completion: Content::Text(string_field(row, "text")?),
        });
    }
    let keys: Vec<&str> = row.keys().map(String::as_str).collect();
    Err(format!(
        "expected an SFT row with `prompt`+`completion`, `messages` or `text`, row has {keys:?}"
    ))
}

/// Reads a JSONL file of SFT rows (layouts may be mixed per row).
pub fn read_sft_jsonl(path: &Path, options: ReadOptions) -> Result<Rows<SftRecord>> {
    crate::jsonl::read_jsonl(path, options, parse_sft_row)
}
