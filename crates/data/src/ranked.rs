//! Ranked lists: one prompt, K responses, one score each (LiPO's data).
//!
//! Two layouts are read:
//!
//! * **prefopt/TRL-style**: `{"prompt": ..., "responses": [...], "scores": [...]}` where the
//!   prompt and responses are strings or message lists (like TRL's other layouts);
//! * **UltraFeedback (raw `openbmb/UltraFeedback`)**: `{"instruction": ..., "completions":
//!   [{"response": ..., "overall_score": 7.5, "fine-grained_score": 4.75, "annotations":
//!   {"helpfulness": {"Rating": "4", ...}, "honesty": {...}, "instruction_following":
//!   {...}, "truthfulness": {...}}}, ...]}`. The score is picked with [`UltraFeedbackScore`].

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Result;
use crate::jsonl::{ReadOptions, Rows, field, json_kind, parse_content, read_jsonl, string_field};
use crate::records::{Content, Message, RankedRecord};

/// Which UltraFeedback number becomes a completion's score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UltraFeedbackScore {
    /// `overall_score`: GPT-4's 1–10 overall critique score.
    #[default]
    OverallScore,
    /// The mean of the numeric `annotations.*.Rating` values (1–5; `"N/A"` ratings are left
    /// out); when no annotation is numeric, the row's `fine-grained_score` field (which
    /// UltraFeedback computes as the same mean).
    FineGrainedMean,
}

/// Options for ranked-list rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RankedOptions {
    /// Which UltraFeedback score to use.
    pub ultrafeedback_score: UltraFeedbackScore,
    /// Wrap UltraFeedback's instruction as a user message and each response as an assistant
    /// message, so they are rendered with the chat template. Default `false` (plain text).
    pub ultrafeedback_as_chat: bool,
}

/// Parses one ranked-list row, in either layout.
pub fn parse_ranked_row(
    row: &Map<String, Value>,
    options: &RankedOptions,
) -> std::result::Result<RankedRecord, String> {
    let record = if row.contains_key("prompt") {
        parse_prompt_responses(row)?
    } else if row.contains_key("instruction") && row.contains_key("completions") {
        parse_ultrafeedback(row, options)?
    } else {
        let keys: Vec<&str> = row.keys().map(String::as_str).collect();
        return Err(format!(
            "expected a ranked row with `prompt`/`responses`/`scores` or UltraFeedback's `instruction`/`completions`, row has {keys:?}"
        ));
    };
    if record.responses.len() < 2 {
        return Err(format!(
            "a ranked list needs at least 2 responses, found {}",
            record.responses.len()
        ));
    }
    Ok(record)
}

fn parse_prompt_responses(row: &Map<String, Value>) -> std::result::Result<RankedRecord, String> {
    let prompt = parse_content(field(row, "prompt")?, "prompt")?;
    let Value::Array(items) = field(row, "responses")? else {
        return Err("field `responses`: expected a list".into());
    };
    let responses = items
        .iter()
        .enumerate()
        .map(|(i, v)| parse_content(v, &format!("responses[{i}]")))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let Value::Array(raw_scores) = field(row, "scores")? else {
        return Err("field `scores`: expected a list of numbers".into());
    };
    let scores = raw_scores
        .iter()
        .enumerate()
        .map(|(i, v)| {
            number(v).ok_or_else(|| {
                format!(
                    "scores[{i}]: expected a finite number, found {}",
                    json_kind(v)
                )
            })
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    if scores.len() != responses.len() {
        return Err(format!(
            "`responses` has {} items but `scores` has {}",
            responses.len(),
            scores.len()
        ));
    }
    if responses
        .iter()
        .any(|r| r.is_conversation() != prompt.is_conversation())
    {
        return Err("`prompt` and every response must all be strings or all message lists".into());
    }
    Ok(RankedRecord {
        prompt,
        responses,
        scores,
    })
}

fn number(v: &Value) -> Option<f32> {
    let x = match v {
        Value::Number(n) => n.as_f64()?,
        // UltraFeedback stores ratings as strings ("5").
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    x.is_finite().then_some(x as f32)
}

fn parse_ultrafeedback(
    row: &Map<String, Value>,
    options: &RankedOptions,
) -> std::result::Result<RankedRecord, String> {
    let instruction = string_field(row, "instruction")?;
    let Value::Array(completions) = field(row, "completions")? else {
        return Err("field `completions`: expected a list of objects".into());
    };
    let mut responses = Vec::with_capacity(completions.len());
    let mut scores = Vec::with_capacity(completions.len());
    for (i, completion) in completions.iter().enumerate() {
        let Value::Object(c) = completion else {
            return Err(format!(
                "completions[{i}]: expected an object, found {}",
                json_kind(completion)
            ));
        };
        let response = string_field(c, "response").map_err(|e| format!("completions[{i}]: {e}"))?;
        let score = match options.ultrafeedback_score {
            UltraFeedbackScore::OverallScore => c.get("overall_score").and_then(number).ok_or_else(|| {
                format!("completions[{i}]: expected a numeric `overall_score`")
            })?,
            UltraFeedbackScore::FineGrainedMean => fine_grained_mean(c).ok_or_else(|| {
                format!("completions[{i}]: no numeric `annotations.*.Rating` and no `fine-grained_score`")
            })?,
        };
        responses.push(response);
        scores.push(score);
    }
    let (prompt, responses) = if options.ultrafeedback_as_chat {
        (
            Content::Conversation(vec![Message::new("user", instruction)]),
            responses
                .into_iter()
                .map(|r| Content::Conversation(vec![Message::new("assistant", r)]))
                .collect(),
        )
    } else {
        (
            Content::Text(instruction),
            responses.into_iter().map(Content::Text).collect(),
        )
    };
    Ok(RankedRecord {
        prompt,
        responses,
        scores,
    })
}

/// Mean of the numeric aspect ratings, or the stored `fine-grained_score`.
fn fine_grained_mean(completion: &Map<String, Value>) -> Option<f32> {
    if let Some(Value::Object(annotations)) = completion.get("annotations") {
        let ratings: Vec<f32> = annotations
            .values()
            .filter_map(|aspect| aspect.get("Rating").and_then(number))
            .collect();
        if !ratings.is_empty() {
            return Some(ratings.iter().sum::<f32>() / ratings.len() as f32);
        }
    }
    completion.get("fine-grained_score").and_then(number)
}

/// Reads a JSONL file of ranked lists (either layout, mixed per row).
pub fn read_ranked_jsonl(
    path: &Path,
    read: ReadOptions,
    options: RankedOptions,
) -> Result<Rows<RankedRecord>> {
    read_jsonl(path, read, |row| parse_ranked_row(row, &options))
}
