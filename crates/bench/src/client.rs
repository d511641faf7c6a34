//! A blocking client for OpenAI-compatible chat endpoints (vLLM serving the UniGenBench
//! evaluator models, Gemini's OpenAI endpoint, ...), with retries and exponential back-off.

use std::time::Duration;

use serde_json::json;

use crate::answer::{ParsedAnswer, parse_answer};
use crate::{Error, Result};

/// An API key: read from an environment variable, never printed (its `Debug` is redacted).
#[derive(Clone, Default)]
pub struct ApiKey(Option<String>);

impl ApiKey {
    /// Reads the key from environment variable `var`; an unset or empty variable means no key.
    pub fn from_env(var: &str) -> Self {
        Self(std::env::var(var).ok().filter(|k| !k.is_empty()))
    }

    /// A key given directly (e.g. from a secrets store).
    pub fn new(key: impl Into<String>) -> Self {
        Self(Some(key.into()).filter(|k| !k.is_empty()))
    }

    /// No key (local vLLM servers usually need none).
    pub fn none() -> Self {
        Self(None)
    }

    /// Whether a key is present.
    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "ApiKey(<redacted>)"
        } else {
            "ApiKey(None)"
        })
    }
}

/// Where the image goes relative to the text in the user message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContentOrder {
    /// `[image, text]`, as the official vLLM path sends it.
    #[default]
    ImageFirst,
    /// `[text, image]`, as the official Gemini path sends it.
    TextFirst,
}

/// Judge client settings.
#[derive(Debug, Clone)]
pub struct JudgeClientConfig {
    /// The chat-completions URL. A URL not ending in `/chat/completions` gets it appended
    /// (`http://localhost:8080/v1` → `http://localhost:8080/v1/chat/completions`).
    pub endpoint: String,
    /// The `model` field (vLLM's `--served-model-name`, e.g. `QwenVL`; `gemini-2.5-pro`).
    pub model: String,
    /// Bearer token, if any.
    pub api_key: ApiKey,
    /// `max_tokens` (official: 4096).
    pub max_tokens: u32,
    /// `temperature`; `None` leaves it out (the official scripts set none).
    pub temperature: Option<f32>,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Attempts per request for transport errors, HTTP 429/5xx and unreadable responses.
    pub max_attempts: u32,
    /// Re-queries when the answer does not parse (official: up to 10 retries).
    pub max_parse_retries: u32,
    /// First back-off delay; doubles each retry.
    pub backoff_initial: Duration,
    /// Back-off cap.
    pub backoff_max: Duration,
    /// Message content order.
    pub order: ContentOrder,
}

impl JudgeClientConfig {
    /// Defaults matching the official scripts (`max_tokens` 4096, 10 retries), 300 s timeout,
    /// back-off 1 s doubling to 30 s.
    pub fn new(endpoint: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            model: model.into(),
            api_key: ApiKey::none(),
            max_tokens: 4096,
            temperature: None,
            timeout: Duration::from_secs(300),
            max_attempts: 11,
            max_parse_retries: 10,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            order: ContentOrder::ImageFirst,
        }
    }

    /// Validates and builds the client.
    pub fn init(self) -> Result<JudgeClient> {
        let url = chat_url(&self.endpoint)?;
        if self.model.is_empty() {
            return Err(Error::Config("the model name is empty".to_string()));
        }
        if self.max_attempts == 0 {
            return Err(Error::Config("max_attempts must be at least 1".to_string()));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(self.timeout))
            .max_idle_connections_per_host(64)
            .build()
            .into();
        Ok(JudgeClient {
            url,
            agent,
            config: self,
        })
    }
}

fn chat_url(endpoint: &str) -> Result<String> {
    let e = endpoint.trim().trim_end_matches('/');
    if !(e.starts_with("http://") || e.starts_with("https://")) {
        return Err(Error::Config(format!(
            "endpoint `{endpoint}` must start with http:// or https://"
        )));
    }
    Ok(if e.ends_with("/chat/completions") {
        e.to_string()
    } else {
        format!("{e}/chat/completions")
    })
}

/// What one judged image came to.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgeOutcome {
    /// The last raw answer text received, if any.
    pub answer: Option<String>,
    /// The parsed answer, when one parsed.
    pub parsed: Option<ParsedAnswer>,
    /// Why there is no parsed answer.
    pub error: Option<String>,
    /// HTTP requests sent.
    pub requests: u32,
    /// Answers that did not parse.
    pub parse_failures: u32,
    /// Requests that failed at the HTTP level (transport, 429/5xx, unreadable body).
    pub http_failures: u32,
}

/// One failed HTTP attempt.
enum Attempt {
    Retry(String),
    Fatal(String),
}

/// A judge client. Cheap to share between threads (`&JudgeClient` is `Sync`).
#[derive(Debug)]
pub struct JudgeClient {
    url: String,
    agent: ureq::Agent,
    config: JudgeClientConfig,
}

impl JudgeClient {
    /// The resolved chat-completions URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The settings.
    pub fn config(&self) -> &JudgeClientConfig {
        &self.config
    }

    /// The JSON body for one request.
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

    /// Sends one chat request, retrying transport errors, 429 and 5xx with back-off.
    /// Returns the answer text, or the last failure (immediately for 4xx other than 429).
    /// `failures` counts failed attempts.
    pub fn complete(&self, body: &serde_json::Value, failures: &mut u32) -> Result<String> {
        self.complete_inner(body, failures)
            .map_err(|(Attempt::Retry(m) | Attempt::Fatal(m))| Error::Endpoint(m))
    }

    fn complete_inner(
        &self,
        body: &serde_json::Value,
        failures: &mut u32,
    ) -> std::result::Result<String, Attempt> {
        let mut delay = self.config.backoff_initial;
        let mut last = String::new();
        for attempt in 0..self.config.max_attempts {
            if attempt > 0 {
                std::thread::sleep(delay);
                delay = (delay * 2).min(self.config.backoff_max);
            }
            match self.attempt(body) {
                Ok(text) => return Ok(text),
                Err(Attempt::Fatal(m)) => {
                    *failures += 1;
                    return Err(Attempt::Fatal(m));
                }
                Err(Attempt::Retry(m)) => {
                    *failures += 1;
                    tracing::debug!(attempt, url = %self.url, "judge request failed: {m}");
                    last = m;
                }
            }
        }
        Err(Attempt::Retry(format!(
            "{} attempts failed; last: {last}",
            self.config.max_attempts
        )))
    }

    fn attempt(&self, body: &serde_json::Value) -> std::result::Result<String, Attempt> {
        let mut request = self.agent.post(&self.url);
        if let Some(key) = &self.config.api_key.0 {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        let mut response = request
            .send_json(body)
            .map_err(|e| Attempt::Retry(format!("{}: {e}", self.url)))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| Attempt::Retry(format!("{}: reading the body: {e}", self.url)))?;
        if status == 429 || status >= 500 {
            return Err(Attempt::Retry(format!(
                "{}: HTTP {status}: {}",
                self.url,
                snippet(&text)
            )));
        }
        if !(200..300).contains(&status) {
            return Err(Attempt::Fatal(format!(
                "{}: HTTP {status}: {}",
                self.url,
                snippet(&text)
            )));
        }
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Attempt::Retry(format!(
                "{}: the response is not JSON ({e}): {}",
                self.url,
                snippet(&text)
            ))
        })?;
        json.pointer("/choices/0/message/content")
            .and_then(|c| c.as_str())
            .map(str::to_string)
            .ok_or_else(|| {
                Attempt::Retry(format!(
                    "{}: the response has no choices[0].message.content: {}",
                    self.url,
                    snippet(&text)
                ))
            })
    }

    /// Judges one image: sends the request and re-queries until the answer parses with
    /// `testpoints` entries, up to [`JudgeClientConfig::max_parse_retries`] times.
    /// HTTP-level failure after all attempts ends it with `error` set; a fatal HTTP status
    /// (4xx other than 429) is returned as `Err`.
    pub fn judge(
        &self,
        text: &str,
        image_data_uri: &str,
        testpoints: usize,
    ) -> Result<JudgeOutcome> {
        let body = self.request_body(text, image_data_uri);
        let mut outcome = JudgeOutcome {
            answer: None,
            parsed: None,
            error: None,
            requests: 0,
            parse_failures: 0,
            http_failures: 0,
        };
        for _ in 0..=self.config.max_parse_retries {
            let mut failures = 0;
            let result = self.complete_inner(&body, &mut failures);
            outcome.http_failures += failures;
            outcome.requests += failures + u32::from(result.is_ok());
            match result {
                Err(Attempt::Retry(m)) => {
                    outcome.error = Some(m);
                    return Ok(outcome);
                }
                Err(Attempt::Fatal(m)) => return Err(Error::Endpoint(m)),
                Ok(answer) => match parse_answer(&answer, testpoints) {
                    Ok(parsed) => {
                        outcome.answer = Some(answer);
                        outcome.parsed = Some(parsed);
                        outcome.error = None;
                        return Ok(outcome);
                    }
                    Err(e) => {
                        outcome.parse_failures += 1;
                        outcome.error = Some(format!("answer did not parse: {e}"));
                        outcome.answer = Some(answer);
                    }
                },
            }
        }
        Ok(outcome)
    }
}

fn snippet(text: &str) -> String {
    let t: String = text.chars().take(200).collect();
    if t.len() < text.len() {
        format!("{t}…")
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_completed() {
        assert_eq!(
            chat_url("http://127.0.0.1:8080/v1/").unwrap(),
            "http://127.0.0.1:8080/v1/chat/completions"
        );
        assert_eq!(
            chat_url("https://x/v1beta/openai/chat/completions").unwrap(),
            "https://x/v1beta/openai/chat/completions"
        );
        assert!(chat_url("localhost:8080").is_err());
    }

    #[test]
    fn api_key_is_redacted() {
        let key = ApiKey(Some("sk-secret".to_string()));
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
        let mut config = JudgeClientConfig::new("http://127.0.0.1:1", "m");
        config.api_key = key;
        assert!(!format!("{config:?}").contains("sk-secret"));
    }

    #[test]
    fn body_shape() {
        let mut config = JudgeClientConfig::new("http://127.0.0.1:1/v1", "QwenVL");
        config.temperature = Some(0.0);
        let client = config.init().unwrap();
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
    }
}
