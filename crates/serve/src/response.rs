//! The JSON bodies this server answers with, in OpenAI's shapes.

use serde_json::{Value, json};

/// Why a choice ended (OpenAI's `finish_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// An end-of-sequence token or a stop string.
    Stop,
    /// `max_tokens` reached.
    Length,
}

impl FinishReason {
    /// OpenAI's string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Length => "length",
        }
    }
}

/// One generated choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The assistant message's text.
    pub text: String,
    /// Why it ended.
    pub finish_reason: FinishReason,
    /// Tokens it took (up to the end-of-sequence token or the stop string).
    pub tokens: usize,
}

/// A finished request: its choices and the prompt's length in tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The choices, in order.
    pub choices: Vec<Choice>,
    /// Prompt tokens (the rendered chat template).
    pub prompt_tokens: usize,
}

impl Completion {
    /// The `chat.completion` object: `id`, `object`, `created`, `model`, `choices` (index,
    /// assistant message, `finish_reason`, `logprobs: null`) and `usage` (prompt, completion
    /// and total tokens, counted over all choices).
    pub fn to_json(&self, id: &str, created: u64, model: &str) -> Value {
        let completion_tokens: usize = self.choices.iter().map(|c| c.tokens).sum();
        let choices: Vec<Value> = self
            .choices
            .iter()
            .enumerate()
            .map(|(index, c)| {
                json!({
                    "index": index,
                    "message": {"role": "assistant", "content": c.text},
                    "logprobs": null,
                    "finish_reason": c.finish_reason.as_str(),
                })
            })
            .collect();
        json!({
            "id": id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": choices,
            "usage": {
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": self.prompt_tokens + completion_tokens,
            },
        })
    }
}

/// One entry of `GET /v1/models`.
pub fn model_json(model: &str, created: u64) -> Value {
    json!({"id": model, "object": "model", "created": created, "owned_by": "prefopt"})
}

/// The `GET /v1/models` list: the one served model.
pub fn models_json(model: &str, created: u64) -> Value {
    json!({"object": "list", "data": [model_json(model, created)]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_json_matches_openai() {
        let c = Completion {
            choices: vec![
                Choice {
                    text: "Hello".into(),
                    finish_reason: FinishReason::Stop,
                    tokens: 3,
                },
                Choice {
                    text: "Hi there".into(),
                    finish_reason: FinishReason::Length,
                    tokens: 4,
                },
            ],
            prompt_tokens: 10,
        };
        let j = c.to_json("chatcmpl-1", 1_700_000_000, "tiny");
        assert_eq!(j["object"], "chat.completion");
        assert_eq!(j["id"], "chatcmpl-1");
        assert_eq!(j["model"], "tiny");
        assert_eq!(j["created"], 1_700_000_000u64);
        assert_eq!(j["choices"][0]["message"]["role"], "assistant");
        assert_eq!(j["choices"][0]["message"]["content"], "Hello");
        assert_eq!(j["choices"][0]["finish_reason"], "stop");
        assert_eq!(j["choices"][1]["index"], 1);
        assert_eq!(j["choices"][1]["finish_reason"], "length");
        assert!(j["choices"][1]["logprobs"].is_null());
        assert_eq!(j["usage"]["prompt_tokens"], 10);
        assert_eq!(j["usage"]["completion_tokens"], 7);
        assert_eq!(j["usage"]["total_tokens"], 17);
    }

    #[test]
    fn models_list() {
        let j = models_json("judge", 5);
        assert_eq!(j["object"], "list");
        assert_eq!(j["data"][0]["id"], "judge");
        assert_eq!(j["data"][0]["object"], "model");
    }
}
