//! Completing a JSONL file of prompts with a checkpoint (`prefopt generate` and `eval`): read and
//! encode the prompts, generate in batches, decode, and write the completions as JSONL.
//!
//! The token-level loop is [`CausalLm::generate_batched`]; this module adds what needs the
//! tokenizer (prompt encoding, stop and pad tokens, decoding), which the models crate does not
//! see.

use std::path::Path;

use prefopt_core::write_atomic;
use prefopt_data::{
    Content, DataError, Encoder, ReadOptions, TokenizeReport, Tokenizer, Truncation,
    TruncationMode, read_prompt_jsonl,
};
use prefopt_models::{BatchedGenerationConfig, CausalLm};

use crate::error::{Result, json};

/// How to complete a prompt file: generation and batching, plus how prompts are read.
#[derive(Debug, Clone)]
pub struct CompletionOptions {
    /// Sampling settings, batch size and per-batch seeds. Its stop and pad tokens are
    /// overridden from the tokenizer where the model's `config.json` leaves them open
    /// (see [`complete_prompts`]).
    pub generation: BatchedGenerationConfig,
    /// Keep only the last `N` prompt tokens (`None` = no limit).
    pub max_prompt_length: Option<usize>,
    /// Skip malformed prompt rows (counted and logged) instead of stopping at the first.
    pub skip_bad_rows: bool,
}

/// One generated completion.
#[derive(Debug, Clone)]
pub struct Completion {
    /// The prompt as read (JSON: a string or a message list).
    pub prompt: serde_json::Value,
    /// Prompt token ids.
    pub prompt_ids: Vec<u32>,
    /// Generated token ids (up to and including the stop token).
    pub tokens: Vec<u32>,
    /// Decoded completion (special tokens skipped).
    pub text: String,
    /// Whether generation stopped on an EOS token.
    pub finished: bool,
}

fn content_json(content: &Content) -> serde_json::Value {
    match content {
        Content::Text(text) => serde_json::Value::String(text.clone()),
        Content::Conversation(messages) => {
            serde_json::to_value(messages).unwrap_or(serde_json::Value::Null)
        }
    }
}

/// Generates a completion for every prompt of the JSONL file `prompts` (`{"prompt": "..."}` or
/// `{"prompt": [messages]}`, rendered with the tokenizer's chat template), in file order.
///
/// Stop tokens are the model's `eos_token_id`, or the tokenizer's stop tokens when the config
/// has none; prompts are left-padded with the tokenizer's pad token (else its EOS).
///
/// # Errors
/// An unreadable or malformed prompt file (naming `file:line`), a prompt that cannot be
/// encoded, a file with no prompt left, and every generation error.
pub fn complete_prompts(
    model: &CausalLm,
    tokenizer: &Tokenizer,
    prompts: &Path,
    options: &CompletionOptions,
) -> Result<Vec<Completion>> {
    let rows = read_prompt_jsonl(
        prompts,
        ReadOptions {
            skip_bad_rows: options.skip_bad_rows,
        },
    )?;
    if !rows.report.skipped.is_empty() {
        tracing::warn!(
            file = %prompts.display(),
            skipped = rows.report.skipped.len(),
            "skipped bad prompt rows"
        );
    }
    let truncation = Truncation {
        max_length: options.max_prompt_length,
        mode: TruncationMode::KeepEnd,
    };
    let encoder = Encoder::new(tokenizer, truncation);
    let mut report = TokenizeReport::default();
    let mut encoded = Vec::new();
    for (record, &line) in rows.records.iter().zip(&rows.lines) {
        let prompt = encoder
            .prompt(record, &mut report)
            .map_err(|e| DataError::BadRow {
                path: prompts.to_path_buf(),
                line,
                message: e.to_string(),
            })?;
        if let Some(p) = prompt {
            encoded.push((content_json(&record.prompt), p.prompt_ids));
        }
    }
    if encoded.is_empty() {
        return Err(DataError::EmptyDataset {
            path: prompts.to_path_buf(),
            detail: "no prompt to complete".into(),
        }
        .into());
    }
    let mut config = options.generation.clone();
    if model.config().eos_token_ids.is_empty() {
        config.generation = config
            .generation
            .with_eos_token_ids(Some(tokenizer.stop_token_ids().to_vec()));
    }
    if let Some(pad) = tokenizer.pad().or_else(|| tokenizer.eos()) {
        config.generation = config.generation.with_pad_token_id(Some(pad.id));
    }
    let ids: Vec<Vec<u32>> = encoded.iter().map(|(_, ids)| ids.clone()).collect();
    let generated = model.generate_batched(&ids, &config)?;
    encoded
        .into_iter()
        .zip(generated.tokens.into_iter().zip(generated.finished))
        .map(|((prompt, prompt_ids), (tokens, finished))| {
            Ok(Completion {
                text: tokenizer.decode(&tokens, true)?,
                prompt,
                prompt_ids,
                tokens,
                finished,
            })
        })
        .collect()
}

/// Writes one `{"prompt", "completion", "num_tokens", "finished"}` JSON line per completion to
/// `path`, atomically (parent directories are created).
///
/// # Errors
/// The file (or its directory) cannot be written.
pub fn write_completions(path: &Path, completions: &[Completion]) -> Result<()> {
    let mut text = String::new();
    for c in completions {
        let line = serde_json::json!({
            "prompt": c.prompt,
            "completion": c.text,
            "num_tokens": c.tokens.len(),
            "finished": c.finished,
        });
        text.push_str(&serde_json::to_string(&line).map_err(json(path))?);
        text.push('\n');
    }
    write_atomic(path, text.as_bytes())?;
    Ok(())
}
