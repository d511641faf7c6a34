//! A judge (or any OpenAI-compatible endpoint) that claims a 1 GB reply is refused after at
//! most `max_response_bytes` have been read, never by reading or allocating the whole claim.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use prefopt_core::{ChatClientConfig, CoreError};

/// Serves one connection: a 200 whose headers claim `claim` bytes, then `sent` bytes of a
/// JSON string, then holds the connection open until the client goes away.
fn lying_server(claim: u64, sent: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request);
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {claim}\r\n\r\n"
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(br#"{"choices":[{"message":{"content":""#);
        let _ = stream.write_all(&vec![b'a'; sent]);
        let _ = stream.flush();
        std::thread::sleep(Duration::from_secs(5));
    });
    url
}

#[test]
fn a_one_gigabyte_reply_claim_is_refused_at_the_limit() {
    let url = lying_server(1 << 30, 2 << 20);
    let mut config = ChatClientConfig::new(url);
    config.max_attempts = 1;
    config.max_response_bytes = 1 << 20;
    config.timeout = Duration::from_secs(30);
    let client = config.init().unwrap();
    let start = Instant::now();
    let err = client
        .complete(&serde_json::json!({"model": "m", "messages": []}))
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "it waited for the claimed body"
    );
    let CoreError::EndpointExhausted { last_error, .. } = &err else {
        panic!("{err}");
    };
    assert!(
        last_error.contains("reading the body") && last_error.contains("limit"),
        "{last_error}"
    );
}
