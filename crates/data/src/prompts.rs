//! Prompt-only rows (`{"prompt": ...}`), for generation: GRPO rollouts and evaluation.
//! Other fields (for example a reference answer for a reward function) are ignored here.

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::Result;
use crate::jsonl::{ReadOptions, Rows, field, parse_content, read_jsonl};
use crate::records::{Content, PromptRecord};

/// Parses one prompt-only row.
pub fn parse_prompt_row(row: &Map<String, Value>) -> std::result::Result<PromptRecord, String> {
    let prompt = parse_content(field(row, "prompt")?, "prompt")?;
    if let Content::Conversation(m) = &prompt
        && m.is_empty()
    {
        return Err("`prompt` is an empty message list".into());
    }
    Ok(PromptRecord { prompt })
}

/// Reads a JSONL file of prompts.
pub fn read_prompt_jsonl(path: &Path, options: ReadOptions) -> Result<Rows<PromptRecord>> {
    read_jsonl(path, options, parse_prompt_row)
}
