//! The one client for OpenAI-compatible chat endpoints (vLLM, TGI, llama.cpp's server,
//! OpenAI, Gemini's OpenAI endpoint, `prefopt serve`): the UniGenBench judge and the pairwise
//! LLM judge of Pref-GRPO both send their requests through it.
//!
//! - Retries: transport errors, HTTP 429 and 5xx, unreadable, oversized or content-less replies
//!   are retried with exponential back-off (`backoff_initial`, doubling to `backoff_max`) up to
//!   `max_attempts` attempts, then [`CoreError::EndpointExhausted`]; any other non-2xx status
//!   fails at once with [`CoreError::EndpointRejected`].
//! - The API key is read from an environment variable, sent as `Authorization: Bearer`, and
//!   never logged, printed by `Debug`, or put in an error; sending one over plain `http://` to a
//!   host other than the loopback is warned about once, at [`ChatClientConfig::init`].
//! - A reply body larger than `max_response_bytes` is refused before it is read whole.
//!
//! The caller builds the JSON body (text messages, image parts, sampling fields) and reads
//! `choices[0].message.content` back as a [`ChatReply`].

use std::time::Duration;

use serde_json::Value;

use crate::{CoreError, Result, invalid};

/// An API key: read from an environment variable, never printed (its `Debug` is redacted).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ApiKey(Option<String>);

impl ApiKey {
    /// Reads the key from environment variable `var`; an unset or empty variable means no key.
    pub fn from_env(var: &str) -> Self {
        Self(std::env::var(var).ok().filter(|k| !k.is_empty()))
    }

    /// A key given directly (e.g. from a secrets store); an empty string means no key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(Some(key.into()).filter(|k| !k.is_empty()))
    }

    /// No key (local servers usually need none).
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

/// Settings of a [`ChatClient`].
#[derive(Debug, Clone)]
pub struct ChatClientConfig {
    /// The endpoint: a base URL (`http://localhost:8000/v1`) or the full chat-completions URL;
    /// `/chat/completions` is appended when missing.
    pub endpoint: String,
    /// Bearer token, if any.
    pub api_key: ApiKey,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Attempts per request (the first one included) for retryable failures; at least 1.
    pub max_attempts: u32,
    /// First back-off delay; doubles each retry.
    pub backoff_initial: Duration,
    /// Back-off cap.
    pub backoff_max: Duration,
    /// Largest reply body read (bytes); a larger one is a retryable failure.
    pub max_response_bytes: u64,
    /// Idle connections kept per host (set it to the number of concurrent workers).
    pub max_idle_connections: usize,
}

impl ChatClientConfig {
    /// Defaults: no key, 300 s timeout, 11 attempts, back-off 1 s doubling to 30 s, replies up
    /// to 64 MiB, 64 idle connections.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            api_key: ApiKey::none(),
            timeout: Duration::from_secs(300),
            max_attempts: 11,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            max_response_bytes: 64 * 1024 * 1024,
            max_idle_connections: 64,
        }
    }

    /// Validates and builds the client.
    ///
    /// # Errors
    /// [`CoreError::InvalidConfig`] for an endpoint that is not `http://` or `https://`, zero
    /// attempts, a zero timeout or a zero response bound.
    pub fn init(self) -> Result<ChatClient> {
        let url = chat_completions_url(&self.endpoint)?;
        if self.max_attempts == 0 {
            return Err(invalid("max_attempts", "must be at least 1"));
        }
        if self.timeout.is_zero() {
            return Err(invalid("timeout", "must be > 0"));
        }
        if self.max_response_bytes == 0 {
            return Err(invalid("max_response_bytes", "must be > 0"));
        }
        if self.api_key.is_set() && url.starts_with("http://") && !is_loopback(&url) {
            tracing::warn!(
                url = %url,
                "an API key will be sent over plain http://; use https:// for remote endpoints"
            );
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(self.timeout))
            .max_idle_connections_per_host(self.max_idle_connections.max(1))
            .build()
            .into();
        Ok(ChatClient {
            url,
            agent,
            config: self,
        })
    }
}

/// `endpoint` with `/chat/completions` appended unless it already ends so.
///
/// # Errors
/// [`CoreError::InvalidConfig`] (`endpoint`) unless it starts with `http://` or `https://`.
pub fn chat_completions_url(endpoint: &str) -> Result<String> {
    let e = endpoint.trim().trim_end_matches('/');
    if !(e.starts_with("http://") || e.starts_with("https://")) {
        return Err(invalid(
            "endpoint",
            format!("`{endpoint}` must start with http:// or https://"),
        ));
    }
    Ok(if e.ends_with("/chat/completions") {
        e.to_string()
    } else {
        format!("{e}/chat/completions")
    })
}

fn is_loopback(url: &str) -> bool {
    let rest = url.trim_start_matches("http://");
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split(']').next().unwrap_or("").trim_start_matches('[')
    } else {
        host.split(':').next().unwrap_or("")
    };
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

/// A successful reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatReply {
    /// `choices[0].message.content`.
    pub content: String,
    /// HTTP attempts it took (1 when the first one succeeded).
    pub attempts: u32,
}

/// One failed attempt.
enum Failure {
    Retry(String),
    Fatal(String),
}

/// A chat-completions client. Cheap to share between threads (`&ChatClient` is `Sync`).
#[derive(Debug)]
pub struct ChatClient {
    url: String,
    agent: ureq::Agent,
    config: ChatClientConfig,
}

impl ChatClient {
    /// The resolved chat-completions URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The settings.
    pub fn config(&self) -> &ChatClientConfig {
        &self.config
    }

    /// Sends `body` (a chat-completions request), retrying as the module docs say.
    ///
    /// # Errors
    /// [`CoreError::EndpointExhausted`] when every attempt failed with a retryable error,
    /// [`CoreError::EndpointRejected`] at once on a non-retryable status.
    pub fn complete(&self, body: &Value) -> Result<ChatReply> {
        let mut delay = self.config.backoff_initial;
        let mut last_error = String::new();
        for attempt in 1..=self.config.max_attempts {
            if attempt > 1 {
                std::thread::sleep(delay);
                delay = (delay * 2).min(self.config.backoff_max);
            }
            match self.attempt(body) {
                Ok(content) => {
                    return Ok(ChatReply {
                        content,
                        attempts: attempt,
                    });
                }
                Err(Failure::Fatal(message)) => {
                    return Err(CoreError::EndpointRejected {
                        url: self.url.clone(),
                        attempts: attempt,
                        message,
                    });
                }
                Err(Failure::Retry(m)) => {
                    tracing::debug!(attempt, url = %self.url, "chat request failed: {m}");
                    last_error = m;
                }
            }
        }
        Err(CoreError::EndpointExhausted {
            url: self.url.clone(),
            attempts: self.config.max_attempts,
            last_error,
        })
    }

    fn attempt(&self, body: &Value) -> std::result::Result<String, Failure> {
        let mut request = self.agent.post(&self.url);
        if let Some(key) = &self.config.api_key.0 {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        let mut response = request
            .send_json(body)
            .map_err(|e| Failure::Retry(format!("transport: {e}")))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(self.config.max_response_bytes)
            .read_to_string()
            .map_err(|e| Failure::Retry(format!("reading the body (HTTP {status}): {e}")))?;
        if status == 429 || status >= 500 {
            return Err(Failure::Retry(format!("HTTP {status}: {}", snippet(&text))));
        }
        if !(200..300).contains(&status) {
            return Err(Failure::Fatal(format!("HTTP {status}: {}", snippet(&text))));
        }
        reply_content(&text).map_err(Failure::Retry)
    }
}

/// The `choices[0].message.content` of an OpenAI-compatible chat-completion body (a 2xx
/// reply), or why there is none (not JSON, no such string), with a snippet of the body.
///
/// # Errors
/// A message for a body that is not JSON or has no `choices[0].message.content` string.
pub fn reply_content(text: &str) -> std::result::Result<String, String> {
    let json: Value = serde_json::from_str(text)
        .map_err(|e| format!("the response is not JSON ({e}): {}", snippet(text)))?;
    json.pointer("/choices/0/message/content")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            format!(
                "the response has no choices[0].message.content: {}",
                snippet(text)
            )
        })
}

/// The first 200 characters of `text`, with `…` when cut (for error messages and logs).
pub fn snippet(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_completed() {
        assert_eq!(
            chat_completions_url("http://127.0.0.1:8080/v1/").unwrap(),
            "http://127.0.0.1:8080/v1/chat/completions"
        );
        assert_eq!(
            chat_completions_url("https://x/v1beta/openai/chat/completions").unwrap(),
            "https://x/v1beta/openai/chat/completions"
        );
        assert!(chat_completions_url("localhost:8080").is_err());
    }

    #[test]
    fn api_key_is_redacted() {
        let mut config = ChatClientConfig::new("http://127.0.0.1:1");
        config.api_key = ApiKey::new("sk-secret");
        assert!(format!("{:?}", config.api_key).contains("<redacted>"));
        let client = config.init().unwrap();
        assert!(!format!("{client:?}").contains("sk-secret"));
    }

    #[test]
    fn loopback_hosts() {
        for url in [
            "http://localhost:8000/v1",
            "http://127.0.0.1/v1",
            "http://[::1]:80/x",
        ] {
            assert!(is_loopback(url), "{url}");
        }
        for url in ["http://example.org/v1", "http://10.0.0.1:80/x"] {
            assert!(!is_loopback(url), "{url}");
        }
    }

    #[test]
    fn validation_names_fields() {
        let mut c = ChatClientConfig::new("http://127.0.0.1:1");
        c.max_attempts = 0;
        assert!(matches!(
            c.init().unwrap_err(),
            CoreError::InvalidConfig(crate::InvalidConfig {
                field: "max_attempts",
                ..
            })
        ));
        assert!(matches!(
            ChatClientConfig::new("ftp://x").init().unwrap_err(),
            CoreError::InvalidConfig(crate::InvalidConfig {
                field: "endpoint",
                ..
            })
        ));
    }

    #[test]
    fn snippets_cut_on_characters() {
        assert_eq!(snippet("short"), "short");
        let long = "é".repeat(300);
        assert_eq!(snippet(&long).chars().count(), 201);
    }
}
