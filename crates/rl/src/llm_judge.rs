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
//! - Transport errors, HTTP 429 and 5xx are retried with exponential back-off (`max_retries`);
//!   then, or at once for any other HTTP error, the call fails with [`Error::Endpoint`]. The
//!   caller must not train the step (the win-rate reward propagates the error).
//! - The API key is read from the environment variable named by `api_key_env` at `init`, sent as
//!   `Authorization: Bearer`, and never logged, printed by `Debug`, or put in an error.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{Error, Result, invalid};
use crate::judge::{PairwiseJudge, Verdict};
use crate::pool::run_bounded;

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
    /// or an `api_key_env` variable that is not set (the message names the variable, never a
    /// value).
    pub fn init(&self) -> Result<LlmJudge> {
        let answer_regex = Regex::new(&self.answer_regex)
            .map_err(|e| invalid("answer_regex", format!("does not compile: {e}")))?;
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
        if self.timeout_ms == 0 {
            return Err(invalid("timeout_ms", "must be > 0"));
        }
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err(invalid(
                "base_url",
                format!(
                    "must start with http:// or https://, got `{}`",
                    self.base_url
                ),
            ));
        }
        let api_key = match &self.api_key_env {
            None => None,
            Some(var) => Some(ApiKey(std::env::var(var).map_err(|_| {
                invalid(
                    "api_key_env",
                    format!("environment variable `{var}` is not set (or not unicode)"),
                )
            })?)),
        };
        Ok(LlmJudge::build(self.clone(), answer_regex, api_key))
    }
}

const PLACEHOLDERS: [&str; 3] = ["{prompt}", "{response_a}", "{response_b}"];

/// An API key whose `Debug` never shows it.
#[derive(Clone)]
struct ApiKey(String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
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
    url: String,
    answer_regex: Regex,
    api_key: Option<ApiKey>,
    agent: ureq::Agent,
    judgements: AtomicU64,
    attempts: AtomicU64,
    retries: AtomicU64,
    unparsable: AtomicU64,
}

impl fmt::Debug for LlmJudge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmJudge")
            .field("url", &self.url)
            .field("model", &self.config.model)
            .field("api_key", &self.api_key)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

enum Attempt {
    Done(String),
    Retry(String),
    Fatal(String),
}

impl LlmJudge {
    fn build(config: LlmJudgeConfig, answer_regex: Regex, api_key: Option<ApiKey>) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_millis(config.timeout_ms)))
            .http_status_as_error(false)
            .build()
            .into();
        let url = format!("{}/chat/completions", config.base_url.trim_end_matches('/'));
        Self {
            config,
            url,
            answer_regex,
            api_key,
            agent,
            judgements: AtomicU64::new(0),
            attempts: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            unparsable: AtomicU64::new(0),
        }
    }

    /// The settings this judge was built from.
    pub fn config(&self) -> &LlmJudgeConfig {
        &self.config
    }

    /// Replaces the API key (for callers that hold it elsewhere than in the environment).
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey(key.into()));
        self
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

    /// The raw reply text for one comparison, with retries.
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
        let attempts = self.config.max_retries + 1;
        let mut backoff = self.config.initial_backoff_ms;
        let mut last_error = String::new();
        for attempt in 1..=attempts {
            self.attempts.fetch_add(1, Ordering::Relaxed);
            match self.attempt(&body) {
                Attempt::Done(text) => return Ok(text),
                Attempt::Fatal(e) => {
                    return Err(Error::Endpoint {
                        url: self.url.clone(),
                        attempts: attempt,
                        last_error: e,
                    });
                }
                Attempt::Retry(e) => {
                    last_error = e;
                    if attempt < attempts {
                        self.retries.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(
                            url = %self.url,
                            attempt,
                            error = %last_error,
                            backoff_ms = backoff,
                            "judge request failed; retrying"
                        );
                        std::thread::sleep(Duration::from_millis(backoff));
                        backoff = (backoff.saturating_mul(2)).min(self.config.max_backoff_ms);
                    }
                }
            }
        }
        Err(Error::Endpoint {
            url: self.url.clone(),
            attempts,
            last_error,
        })
    }

    fn attempt(&self, body: &Value) -> Attempt {
        let mut request = self.agent.post(&self.url);
        if let Some(ApiKey(key)) = &self.api_key {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        let mut response = match request.send_json(body) {
            Ok(r) => r,
            Err(e) => return Attempt::Retry(format!("transport: {e}")),
        };
        let status = response.status().as_u16();
        let text = match response.body_mut().read_to_string() {
            Ok(t) => t,
            Err(e) => return Attempt::Retry(format!("reading body (HTTP {status}): {e}")),
        };
        if status == 429 || (500..600).contains(&status) {
            return Attempt::Retry(format!("HTTP {status}: {}", snippet(&text)));
        }
        if !(200..300).contains(&status) {
            return Attempt::Fatal(format!("HTTP {status}: {}", snippet(&text)));
        }
        let parsed: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => return Attempt::Retry(format!("response is not JSON: {e}")),
        };
        match parsed["choices"][0]["message"]["content"].as_str() {
            Some(content) => Attempt::Done(content.to_owned()),
            None => Attempt::Retry(format!(
                "response has no choices[0].message.content: {}",
                snippet(&text)
            )),
        }
    }

    /// Judges many (prompt, a, b) triples on at most `workers` threads, results in input order.
    ///
    /// # Errors
    /// The first failed request (after its retries); never partial results.
    pub fn judge_batch(&self, requests: &[(&str, &str, &str)]) -> Result<Vec<Verdict>> {
        run_bounded(self.config.workers, requests.len(), |i| {
            let (p, a, b) = requests[i];
            self.judge(p, a, b)
        })
    }
}

fn snippet(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

impl PairwiseJudge<str> for LlmJudge {
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
                matches!(&err, Error::InvalidConfig { field: f, .. } if *f == field),
                "{field}: {err}"
            );
        }
    }

    #[test]
    fn key_is_not_in_debug() {
        let j = judge().with_api_key("sk-secret-123");
        assert!(!format!("{j:?}").contains("sk-secret-123"));
    }
}
