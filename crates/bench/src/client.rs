//! The MLLM judge on top of the shared chat client ([`prefopt_core::ChatClient`], which owns
//! HTTP, retries with back-off, the API key and the response bound): one user message holding
//! an image and a text, re-sent until the answer parses.
//!
//! [`JudgeClient::judge_with`] takes any answer parser, so a second benchmark reuses the loop
//! with its own answer format; [`JudgeClient::judge`] is UniGenBench's
//! ([`parse_answer`](crate::unigenbench::parse_answer)).

use std::fmt::Display;

use prefopt_core::{ChatClient, ChatClientConfig, CoreError};
use serde_json::json;

use crate::unigenbench::{ParsedAnswer, parse_answer};
use crate::{Error, Result};

/// Where the image goes relative to the text in the user message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContentOrder {
    /// `[image, text]`, as the official vLLM path sends it.
    #[default]
    ImageFirst,
    /// `[text, image]`, as the official Gemini path sends it.
    TextFirst,
}

/// Judge client settings: the chat client's (endpoint, key, timeout, attempts, back-off) and
/// the judge's own.
#[derive(Debug, Clone)]
pub struct JudgeClientConfig {
    /// The HTTP side: endpoint (`/chat/completions` is appended when missing), API key,
    /// timeout, attempts per request for transport errors, HTTP 429/5xx and unreadable
    /// replies, back-off.
    pub chat: ChatClientConfig,
    /// The `model` field (vLLM's `--served-model-name`, e.g. `QwenVL`; `gemini-2.5-pro`).
    pub model: String,
    /// `max_tokens` (official: 4096).
    pub max_tokens: u32,
    /// `temperature`; `None` leaves it out (the official scripts set none).
    pub temperature: Option<f32>,
    /// Re-queries when the answer does not parse (official: up to 10 retries).
    pub max_parse_retries: u32,
    /// Message content order.
    pub order: ContentOrder,
}

impl JudgeClientConfig {
    /// Defaults matching the official scripts (`max_tokens` 4096, 10 parse retries) and the
    /// chat client's ([`ChatClientConfig::new`]: no key, 300 s timeout, 11 attempts, back-off
    /// 1 s doubling to 30 s).
    pub fn new(endpoint: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            chat: ChatClientConfig::new(endpoint),
            model: model.into(),
            max_tokens: 4096,
            temperature: None,
            max_parse_retries: 10,
            order: ContentOrder::ImageFirst,
        }
    }

    /// Validates and builds the client.
    ///
    /// # Errors
    /// [`Error::Config`] for an empty model name, [`Error::Core`] for an invalid chat-client
    /// setting (an endpoint that is not `http(s)://`, zero attempts, ...).
    pub fn init(self) -> Result<JudgeClient> {
        if self.model.is_empty() {
            return Err(Error::Config("the model name is empty".to_string()));
        }
        let chat = self.chat.clone().init()?;
        Ok(JudgeClient { chat, config: self })
    }
}

/// What one judged image came to. `P` is the parsed answer ([`ParsedAnswer`] for UniGenBench).
#[derive(Debug, Clone, PartialEq)]
pub struct JudgeOutcome<P = ParsedAnswer> {
    /// The last raw answer text received, if any.
    pub answer: Option<String>,
    /// The parsed answer, when one parsed.
    pub parsed: Option<P>,
    /// Why there is no parsed answer.
    pub error: Option<String>,
    /// HTTP requests sent.
    pub requests: u32,
    /// Answers that did not parse.
    pub parse_failures: u32,
    /// Requests that failed at the HTTP level (transport, 429/5xx, unreadable body).
    pub http_failures: u32,
}

impl<P> JudgeOutcome<P> {
    fn empty() -> Self {
        Self {
            answer: None,
            parsed: None,
            error: None,
            requests: 0,
            parse_failures: 0,
            http_failures: 0,
        }
    }
}

/// A judge client. Cheap to share between threads (`&JudgeClient` is `Sync`).
#[derive(Debug)]
pub struct JudgeClient {
    chat: ChatClient,
    config: JudgeClientConfig,
}

impl JudgeClient {
    /// The resolved chat-completions URL.
    pub fn url(&self) -> &str {
        self.chat.url()
    }

    /// The settings.
    pub fn config(&self) -> &JudgeClientConfig {
        &self.config
    }

    /// The chat client the requests go through.
    pub fn chat(&self) -> &ChatClient {
        &self.chat
    }

    /// The JSON body for one request: one user message with the image (a data URI) and the
    /// text in [`JudgeClientConfig::order`].
    pub fn request_body(&self, text: &str, image_data_uri: &str) -> serde_json::Value {
        let image = json!({"type": "image_url", "image_url": {"url": image_data_uri}});
        let text = json!({"type": "text", "text": text});
        let content = match self.config.order {
            ContentOrder::ImageFirst => vec![image, text],
            ContentOrder::TextFirst => vec![text, image],
        };
        let mut body = json!({
            "model": self.config.model,
            "messages": [{"role": "user", "content": content}],
            "max_tokens": self.config.max_tokens,
        });
        if let Some(t) = self.config.temperature {
            body["temperature"] = json!(t);
        }
        body
    }

    /// Judges one image with UniGenBench's answer format: [`judge_with`](Self::judge_with)
    /// and [`parse_answer`] expecting `testpoints` scores.
    ///
    /// # Errors
    /// As [`judge_with`](Self::judge_with).
    pub fn judge(
        &self,
        text: &str,
        image_data_uri: &str,
        testpoints: usize,
    ) -> Result<JudgeOutcome> {
        self.judge_with(text, image_data_uri, |answer| {
            parse_answer(answer, testpoints)
        })
    }

    /// Judges one image: sends the request and re-queries until `parse` accepts the answer,
    /// up to [`JudgeClientConfig::max_parse_retries`] times.
    ///
    /// When the chat client runs out of attempts (transport errors, 429/5xx, unreadable
    /// replies) the outcome ends there with `error` set (naming the URL) and no `answer`.
    ///
    /// # Errors
    /// [`Error::Endpoint`] when the endpoint refuses the request (an HTTP 4xx other than 429:
    /// a bad key or model name, which no retry fixes).
    pub fn judge_with<P, E: Display>(
        &self,
        text: &str,
        image_data_uri: &str,
        mut parse: impl FnMut(&str) -> std::result::Result<P, E>,
    ) -> Result<JudgeOutcome<P>> {
        let body = self.request_body(text, image_data_uri);
        let mut outcome = JudgeOutcome::empty();
        for _ in 0..=self.config.max_parse_retries {
            let reply = match self.chat.complete(&body) {
                Ok(reply) => reply,
                Err(e @ CoreError::EndpointExhausted { .. }) => {
                    outcome.requests += e.attempts();
                    outcome.http_failures += e.attempts();
                    outcome.error = Some(e.to_string());
                    return Ok(outcome);
                }
                Err(e @ CoreError::EndpointRejected { .. }) => {
                    return Err(Error::Endpoint(e.to_string()));
                }
                Err(e) => return Err(e.into()),
            };
            outcome.requests += reply.attempts;
            outcome.http_failures += reply.attempts - 1;
            match parse(&reply.content) {
                Ok(parsed) => {
                    outcome.answer = Some(reply.content);
                    outcome.parsed = Some(parsed);
                    outcome.error = None;
                    return Ok(outcome);
                }
                Err(e) => {
                    outcome.parse_failures += 1;
                    outcome.error = Some(format!("answer did not parse: {e}"));
                    outcome.answer = Some(reply.content);
                }
            }
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use prefopt_core::ApiKey;

    use super::*;

    #[test]
    fn api_key_is_redacted() {
        let mut config = JudgeClientConfig::new("http://127.0.0.1:1", "m");
        config.chat.api_key = ApiKey::new("sk-secret");
        assert!(!format!("{config:?}").contains("sk-secret"));
        let client = config.init().unwrap();
        assert!(!format!("{client:?}").contains("sk-secret"));
    }

    #[test]
    fn config_errors_name_the_field() {
        let err = JudgeClientConfig::new("http://127.0.0.1:1", "")
            .init()
            .unwrap_err();
        assert!(err.to_string().contains("model name is empty"), "{err}");
        let mut config = JudgeClientConfig::new("http://127.0.0.1:1", "m");
        config.chat.max_attempts = 0;
        let err = config.init().unwrap_err().to_string();
        assert!(err.contains("max_attempts"), "{err}");
    }

    #[test]
    fn body_shape() {
        let mut config = JudgeClientConfig::new("http://127.0.0.1:1/v1", "QwenVL");
        config.temperature = Some(0.0);
        let client = config.init().unwrap();
        assert_eq!(client.url(), "http://127.0.0.1:1/v1/chat/completions");
        let body = client.request_body("judge this", "data:image/jpeg;base64,AAAA");
        assert_eq!(body["model"], "QwenVL");
        assert_eq!(body["max_tokens"], 4096);
        assert_eq!(body["temperature"], 0.0);
        let content = &body["messages"][0]["content"];
        assert_eq!(content[0]["type"], "image_url");
        assert_eq!(
            content[0]["image_url"]["url"],
            "data:image/jpeg;base64,AAAA"
        );
        assert_eq!(content[1], json!({"type": "text", "text": "judge this"}));

        let mut config = JudgeClientConfig::new("http://127.0.0.1:1/v1", "QwenVL");
        config.order = ContentOrder::TextFirst;
        let body = config.init().unwrap().request_body("t", "data:x");
        let content = &body["messages"][0]["content"];
        assert_eq!(
            (&content[0]["type"], &content[1]["type"]),
            (&json!("text"), &json!("image_url"))
        );
        assert!(body.get("temperature").is_none());
    }
}
