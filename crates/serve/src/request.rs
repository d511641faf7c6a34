//! Parsing and checking the body of `POST /v1/chat/completions`.
//!
//! Every rejection is a 400 that names the field (`messages[1].content`, `temperature`, ...).
//! Fields this text-only server cannot honour (`stream`, tools, image parts, logprobs,
//! penalties, `logit_bias`) are refused rather than silently ignored; fields that do not change
//! the answer (`user`, `metadata`, `store`, ...) are ignored.

use prefopt_data::Message;
use serde_json::{Map, Value};

use crate::api_error::ApiError;

/// Most stop strings per request (OpenAI's limit).
pub const MAX_STOP_STRINGS: usize = 4;

/// Longest stop string, in bytes.
pub const MAX_STOP_BYTES: usize = 256;

/// A checked chat-completions request.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The `model` field, if sent.
    pub model: Option<String>,
    /// The conversation, text only (content parts joined with `\n`).
    pub messages: Vec<Message>,
    /// `max_completion_tokens`, else `max_tokens`: new tokens per choice at most (`None` =
    /// the server's default).
    pub max_tokens: Option<usize>,
    /// Softmax temperature in `[0, 2]` (default 1, as OpenAI); 0 is greedy decoding.
    pub temperature: f64,
    /// Nucleus mass in `(0, 1]` (default 1 = off).
    pub top_p: f64,
    /// Keep the `top_k` most likely tokens (vLLM's extension; 0 or -1 = off).
    pub top_k: usize,
    /// Sampling seed; a seeded request is answered the same whatever else is being served.
    pub seed: Option<u64>,
    /// Strings that end a choice (not included in its text); at most [`MAX_STOP_STRINGS`].
    pub stop: Vec<String>,
    /// Choices to generate, `1..=max_n`.
    pub n: usize,
    /// Generate `max_tokens` tokens whatever the model says (vLLM's extension, for
    /// benchmarks and tests); default false.
    pub ignore_eos: bool,
}

impl ChatRequest {
    /// Whether the request decodes greedily (temperature 0): its answer does not depend on a
    /// seed.
    pub fn is_greedy(&self) -> bool {
        self.temperature == 0.0
    }
}

/// Fields that would change the answer in ways this server does not implement.
const UNSUPPORTED: [(&str, &str); 7] = [
    ("tools", "tool calling is not supported"),
    ("tool_choice", "tool calling is not supported"),
    ("functions", "function calling is not supported"),
    ("function_call", "function calling is not supported"),
    ("audio", "this server is text-only"),
    ("prediction", "predicted outputs are not supported"),
    ("top_logprobs", "log-probabilities are not returned"),
];

/// `obj[name]`, with JSON `null` read as absent (as OpenAI does).
fn get<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

fn number(obj: &Map<String, Value>, name: &str) -> Result<Option<f64>, ApiError> {
    get(obj, name)
        .map(|v| {
            v.as_f64()
                .ok_or_else(|| ApiError::invalid(name, format!("must be a number, got {v}")))
        })
        .transpose()
}

fn integer(obj: &Map<String, Value>, name: &str) -> Result<Option<i128>, ApiError> {
    get(obj, name)
        .map(|v| {
            v.as_i64()
                .map(i128::from)
                .or_else(|| v.as_u64().map(i128::from))
                .ok_or_else(|| ApiError::invalid(name, format!("must be an integer, got {v}")))
        })
        .transpose()
}

fn count(obj: &Map<String, Value>, name: &str) -> Result<Option<usize>, ApiError> {
    integer(obj, name)?
        .map(|n| {
            usize::try_from(n)
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| ApiError::invalid(name, format!("must be ≥ 1, got {n}")))
        })
        .transpose()
}

fn text_content(value: &Value, at: &str) -> Result<String, ApiError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Array(parts) => {
            let mut texts = Vec::with_capacity(parts.len());
            for (j, part) in parts.iter().enumerate() {
                let at = format!("{at}[{j}]");
                let kind = part.get("type").and_then(Value::as_str);
                match (kind, part.get("text").and_then(Value::as_str)) {
                    (Some("text"), Some(text)) => texts.push(text),
                    (Some("text"), None) => {
                        return Err(ApiError::invalid(
                            format!("{at}.text"),
                            "a text part needs a string `text`",
                        ));
                    }
                    (Some(other), _) => {
                        return Err(ApiError::invalid(
                            format!("{at}.type"),
                            format!("`{other}` parts are not supported: this server is text-only"),
                        ));
                    }
                    (None, _) => {
                        return Err(ApiError::invalid(
                            format!("{at}.type"),
                            "a content part needs a `type`",
                        ));
                    }
                }
            }
            Ok(texts.join("\n"))
        }
        other => Err(ApiError::invalid(
            at,
            format!("must be a string or a list of text parts, got {other}"),
        )),
    }
}

fn messages(obj: &Map<String, Value>) -> Result<Vec<Message>, ApiError> {
    let list = get(obj, "messages")
        .ok_or_else(|| ApiError::invalid("messages", "is required"))?
        .as_array()
        .ok_or_else(|| ApiError::invalid("messages", "must be a list of messages"))?;
    if list.is_empty() {
        return Err(ApiError::invalid("messages", "must not be empty"));
    }
    list.iter()
        .enumerate()
        .map(|(i, m)| {
            let at = format!("messages[{i}]");
            let m = m
                .as_object()
                .ok_or_else(|| ApiError::invalid(&at, "must be an object"))?;
            let role = get(m, "role")
                .and_then(Value::as_str)
                .filter(|r| !r.is_empty())
                .ok_or_else(|| {
                    ApiError::invalid(format!("{at}.role"), "must be a non-empty string")
                })?;
            for key in ["tool_calls", "function_call"] {
                if get(m, key).is_some() {
                    return Err(ApiError::invalid(
                        format!("{at}.{key}"),
                        "tool and function calls are not supported",
                    ));
                }
            }
            let content = get(m, "content").ok_or_else(|| {
                ApiError::invalid(format!("{at}.content"), "is required (text only)")
            })?;
            Ok(Message::new(
                role,
                text_content(content, &format!("{at}.content"))?,
            ))
        })
        .collect()
}

fn stop(obj: &Map<String, Value>) -> Result<Vec<String>, ApiError> {
    let stops = match get(obj, "stop") {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.as_str().map(str::to_owned).ok_or_else(|| {
                    ApiError::invalid(format!("stop[{i}]"), format!("must be a string, got {s}"))
                })
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(ApiError::invalid(
                "stop",
                format!("must be a string or a list of strings, got {other}"),
            ));
        }
    };
    if stops.len() > MAX_STOP_STRINGS {
        return Err(ApiError::invalid(
            "stop",
            format!(
                "at most {MAX_STOP_STRINGS} stop strings, got {}",
                stops.len()
            ),
        ));
    }
    if let Some(bad) = stops
        .iter()
        .find(|s| s.is_empty() || s.len() > MAX_STOP_BYTES)
    {
        return Err(ApiError::invalid(
            "stop",
            format!(
                "each stop string needs 1 to {MAX_STOP_BYTES} bytes, got {}",
                bad.len()
            ),
        ));
    }
    Ok(stops)
}

fn refuse_unsupported(obj: &Map<String, Value>) -> Result<(), ApiError> {
    if get(obj, "stream").and_then(Value::as_bool) == Some(true) {
        return Err(ApiError::invalid(
            "stream",
            "streaming is not supported; send `stream: false` or leave it out",
        ));
    }
    if get(obj, "logprobs").and_then(Value::as_bool) == Some(true) {
        return Err(ApiError::invalid(
            "logprobs",
            "log-probabilities are not returned",
        ));
    }
    for (key, why) in UNSUPPORTED {
        if get(obj, key).is_some() {
            return Err(ApiError::invalid(key, why));
        }
    }
    for key in ["presence_penalty", "frequency_penalty"] {
        if let Some(p) = number(obj, key)?
            && p != 0.0
        {
            return Err(ApiError::invalid(
                key,
                format!("only 0 is supported, got {p}"),
            ));
        }
    }
    if get(obj, "logit_bias")
        .and_then(Value::as_object)
        .is_some_and(|m| !m.is_empty())
    {
        return Err(ApiError::invalid("logit_bias", "is not supported"));
    }
    if let Some(format) = get(obj, "response_format") {
        let kind = format.get("type").and_then(Value::as_str);
        if kind != Some("text") {
            return Err(ApiError::invalid(
                "response_format",
                "only {\"type\": \"text\"} is supported",
            ));
        }
    }
    Ok(())
}

/// Parses and checks a chat-completions body.
///
/// `max_n` bounds `n` (the server's `--max-batch`: a request's choices are generated in one
/// batch).
///
/// # Errors
/// A 400 [`ApiError`] naming the field: the body is not a JSON object, `messages` is missing,
/// empty or not text, a number is out of range (`temperature` ∉ [0, 2], `top_p` ∉ (0, 1],
/// `max_tokens` < 1, `n` ∉ [1, `max_n`], a negative `top_k` other than −1), too many or
/// empty stop strings, or a field this server does not implement.
pub fn parse_chat_request(body: &[u8], max_n: usize) -> Result<ChatRequest, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_body(format!("the body is not valid JSON: {e}")))?;
    let obj = value
        .as_object()
        .ok_or_else(|| ApiError::bad_body("the body must be a JSON object"))?;
    refuse_unsupported(obj)?;
    let model = match get(obj, "model") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(ApiError::invalid(
                "model",
                format!("must be a string, got {other}"),
            ));
        }
    };
    let messages = messages(obj)?;
    let max_tokens = match count(obj, "max_completion_tokens")? {
        Some(n) => Some(n),
        None => count(obj, "max_tokens")?,
    };
    let temperature = number(obj, "temperature")?.unwrap_or(1.0);
    if !(0.0..=2.0).contains(&temperature) {
        return Err(ApiError::invalid(
            "temperature",
            format!("must be in [0, 2], got {temperature}"),
        ));
    }
    let top_p = number(obj, "top_p")?.unwrap_or(1.0);
    if !(top_p > 0.0 && top_p <= 1.0) {
        return Err(ApiError::invalid(
            "top_p",
            format!("must be in (0, 1], got {top_p}"),
        ));
    }
    let top_k = match integer(obj, "top_k")? {
        None | Some(-1) => 0,
        Some(k) => usize::try_from(k).map_err(|_| {
            ApiError::invalid("top_k", format!("must be ≥ 0 (or −1 = off), got {k}"))
        })?,
    };
    // OpenAI's seed is a signed 64-bit integer; both signs map one-to-one onto u64.
    let seed = integer(obj, "seed")?
        .map(|s| {
            i64::try_from(s)
                .map(|s| s as u64)
                .or_else(|_| u64::try_from(s))
                .map_err(|_| ApiError::invalid("seed", format!("must fit in 64 bits, got {s}")))
        })
        .transpose()?;
    let n = count(obj, "n")?.unwrap_or(1);
    if n > max_n {
        return Err(ApiError::invalid(
            "n",
            format!("at most {max_n} choices per request (the server's --max-batch), got {n}"),
        ));
    }
    let ignore_eos = match get(obj, "ignore_eos") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(ApiError::invalid(
                "ignore_eos",
                format!("must be true or false, got {other}"),
            ));
        }
    };
    Ok(ChatRequest {
        model,
        messages,
        max_tokens,
        temperature,
        top_p,
        top_k,
        seed,
        stop: stop(obj)?,
        n,
        ignore_eos,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<ChatRequest, ApiError> {
        parse_chat_request(body.as_bytes(), 8)
    }

    fn param(body: &str) -> String {
        let e = parse(body).unwrap_err();
        assert_eq!(e.status, 400, "{e}");
        e.param.unwrap_or_default()
    }

    #[test]
    fn minimal_request_gets_openai_defaults() {
        let r = parse(r#"{"messages": [{"role": "user", "content": "Hi"}]}"#).unwrap();
        assert_eq!(r.messages, vec![Message::new("user", "Hi")]);
        assert_eq!(r.model, None);
        assert_eq!(r.max_tokens, None);
        assert_eq!((r.temperature, r.top_p, r.top_k, r.n), (1.0, 1.0, 0, 1));
        assert_eq!(r.seed, None);
        assert!(r.stop.is_empty());
        assert!(!r.is_greedy() && !r.ignore_eos);
    }

    #[test]
    fn every_supported_field_is_read() {
        let r = parse(
            r#"{"model": "m", "messages": [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}],
                "max_tokens": 7, "temperature": 0, "top_p": 0.5, "top_k": 3, "seed": -1,
                "stop": ["\n", "END"], "n": 2, "stream": false, "user": "x", "logprobs": false,
                "presence_penalty": 0, "response_format": {"type": "text"}, "ignore_eos": true}"#,
        )
        .unwrap();
        assert_eq!(r.model.as_deref(), Some("m"));
        assert_eq!(r.messages[1].content, "a\nb");
        assert_eq!(r.max_tokens, Some(7));
        assert!(r.is_greedy());
        assert_eq!((r.top_p, r.top_k, r.n), (0.5, 3, 2));
        assert_eq!(r.seed, Some(u64::MAX));
        assert_eq!(r.stop, ["\n", "END"]);
        assert!(r.ignore_eos);
        let r = parse(r#"{"messages": [{"role": "user", "content": "x"}], "stop": "@@",
            "max_tokens": 3, "max_completion_tokens": 5, "top_k": -1, "seed": 18446744073709551615}"#)
        .unwrap();
        assert_eq!(r.stop, ["@@"]);
        assert_eq!(r.max_tokens, Some(5), "max_completion_tokens wins");
        assert_eq!((r.top_k, r.seed), (0, Some(u64::MAX)));
        // null is "not sent"
        let r = parse(r#"{"messages": [{"role": "user", "content": "x"}], "temperature": null, "seed": null}"#).unwrap();
        assert_eq!((r.temperature, r.seed), (1.0, None));
    }

    #[test]
    fn errors_name_the_field() {
        let user = r#"[{"role": "user", "content": "x"}]"#;
        let with = |extra: &str| format!(r#"{{"messages": {user}, {extra}}}"#);
        assert_eq!(parse("{").unwrap_err().param, None);
        assert!(parse("{").unwrap_err().message.contains("not valid JSON"));
        assert!(parse("[]").unwrap_err().message.contains("JSON object"));
        assert_eq!(param("{}"), "messages");
        assert_eq!(param(r#"{"messages": []}"#), "messages");
        assert_eq!(param(r#"{"messages": "hi"}"#), "messages");
        assert_eq!(param(r#"{"messages": [1]}"#), "messages[0]");
        assert_eq!(
            param(r#"{"messages": [{"content": "x"}]}"#),
            "messages[0].role"
        );
        assert_eq!(
            param(r#"{"messages": [{"role": "user"}]}"#),
            "messages[0].content"
        );
        assert_eq!(
            param(
                r#"{"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}"#
            ),
            "messages[1].content[0].type"
        );
        assert_eq!(
            param(r#"{"messages": [{"role": "user", "content": 3}]}"#),
            "messages[0].content"
        );
        assert_eq!(param(&with(r#""max_tokens": 0"#)), "max_tokens");
        assert_eq!(param(&with(r#""max_tokens": 1.5"#)), "max_tokens");
        assert_eq!(param(&with(r#""max_tokens": "8""#)), "max_tokens");
        assert_eq!(param(&with(r#""temperature": 2.5"#)), "temperature");
        assert_eq!(param(&with(r#""temperature": -0.1"#)), "temperature");
        assert_eq!(param(&with(r#""temperature": "hot""#)), "temperature");
        assert_eq!(param(&with(r#""top_p": 0"#)), "top_p");
        assert_eq!(param(&with(r#""top_p": 1.5"#)), "top_p");
        assert_eq!(param(&with(r#""top_k": -2"#)), "top_k");
        assert_eq!(param(&with(r#""n": 0"#)), "n");
        assert_eq!(param(&with(r#""n": 9"#)), "n");
        assert_eq!(param(&with(r#""seed": 1e30"#)), "seed");
        assert_eq!(param(&with(r#""stop": 5"#)), "stop");
        assert_eq!(param(&with(r#""stop": ["a", 1]"#)), "stop[1]");
        assert_eq!(param(&with(r#""stop": ["a", "b", "c", "d", "e"]"#)), "stop");
        assert_eq!(param(&with(r#""stop": [""]"#)), "stop");
        assert_eq!(param(&with(r#""stream": true"#)), "stream");
        assert_eq!(param(&with(r#""logprobs": true"#)), "logprobs");
        assert_eq!(param(&with(r#""tools": []"#)), "tools");
        assert_eq!(
            param(&with(r#""frequency_penalty": 0.5"#)),
            "frequency_penalty"
        );
        assert_eq!(param(&with(r#""logit_bias": {"1": 5}"#)), "logit_bias");
        assert_eq!(
            param(&with(r#""response_format": {"type": "json_object"}"#)),
            "response_format"
        );
        assert_eq!(param(&with(r#""model": 7"#)), "model");
        assert_eq!(param(&with(r#""ignore_eos": 1"#)), "ignore_eos");
    }
}
