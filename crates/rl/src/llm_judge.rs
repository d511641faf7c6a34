//! A pairwise judge backed by an LLM behind an OpenAI-compatible chat endpoint (vLLM, TGI,
//! llama.cpp server, OpenAI, ...), as Pref-GRPO queries UnifiedReward-Think.
//!
//! - The user message is a template with `{prompt}`, `{response_a}` and `{response_b}`
//!   placeholders, filled in one pass (a response that itself contains `{response_b}` is left
//!   alone).
//! - The answer is parsed with a regex (default `(?s)<answer>(.*?)</answer>`, capture group 1),
//!   then searched, case-insensitively, for the "first is better" markers (default
//!   `1 is better`) and the "second is better" markers (default `2 is better`); `tie_markers`
//!   (default none) give an explicit tie. No tag, no marker, or markers for both sides →
//!   **unparsable**: scored as a tie (as the reference code does) *and* counted in
//!   [`LlmJudgeStats::unparsable`] and logged with `tracing::warn!`, so a judge that drifts
//!   from the format is visible.
//! - Requests go through the one chat client, [`prefopt_core::ChatClient`]: transport errors,
//!   HTTP 429 and 5xx are retried with exponential back-off (`max_retries`); then, or at once
//!   for any other HTTP error, the call fails with [`Error::Endpoint`]. The caller must not
//!   train the step (the win-rate reward propagates the error).
//! - The API key is read from the environment variable named by `api_key_env` at `init`, sent as
//!   `Authorization: Bearer`, and never logged, printed by `Debug`, or put in an error.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prefopt_core::chat_client::snippet;
use prefopt_core::{ApiKey, ChatClient, ChatClientConfig, CoreError, run_ordered};
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{Error, Result};
use crate::judge::{PairwiseJudge, Verdict};
use prefopt_core::invalid;

/// The default user-message template for text completions.
pub const DEFAULT_TEMPLATE: &str = "You are given a prompt and two responses to it. Decide \
which response is better: more helpful, correct, and clear.\n\nPrompt:\n{prompt}\n\n\
Response 1:\n{response_a}\n\nResponse 2:\n{response_b}\n\nReason briefly inside \
<think></think>, then write exactly \"Response 1 is better\" or \"Response 2 is better\" \
inside <answer></answer>.";

/// Settings of an [`LlmJudge`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmJudgeConfig {
    /// Base URL up to and including the API version, e.g. `http://127.0.0.1:8000/v1`;
    /// `/chat/completions` is appended.
    pub base_url: String,
    /// The `model` field of the request (vLLM's `--served-model-name`).
    pub model: String,
    /// Name of the environment variable holding the API key; `None` = no `Authorization`.
    pub api_key_env: Option<String>,
    /// Optional system message.
    pub system_prompt: Option<String>,
    /// User message with `{prompt}`, `{response_a}`, `{response_b}`.
    pub template: String,
    /// A file holding the user-message template; when set it replaces `template` (read once,
    /// at [`LlmJudgeConfig::init`]).
    pub template_file: Option<PathBuf>,
    /// Regex that extracts the answer (capture group 1 if it has one, else the whole match).
    pub answer_regex: String,
    /// Case-insensitive substrings meaning "the first response is better".
    pub first_markers: Vec<String>,
    /// Case-insensitive substrings meaning "the second response is better".
    pub second_markers: Vec<String>,
    /// Case-insensitive substrings meaning an explicit tie.
    pub tie_markers: Vec<String>,
    /// `max_tokens` of the request (default 2048, Pref-GRPO).
    pub max_tokens: u32,
    /// `temperature` of the request; `None` = the server's default.
    pub temperature: Option<f64>,
    /// Retries after the first attempt (default 10, Pref-GRPO).
    pub max_retries: u32,
    /// First back-off in milliseconds, doubled after each failure (default 500).
    pub initial_backoff_ms: u64,
    /// Largest back-off in milliseconds (default 30 000).
    pub max_backoff_ms: u64,
    /// Whole-request timeout in milliseconds (default 300 000).
    pub timeout_ms: u64,
    /// Concurrent requests of [`LlmJudge::judge_batch`] (default 16, Pref-GRPO).
    pub workers: usize,
}

impl Default for LlmJudgeConfig {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:8000/v1".to_owned(),
            model: "judge".to_owned(),
            api_key_env: None,
            system_prompt: None,
            template: DEFAULT_TEMPLATE.to_owned(),
            template_file: None,
            answer_regex: r"(?s)<answer>(.*?)</answer>".to_owned(),
            first_markers: vec!["1 is better".to_owned()],
            second_markers: vec!["2 is better".to_owned()],
            tie_markers: Vec::new(),
            max_tokens: 2048,
            temperature: None,
            max_retries: 10,
            initial_backoff_ms: 500,
            max_backoff_ms: 30_000,
            timeout_ms: 300_000,
            workers: 16,
        }
    }
}

impl LlmJudgeConfig {
    /// Validates the settings, reads the API key, and builds the judge.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the field: an unparsable `answer_regex`, a `template`
    /// without all three placeholders, empty marker lists, `workers == 0`, `timeout_ms == 0`,
    /// a `base_url` that is not `http(s)://`, an `api_key_env` variable that is not set (the
    /// message names the variable, never a value), or a `template_file` that cannot be read.
    pub fn init(&self) -> Result<LlmJudge> {
        let mut config = self.clone();
        if let Some(path) = &self.template_file {
            config.template = std::fs::read_to_string(path).map_err(|e| {
                invalid::<Error>(
                    "template_file",
                    format!("cannot read `{}`: {e}", path.display()),
                )
            })?;
        }
        config.init_checked()
    }

    fn init_checked(self) -> Result<LlmJudge> {
        let answer_regex = Regex::new(&self.answer_regex)
            .map_err(|e| invalid::<Error>("answer_regex", format!("does not compile: {e}")))?;
        for placeholder in PLACEHOLDERS {
            if !self.template.contains(placeholder) {
                return Err(invalid(
                    "template",
                    format!("must contain the placeholder {placeholder}"),
                ));
            }
        }
        if self.first_markers.iter().all(String::is_empty) {
            return Err(invalid(
                "first_markers",
                "needs at least one non-empty marker",
            ));
        }
        if self.second_markers.iter().all(String::is_empty) {
            return Err(invalid(
                "second_markers",
                "needs at least one non-empty marker",
            ));
        }
        if self.workers == 0 {
            return Err(invalid("workers", "must be > 0"));
        }
        let api_key = match &self.api_key_env {
            None => ApiKey::none(),
            Some(var) => ApiKey::new(std::env::var(var).map_err(|_| {
                invalid::<Error>(
                    "api_key_env",
                    format!("environment variable `{var}` is not set (or not unicode)"),
                )
            })?),
        };
        let client = self.client_config(api_key).init().map_err(judge_error)?;
        Ok(LlmJudge {
            config: self,
            answer_regex,
            client,
            judgements: AtomicU64::new(0),
            attempts: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            unparsable: AtomicU64::new(0),
        })
    }

    /// The chat-client settings these fields stand for (`max_attempts = max_retries + 1`).
    pub fn client_config(&self, api_key: ApiKey) -> ChatClientConfig {
        let mut config = ChatClientConfig::new(self.base_url.clone());
        config.api_key = api_key;
        config.timeout = Duration::from_millis(self.timeout_ms);
        config.max_attempts = self.max_retries.saturating_add(1);
        config.backoff_initial = Duration::from_millis(self.initial_backoff_ms);
        config.backoff_max = Duration::from_millis(self.max_backoff_ms);
        config.max_idle_connections = self.workers;
        config
    }
}

const PLACEHOLDERS: [&str; 3] = ["{prompt}", "{response_a}", "{response_b}"];

/// A chat-client error in this crate's terms: endpoint failures become [`Error::Endpoint`],
/// invalid settings name the judge's own TOML keys.
fn judge_error(e: CoreError) -> Error {
    match e {
        CoreError::EndpointExhausted {
            url,
            attempts,
            last_error,
        } => Error::Endpoint {
            url,
            attempts,
            last_error,
        },
        CoreError::EndpointRejected {
            url,
            attempts,
            message,
        } => Error::Endpoint {
            url,
            attempts,
            last_error: message,
        },
        CoreError::InvalidConfig(prefopt_core::InvalidConfig { field, reason }) => invalid(
            match field {
                "endpoint" => "base_url",
                "timeout" => "timeout_ms",
                "max_attempts" => "max_retries",
                other => other,
            },
            reason,
        ),
        other => Error::Judge(other.to_string()),
    }
}

/// Counters of an [`LlmJudge`] since it was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LlmJudgeStats {
    /// Judgements asked for.
    pub judgements: u64,
    /// HTTP attempts made (including retries).
    pub attempts: u64,
    /// Attempts that failed and were retried.
    pub retries: u64,
    /// Answers that could not be parsed (scored as ties).
    pub unparsable: u64,
}

impl LlmJudgeStats {
    /// The counters as metrics (`judge/judgements`, `judge/attempts`, `judge/retries`,
    /// `judge/unparsable`).
    pub fn metrics(&self) -> Vec<(String, f64)> {
        vec![
            ("judge/judgements".to_owned(), self.judgements as f64),
            ("judge/attempts".to_owned(), self.attempts as f64),
            ("judge/retries".to_owned(), self.retries as f64),
            ("judge/unparsable".to_owned(), self.unparsable as f64),
        ]
    }
}

/// How an answer was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParsedAnswer {
    /// A clear verdict (including an explicit tie marker).
    Verdict(Verdict),
    /// Nothing usable; scored as a tie and counted.
    Unparsable,
}

/// A pairwise judge over an OpenAI-compatible chat endpoint; see the module docs.
pub struct LlmJudge {
    config: LlmJudgeConfig,
    answer_regex: Regex,
    client: ChatClient,
    judgements: AtomicU64,
    attempts: AtomicU64,
    retries: AtomicU64,
    unparsable: AtomicU64,
}

impl fmt::Debug for LlmJudge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmJudge")
            .field("url", &self.client.url())
            .field("model", &self.config.model)
            .field("api_key", &self.client.config().api_key)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl LlmJudge {
    /// The settings this judge was built from.
    pub fn config(&self) -> &LlmJudgeConfig {
        &self.config
    }

    /// The chat-completions URL it calls.
    pub fn url(&self) -> &str {
        self.client.url()
    }

    /// Replaces the API key (for callers that hold it elsewhere than in the environment).
    ///
    /// # Errors
    /// Never in practice: the other settings were validated when the judge was built.
    pub fn with_api_key(mut self, key: ApiKey) -> Result<Self> {
        let mut config = self.client.config().clone();
        config.api_key = key;
        self.client = config.init().map_err(judge_error)?;
        Ok(self)
    }

    /// Counters since construction.
    pub fn stats(&self) -> LlmJudgeStats {
        LlmJudgeStats {
            judgements: self.judgements.load(Ordering::Relaxed),
            attempts: self.attempts.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            unparsable: self.unparsable.load(Ordering::Relaxed),
        }
    }

    /// The user message for one comparison (single-pass placeholder substitution).
    pub fn render(&self, prompt: &str, response_a: &str, response_b: &str) -> String {
        let mut out = String::with_capacity(
            self.config.template.len() + prompt.len() + response_a.len() + response_b.len(),
        );
        let mut rest = self.config.template.as_str();
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let tail = &rest[start..];
            let hit = [
                ("{prompt}", prompt),
                ("{response_a}", response_a),
                ("{response_b}", response_b),
            ]
            .into_iter()
            .find(|(p, _)| tail.starts_with(p));
            match hit {
                Some((p, value)) => {
                    out.push_str(value);
                    rest = &tail[p.len()..];
                }
                None => {
                    out.push('{');
                    rest = &tail[1..];
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// Reads a verdict from the model's reply.
    pub fn parse(&self, reply: &str) -> ParsedAnswer {
        let Some(caps) = self.answer_regex.captures(reply) else {
            return ParsedAnswer::Unparsable;
        };
        let answer = caps
            .get(1)
            .or_else(|| caps.get(0))
            .map_or("", |m| m.as_str())
            .trim()
            .to_lowercase();
        let has = |markers: &[String]| {
            markers
                .iter()
                .any(|m| !m.is_empty() && answer.contains(&m.to_lowercase()))
        };
        match (
            has(&self.config.first_markers),
            has(&self.config.second_markers),
            has(&self.config.tie_markers),
        ) {
            (true, false, false) => ParsedAnswer::Verdict(Verdict::First),
            (false, true, false) => ParsedAnswer::Verdict(Verdict::Second),
            (false, false, true) => ParsedAnswer::Verdict(Verdict::Tie),
            _ => ParsedAnswer::Unparsable,
        }
    }

    /// The raw reply text for one comparison, with the chat client's retries.
    ///
    /// # Errors
    /// [`Error::Endpoint`] after the last retry, or at once on a non-retryable HTTP status.
    pub fn complete(&self, prompt: &str, response_a: &str, response_b: &str) -> Result<String> {
        let mut messages = Vec::new();
        if let Some(system) = &self.config.system_prompt {
            messages.push(json!({"role": "system", "content": system}));
        }
        messages.push(json!({
            "role": "user",
            "content": self.render(prompt, response_a, response_b),
        }));
        let mut body = json!({
            "model": self.config.model,
            "messages": messages,
            "max_tokens": self.config.max_tokens,
        });
        if let Some(t) = self.config.temperature {
            body["temperature"] = json!(t);
        }
        let result = self.client.complete(&body);
        let attempts = match &result {
            Ok(reply) => reply.attempts,
            Err(e) => e.attempts(),
        };
        self.attempts
            .fetch_add(u64::from(attempts), Ordering::Relaxed);
        self.retries
            .fetch_add(u64::from(attempts.saturating_sub(1)), Ordering::Relaxed);
        result.map(|reply| reply.content).map_err(judge_error)
    }

    /// Judges many (prompt, a, b) triples on at most `workers` threads, results in input order.
    ///
    /// # Errors
    /// The first failed request (after its retries); never partial results.
    pub fn judge_batch(&self, requests: &[(&str, &str, &str)]) -> Result<Vec<Verdict>> {
        run_ordered(self.config.workers, requests.len(), |i| {
            let (p, a, b) = requests[i];
            self.judge(p, a, b)
        })
    }
}

impl PairwiseJudge<str> for LlmJudge {
    fn counters(&self) -> Vec<(&'static str, u64)> {
        let s = self.stats();
        vec![
            ("judge/attempts", s.attempts),
            ("judge/retries", s.retries),
            ("judge/unparsable", s.unparsable),
        ]
    }

    fn judge(&self, prompt: &str, first: &str, second: &str) -> Result<Verdict> {
        self.judgements.fetch_add(1, Ordering::Relaxed);
        let reply = self.complete(prompt, first, second)?;
        match self.parse(&reply) {
            ParsedAnswer::Verdict(v) => Ok(v),
            ParsedAnswer::Unparsable => {
                self.unparsable.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(reply = %snippet(&reply), "unparsable judge answer; counted as a tie");
                Ok(Verdict::Tie)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge() -> LlmJudge {
        LlmJudgeConfig::default().init().unwrap()
    }

    #[test]
    fn parse_like_the_reference() {
        let j = judge();
        assert_eq!(
            j.parse("<think>x</think><answer> Image 1 is better </answer>"),
            ParsedAnswer::Verdict(Verdict::First)
        );
        assert_eq!(
            j.parse("<answer>\nResponse 2 is better\n</answer>"),
            ParsedAnswer::Verdict(Verdict::Second)
        );
        // marker outside the tag does not count; no tag → unparsable
        assert_eq!(j.parse("Response 1 is better"), ParsedAnswer::Unparsable);
        assert_eq!(
            j.parse("<answer>both good</answer>"),
            ParsedAnswer::Unparsable
        );
        assert_eq!(
            j.parse("<answer>1 is better or 2 is better</answer>"),
            ParsedAnswer::Unparsable
        );
    }

    #[test]
    fn render_is_single_pass() {
        let j = judge();
        let s = j.render("P {x}", "A says {response_b}", "B");
        assert!(s.contains("Prompt:\nP {x}\n"));
        assert!(s.contains("Response 1:\nA says {response_b}\n"));
        assert!(s.contains("Response 2:\nB\n"));
    }

    #[test]
    fn validation_names_fields() {
        for (cfg, field) in [
            (
                LlmJudgeConfig {
                    answer_regex: "(".into(),
                    ..Default::default()
                },
                "answer_regex",
            ),
            (
                LlmJudgeConfig {
                    template: "{prompt} {response_a}".into(),
                    ..Default::default()
                },
                "template",
            ),
            (
                LlmJudgeConfig {
                    first_markers: vec![],
                    ..Default::default()
                },
                "first_markers",
            ),
            (
                LlmJudgeConfig {
                    api_key_env: Some("PREFOPT_RL_TEST_SURELY_UNSET_VAR".into()),
                    ..Default::default()
                },
                "api_key_env",
            ),
            (
                LlmJudgeConfig {
                    base_url: "localhost:8000".into(),
                    ..Default::default()
                },
                "base_url",
            ),
        ] {
            let err = cfg.init().unwrap_err();
            assert!(
                matches!(&err, Error::InvalidConfig(c) if c.field == field),
                "{field}: {err}"
            );
        }
    }

    #[test]
    fn key_is_not_in_debug() {
        let j = judge().with_api_key(ApiKey::new("sk-secret-123")).unwrap();
        assert!(!format!("{j:?}").contains("sk-secret-123"));
    }
}
