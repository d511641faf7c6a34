//! The SFT and prompt files of a task, in the layouts `prefopt-data` reads
//! (`docs/data.md`): `{"prompt", "completion"}` rows for SFT (the loss falls on the
//! completion only) and `{"prompt"}` rows for sampling.

use std::path::Path;

use serde::Serialize;

use crate::error::Result;
use crate::jsonl_writer::write_jsonl;
use crate::sentiment::Review;

#[derive(Serialize)]
struct SftRow<'a> {
    prompt: &'a str,
    completion: &'a str,
}

#[derive(Serialize)]
struct PromptRow<'a> {
    prompt: &'a str,
}

/// Writes `reviews` as SFT JSONL (`prompt`, `completion`); returns the row count.
pub fn write_sft_jsonl(path: &Path, reviews: &[Review]) -> Result<usize> {
    write_jsonl(
        path,
        reviews.iter().map(|r| SftRow {
            prompt: &r.prompt,
            completion: &r.completion,
        }),
    )
}

/// Writes prompt-only JSONL (`prompt`); returns the row count.
pub fn write_prompts_jsonl(path: &Path, prompts: &[String]) -> Result<usize> {
    write_jsonl(path, prompts.iter().map(|p| PromptRow { prompt: p }))
}
