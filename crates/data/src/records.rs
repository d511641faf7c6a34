//! Host-side records: what one JSONL row means once parsed, before tokenization.

use serde::{Deserialize, Serialize};

/// One chat message, as in TRL's conversational layout (`{"role": ..., "content": ...}`).
///
/// Fields other than `role` and `content` (for example `tool_calls` or `name`) are kept in
/// `extra` and passed to the chat template unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user`, `assistant`, `tool`, ...
    pub role: String,
    /// The message text.
    pub content: String,
    /// Any other fields of the message object.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Message {
    /// A message with only a role and a text.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
            extra: serde_json::Map::new(),
        }
    }
}

/// A prompt or completion: plain text (TRL's "standard" layout) or a list of messages
/// (TRL's "conversational" layout, rendered with the chat template).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Content {
    /// Plain text; EOS is appended to completions at tokenization.
    Text(String),
    /// Chat messages; the chat template decides every special token.
    Conversation(Vec<Message>),
}

impl Content {
    /// Whether this is the conversational layout.
    pub fn is_conversation(&self) -> bool {
        matches!(self, Self::Conversation(_))
    }
}

/// One preference pair (`prompt`, `chosen`, `rejected`). With implicit-prompt data the
/// prompt has been extracted as the common prefix of `chosen` and `rejected`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreferenceRecord {
    /// The prompt.
    pub prompt: Content,
    /// The preferred completion.
    pub chosen: Content,
    /// The dispreferred completion.
    pub rejected: Content,
}

/// One prompt with K ≥ 1 responses and a score for each (higher is better).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankedRecord {
    /// The prompt.
    pub prompt: Content,
    /// The K responses.
    pub responses: Vec<Content>,
    /// One finite score per response.
    pub scores: Vec<f32>,
}

/// One supervised fine-tuning example. `prompt` is `None` for language-modeling rows
/// (`text`, or `messages` alone), where every token is trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SftRecord {
    /// The prompt (not trained on), if the row has one.
    pub prompt: Option<Content>,
    /// The trained-on completion.
    pub completion: Content,
}

/// One prompt for generation (GRPO rollouts, evaluation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptRecord {
    /// The prompt.
    pub prompt: Content,
}
