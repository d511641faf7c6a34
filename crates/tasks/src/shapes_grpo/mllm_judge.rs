//! A multimodal LLM as the pairwise judge of two images for a caption, over an
//! OpenAI-compatible chat endpoint, in UnifiedReward-Think's answer format — the judge
//! Pref-GRPO trains FLUX with.
//!
//! - The request: one user turn `[image_1, image_2, text]` (the reference code's order), the
//!   images as JPEG (quality 95) data URIs from `prefopt_bench`'s encoder, the text the
//!   `template` with `{prompt}` replaced by the caption.
//! - HTTP: the one chat client ([`prefopt_core::ChatClient`]), built from
//!   [`LlmJudgeConfig::client_config`]: transport errors, 429 and 5xx retried with back-off,
//!   then [`prefopt_rl::Error::Endpoint`] — the step fails, no score is dropped.
//! - The answer: parsed by [`LlmJudge::parse`] (`<answer>…</answer>`, then "Image 1 is
//!   better" / "Image 2 is better"); an unparsable answer is a tie, as the reference code
//!   scores it, counted in `judge/unparsable` and logged.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use prefopt_bench::{ImageEncoding, png_bytes_data_uri};
use prefopt_core::chat_client::snippet;
use prefopt_core::{ApiKey, ChatClient, CoreError};
use prefopt_rl::{LlmJudge, LlmJudgeConfig, PairwiseJudge, ParsedAnswer, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::shapes::RgbImage;
use crate::{Result, TaskError};

/// The default instruction, in UnifiedReward-Think's format (reasoning in `<think>`, the
/// verdict `Image 1 is better` or `Image 2 is better` in `<answer>`, the caption appended as
/// `Text Caption: [...]`); `template` replaces it (e.g. with the reference code's exact text).
pub const UNIFIED_REWARD_THINK_TEMPLATE: &str = "You are given a text caption and two images \
generated from it. Compare the two images and decide which one is better.\n\
Rate each image from 1 to 10 on semantic consistency with the caption (objects, counts, \
colours, shapes, sizes, positions and relations), on aesthetics, on authenticity, and on any \
other dimension that matters here, with a short rationale for each score, then add up each \
image's scores.\n\
Write all of this reasoning inside <think> and </think>. Then write exactly one of \
\"Image 1 is better\" or \"Image 2 is better\" inside <answer> and </answer>.\n\
Example: <think>Semantic consistency: Image 1 (8/10) ...; Image 2 (5/10) ... Total: Image 1 \
(24/30), Image 2 (17/30)</think> <answer>Image 1 is better</answer>\n\
Text Caption: [{prompt}]";

/// `[rewards.judge]` of an `mllm_judge_win_rate` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MllmJudgeSpec {
    /// Base URL up to the API version (`http://127.0.0.1:8080/v1`).
    pub base_url: String,
    /// The `model` field (vLLM's `--served-model-name`; Pref-GRPO: `UnifiedReward`).
    pub model: String,
    /// Name of the environment variable holding the API key (none = no `Authorization`).
    pub api_key_env: Option<String>,
    /// The instruction; `{prompt}` is replaced by the caption.
    pub template: String,
    /// `max_tokens` (Pref-GRPO: 2048).
    pub max_tokens: u32,
    /// `temperature`; none = the server's default (as Pref-GRPO).
    pub temperature: Option<f64>,
    /// Retries after the first attempt (Pref-GRPO: 10).
    pub max_retries: u32,
    /// First back-off in milliseconds, doubled per failure.
    pub initial_backoff_ms: u64,
    /// Largest back-off in milliseconds.
    pub max_backoff_ms: u64,
    /// Whole-request timeout in milliseconds.
    pub timeout_ms: u64,
    /// Concurrent requests (Pref-GRPO: 16).
    pub workers: usize,
    /// JPEG quality of the images sent (Pref-GRPO: 95).
    pub jpeg_quality: u8,
}

impl Default for MllmJudgeSpec {
    fn default() -> Self {
        let llm = LlmJudgeConfig::default();
        Self {
            base_url: "http://127.0.0.1:8080/v1".into(),
            model: "UnifiedReward".into(),
            api_key_env: None,
            template: UNIFIED_REWARD_THINK_TEMPLATE.into(),
            max_tokens: llm.max_tokens,
            temperature: None,
            max_retries: llm.max_retries,
            initial_backoff_ms: llm.initial_backoff_ms,
            max_backoff_ms: llm.max_backoff_ms,
            timeout_ms: llm.timeout_ms,
            workers: llm.workers,
            jpeg_quality: 95,
        }
    }
}

fn invalid(key: &str, message: impl std::fmt::Display) -> TaskError {
    TaskError::InvalidInput(format!("judge.{key}: {message}"))
}

impl MllmJudgeSpec {
    /// The LLM-judge settings it stands for (the answer markers are the image ones).
    fn llm_config(&self) -> LlmJudgeConfig {
        LlmJudgeConfig {
            base_url: self.base_url.clone(),
            model: self.model.clone(),
            api_key_env: self.api_key_env.clone(),
            first_markers: vec!["image 1 is better".into()],
            second_markers: vec!["image 2 is better".into()],
            max_tokens: self.max_tokens,
            temperature: self.temperature,
            max_retries: self.max_retries,
            initial_backoff_ms: self.initial_backoff_ms,
            max_backoff_ms: self.max_backoff_ms,
            timeout_ms: self.timeout_ms,
            workers: self.workers,
            ..LlmJudgeConfig::default()
        }
    }

    /// Checks the settings (errors name `judge.<key>`), reads the API key, builds the judge.
    ///
    /// # Errors
    /// An empty `model`, a `template` without `{prompt}`, `jpeg_quality` outside 1..=100,
    /// `workers == 0`, a `base_url` that is not `http(s)://`, an unset `api_key_env` variable.
    pub fn init(&self) -> Result<MllmJudge> {
        if self.model.is_empty() {
            return Err(invalid("model", "must not be empty"));
        }
        if !self.template.contains("{prompt}") {
            return Err(invalid("template", "must contain the placeholder {prompt}"));
        }
        if !(1..=100).contains(&self.jpeg_quality) {
            return Err(invalid(
                "jpeg_quality",
                format!("must be in 1..=100, got {}", self.jpeg_quality),
            ));
        }
        let config = self.llm_config();
        let parser = config.init().map_err(|e| match e {
            prefopt_rl::Error::InvalidConfig(c) => invalid(c.field, c.reason),
            other => TaskError::InvalidInput(format!("judge: {other}")),
        })?;
        let key = match &self.api_key_env {
            Some(var) => ApiKey::from_env(var),
            None => ApiKey::none(),
        };
        let client = config
            .client_config(key)
            .init()
            .map_err(|e| TaskError::InvalidInput(format!("judge: {e}")))?;
        Ok(MllmJudge {
            spec: self.clone(),
            parser,
            client,
            attempts: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            unparsable: AtomicU64::new(0),
        })
    }
}

/// See the module docs.
#[derive(Debug)]
pub struct MllmJudge {
    spec: MllmJudgeSpec,
    parser: LlmJudge,
    client: ChatClient,
    attempts: AtomicU64,
    retries: AtomicU64,
    unparsable: AtomicU64,
}

fn endpoint_error(e: CoreError) -> prefopt_rl::Error {
    match e {
        CoreError::EndpointExhausted {
            url,
            attempts,
            last_error,
        } => prefopt_rl::Error::Endpoint {
            url,
            attempts,
            last_error,
        },
        CoreError::EndpointRejected {
            url,
            attempts,
            message,
        } => prefopt_rl::Error::Endpoint {
            url,
            attempts,
            last_error: message,
        },
        other => prefopt_rl::Error::Judge(other.to_string()),
    }
}

impl MllmJudge {
    /// The chat-completions URL it calls.
    pub fn url(&self) -> &str {
        self.client.url()
    }

    /// An image as the data URI sent (JPEG at `jpeg_quality`).
    ///
    /// # Errors
    /// An image that cannot be encoded.
    pub fn data_uri(&self, image: &RgbImage) -> Result<String> {
        let png = image.to_png()?;
        png_bytes_data_uri(
            Path::new("<rollout image>"),
            &png,
            ImageEncoding::Jpeg(self.spec.jpeg_quality),
        )
        .map_err(|e| TaskError::InvalidInput(format!("encoding an image for the judge: {e}")))
    }

    /// The request body for one comparison: `[image_1, image_2, text]` in one user turn.
    ///
    /// # Errors
    /// As [`MllmJudge::data_uri`].
    pub fn request_body(
        &self,
        caption: &str,
        first: &RgbImage,
        second: &RgbImage,
    ) -> Result<serde_json::Value> {
        let image = |uri: String| json!({"type": "image_url", "image_url": {"url": uri}});
        let text = self.spec.template.replace("{prompt}", caption);
        let mut body = json!({
            "model": self.spec.model,
            "messages": [{"role": "user", "content": [
                image(self.data_uri(first)?),
                image(self.data_uri(second)?),
                {"type": "text", "text": text},
            ]}],
            "max_tokens": self.spec.max_tokens,
        });
        if let Some(t) = self.spec.temperature {
            body["temperature"] = json!(t);
        }
        Ok(body)
    }
}

impl PairwiseJudge<RgbImage> for MllmJudge {
    fn counters(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("judge/attempts", self.attempts.load(Ordering::Relaxed)),
            ("judge/retries", self.retries.load(Ordering::Relaxed)),
            ("judge/unparsable", self.unparsable.load(Ordering::Relaxed)),
        ]
    }

    fn judge(
        &self,
        prompt: &str,
        first: &RgbImage,
        second: &RgbImage,
    ) -> prefopt_rl::Result<Verdict> {
        let body = self
            .request_body(prompt, first, second)
            .map_err(|e| prefopt_rl::Error::Judge(e.to_string()))?;
        let result = self.client.complete(&body);
        let attempts = match &result {
            Ok(reply) => reply.attempts,
            Err(e) => e.attempts(),
        };
        self.attempts
            .fetch_add(u64::from(attempts), Ordering::Relaxed);
        self.retries
            .fetch_add(u64::from(attempts.saturating_sub(1)), Ordering::Relaxed);
        let reply = result.map_err(endpoint_error)?;
        match self.parser.parse(&reply.content) {
            ParsedAnswer::Verdict(v) => Ok(v),
            ParsedAnswer::Unparsable => {
                self.unparsable.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    reply = %snippet(&reply.content),
                    "unparsable image-judge answer; counted as a tie"
                );
                Ok(Verdict::Tie)
            }
        }
    }
}
