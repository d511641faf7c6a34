//! Preference pairs in TRL's layouts: explicit prompt (`prompt`, `chosen`, `rejected`) or
//! implicit prompt (`chosen`, `rejected` only), standard (strings) or conversational
//! (message lists).

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::Result;
use crate::implicit_prompt::extract_prompt;
use crate::jsonl::{ReadOptions, Rows, field, parse_content, read_jsonl};
use crate::records::{Content, PreferenceRecord};

/// Parses one preference row.
pub fn parse_preference_row(
    row: &Map<String, Value>,
) -> std::result::Result<PreferenceRecord, String> {
    if !row.contains_key("chosen") || !row.contains_key("rejected") {
        let keys: Vec<&str> = row.keys().map(String::as_str).collect();
        return Err(format!(
            "expected a preference row with `chosen` and `rejected` (and optionally `prompt`), row has {keys:?}"
        ));
    }
    let chosen = parse_content(field(row, "chosen")?, "chosen")?;
    let rejected = parse_content(field(row, "rejected")?, "rejected")?;
    let Some(prompt) = row.get("prompt") else {
        return extract_prompt(chosen, rejected);
    };
    let prompt = parse_content(prompt, "prompt")?;
    let kinds = [&prompt, &chosen, &rejected].map(Content::is_conversation);
    if kinds.iter().any(|&k| k != kinds[0]) {
        return Err(
            "`prompt`, `chosen` and `rejected` must all be strings or all message lists".into(),
        );
    }
    if let (Content::Conversation(c), Content::Conversation(r)) = (&chosen, &rejected)
        && (c.is_empty() || r.is_empty())
    {
        return Err("`chosen` and `rejected` need at least one message".into());
    }
    Ok(PreferenceRecord {
        prompt,
        chosen,
        rejected,
    })
}

/// Reads a JSONL file of preference pairs (any of the four TRL layouts, mixed per row).
pub fn read_preference_jsonl(path: &Path, options: ReadOptions) -> Result<Rows<PreferenceRecord>> {
    read_jsonl(path, options, parse_preference_row)
}
