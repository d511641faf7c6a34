//! An HTTP error answer in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.

use serde_json::{Value, json};

/// One request's failure, as the client sees it: an HTTP status and OpenAI's error object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status (400, 404, 405, 413, 429, 500, 503).
    pub status: u16,
    /// OpenAI's `type` (`invalid_request_error`, `not_found_error`, ...).
    pub kind: &'static str,
    /// The request field at fault (`messages[1].content`, `max_tokens`, ...), if any.
    pub param: Option<String>,
    /// A human-readable reason.
    pub message: String,
    /// OpenAI's machine-readable `code` (`model_not_found`, `rate_limit_exceeded`, ...), if any.
    pub code: Option<&'static str>,
}

impl ApiError {
    fn new(status: u16, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            param: None,
            message: message.into(),
            code: None,
        }
    }

    /// 400: a malformed body or a bad value of `param`.
    pub fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            param: Some(param.into()),
            ..Self::new(400, "invalid_request_error", message)
        }
    }

    /// 400 about the body as a whole (not JSON, not an object).
    pub fn bad_body(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_request_error", message)
    }

    /// 404 for an unknown path.
    pub fn no_route(method: &str, path: &str) -> Self {
        Self::new(
            404,
            "not_found_error",
            format!(
                "no route for {method} {path}; this server has POST /v1/chat/completions, GET /v1/models and GET /health"
            ),
        )
    }

    /// 404 for a `model` other than the served one.
    pub fn unknown_model(asked: &str, served: &str) -> Self {
        Self {
            param: Some("model".into()),
            code: Some("model_not_found"),
            ..Self::new(
                404,
                "not_found_error",
                format!("the model `{asked}` does not exist; this server serves `{served}`"),
            )
        }
    }

    /// 405 for a known path with the wrong method.
    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        Self::new(
            405,
            "invalid_request_error",
            format!("{method} is not allowed on {path}"),
        )
    }

    /// 413: the body is larger than the server accepts.
    pub fn too_large(limit: usize) -> Self {
        Self {
            code: Some("request_too_large"),
            ..Self::new(
                413,
                "invalid_request_error",
                format!("the request body is larger than {limit} bytes (--max-request-bytes)"),
            )
        }
    }

    /// 429: the queue is full; retry later.
    pub fn queue_full(queue: usize) -> Self {
        Self {
            code: Some("rate_limit_exceeded"),
            ..Self::new(
                429,
                "rate_limit_error",
                format!("the server's queue is full ({queue} requests waiting); retry later"),
            )
        }
    }

    /// 503: the server is shutting down.
    pub fn shutting_down() -> Self {
        Self::new(503, "service_unavailable", "the server is shutting down")
    }

    /// 500: generation failed.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "server_error", message)
    }

    /// The JSON body.
    pub fn to_json(&self) -> Value {
        json!({
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.param {
            Some(p) => write!(f, "HTTP {} ({p}): {}", self.status, self.message),
            None => write!(f, "HTTP {}: {}", self.status, self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_openai_shape() {
        let e = ApiError::invalid("max_tokens", "must be ≥ 1, got 0");
        let j = e.to_json();
        assert_eq!(j["error"]["param"], "max_tokens");
        assert_eq!(j["error"]["type"], "invalid_request_error");
        assert_eq!(j["error"]["message"], "must be ≥ 1, got 0");
        assert!(j["error"]["code"].is_null());
        assert_eq!(e.status, 400);
        let full = ApiError::queue_full(4);
        assert_eq!((full.status, full.code), (429, Some("rate_limit_exceeded")));
        assert_eq!(ApiError::too_large(10).status, 413);
        assert_eq!(
            ApiError::unknown_model("a", "b").to_json()["error"]["code"],
            "model_not_found"
        );
    }
}
