//! The chat client against the testkit's loopback server: retries, refusals, size bound, key.

use std::time::Duration;

use prefopt_core::{ApiKey, ChatClient, ChatClientConfig, CoreError};
use prefopt_testkit::{Reply, Server};
use serde_json::json;

fn client(server: &Server, attempts: u32) -> ChatClient {
    let mut config = ChatClientConfig::new(server.url());
    config.max_attempts = attempts;
    config.backoff_initial = Duration::from_millis(1);
    config.backoff_max = Duration::from_millis(4);
    config.timeout = Duration::from_secs(10);
    config.api_key = ApiKey::new("sk-test-key");
    config.init().unwrap()
}

fn body() -> serde_json::Value {
    json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
}

#[test]
fn retries_then_answers_and_sends_the_key() {
    let server = Server::start(true, None, |r| match r.n {
        0 => Reply::Status(503, "busy".into()),
        1 => Reply::Raw("<html>not json</html>".into()),
        2 => Reply::Status(429, "slow down".into()),
        _ => Reply::Answer("hello".into()),
    });
    let reply = client(&server, 5).complete(&body()).unwrap();
    assert_eq!(reply.content, "hello");
    assert_eq!(reply.attempts, 4);
    let recorded = server.recorded();
    assert_eq!(recorded.len(), 4);
    assert_eq!(recorded[0].path, "/v1/chat/completions");
    assert_eq!(
        recorded[0].header("authorization"),
        Some("Bearer sk-test-key")
    );
    assert_eq!(recorded[3].json(), body());
}

#[test]
fn exhausted_attempts_name_the_url_and_the_last_error() {
    let server = Server::start(false, None, |_| Reply::Status(500, "boom".into()));
    let err = client(&server, 3).complete(&body()).unwrap_err();
    assert!(
        matches!(&err, CoreError::EndpointExhausted { attempts: 3, last_error, .. } if last_error.contains("500")),
        "{err}"
    );
    assert!(err.to_string().contains(&server.url()), "{err}");
    assert!(!err.to_string().contains("sk-test-key"));
    assert_eq!(server.arrivals(), 3);
}

#[test]
fn a_client_error_is_not_retried() {
    let server = Server::start(false, None, |_| Reply::Status(400, "bad model".into()));
    let err = client(&server, 5).complete(&body()).unwrap_err();
    assert!(
        matches!(&err, CoreError::EndpointRejected { attempts: 1, message, .. } if message.contains("bad model")),
        "{err}"
    );
    assert_eq!(server.arrivals(), 1);
}

#[test]
fn an_oversized_reply_is_refused() {
    let server = Server::start(false, None, |_| Reply::Answer("x".repeat(10_000)));
    let mut config = ChatClientConfig::new(server.url());
    config.max_attempts = 2;
    config.backoff_initial = Duration::from_millis(1);
    config.max_response_bytes = 1_000;
    let err = config.init().unwrap().complete(&body()).unwrap_err();
    assert!(
        matches!(err, CoreError::EndpointExhausted { attempts: 2, .. }),
        "{err}"
    );
}

#[test]
fn a_dead_endpoint_is_a_transport_error() {
    let mut server = Server::start(false, None, |_| Reply::Answer("x".into()));
    let c = client(&server, 2);
    server.stop();
    let err = c.complete(&body()).unwrap_err();
    assert!(matches!(err, CoreError::EndpointExhausted { .. }), "{err}");
}
