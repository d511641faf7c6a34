//! The HTTP surface: routes, answers, errors, limits and shutdown.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{
    call, chat, client, long_context_engine, post_raw, post_to, start, start_with, user,
};

#[test]
fn models_health_and_routes() {
    let server = start(|_| {});
    let (status, models) = call(&server, "GET", "/v1/models");
    assert_eq!(status, 200);
    assert_eq!(models["object"], "list");
    assert_eq!(models["data"][0]["id"], "tiny");
    assert_eq!(call(&server, "GET", "/v1/models/tiny").1["id"], "tiny");
    let (status, err) = call(&server, "GET", "/v1/models/other");
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (404, Some("model_not_found"))
    );
    let (status, health) = call(&server, "GET", "/health");
    assert_eq!((status, &health["status"]), (200, &json!("ok")));
    assert_eq!(health["stats"]["accepted"], 0);
    let (status, err) = call(&server, "GET", "/v1/completions");
    assert_eq!(status, 404, "{err}");
    assert_eq!(err["error"]["type"], "not_found_error");
    assert_eq!(call(&server, "GET", "/v1/chat/completions").0, 405);
    assert_eq!(call(&server, "DELETE", "/v1/models").0, 405);
}

#[test]
fn chat_completion_has_openai_shape() {
    let server = start(|_| {});
    let body = json!({"model": "tiny", "messages": user("The sky is"), "max_tokens": 6,
        "temperature": 0});
    let (status, answer) = chat(&server, &body);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["object"], "chat.completion");
    assert!(answer["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(answer["model"], "tiny");
    let choice = &answer["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["message"]["role"], "assistant");
    let text = choice["message"]["content"].as_str().unwrap();
    let usage = &answer["usage"];
    let completion_tokens = usage["completion_tokens"].as_u64().unwrap();
    assert!((1..=6).contains(&completion_tokens), "{answer}");
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["prompt_tokens"].as_u64().unwrap() + completion_tokens
    );
    match choice["finish_reason"].as_str().unwrap() {
        "length" => assert_eq!(completion_tokens, 6),
        "stop" => assert!(completion_tokens <= 6),
        other => panic!("finish_reason {other}"),
    }
    // The workspace's chat client reads the same text (greedy: deterministic).
    assert_eq!(client(&server).complete(&body).unwrap().content, text);
    // No `model` field: the served model.
    let (status, again) = chat(
        &server,
        &json!({"messages": user("The sky is"),
        "max_tokens": 6, "temperature": 0}),
    );
    assert_eq!(status, 200);
    assert_eq!(again["choices"][0]["message"]["content"], text);
}

#[test]
fn n_choices_and_stop_strings() {
    let server = start(|_| {});
    // Greedy: n identical choices, counted n times in usage.
    let (_, greedy) = chat(
        &server,
        &json!({"messages": user("Count"), "temperature": 0,
        "max_tokens": 8, "n": 3}),
    );
    let choices = greedy["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 3);
    assert!(
        choices
            .iter()
            .all(|c| c["message"] == choices[0]["message"])
    );
    let one = greedy["usage"]["completion_tokens"].as_u64().unwrap();
    assert_eq!(one % 3, 0);
    // Sampled: n choices from one stream.
    let (_, sampled) = chat(
        &server,
        &json!({"messages": user("Count"), "temperature": 1.5,
        "max_tokens": 8, "n": 4, "seed": 1}),
    );
    assert_eq!(sampled["choices"].as_array().unwrap().len(), 4);
    assert_eq!(sampled["choices"][3]["index"], 3);

    // A stop string cuts the text before its first occurrence.
    let body = json!({"messages": user("Tell me a story"), "temperature": 0, "max_tokens": 40});
    let (_, full) = chat(&server, &body);
    let text = full["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    let full_tokens = full["usage"]["completion_tokens"].as_u64().unwrap();
    let (at, stop) = text
        .char_indices()
        .skip(1)
        .find(|&(i, c)| !text[..i].contains(c) && !c.is_whitespace())
        .map(|(i, c)| (i, c.to_string()))
        .expect("a greedy completion with at least two distinct characters");
    let mut cut = body.clone();
    cut["stop"] = json!([stop, "\u{1F600}never"]);
    let (status, cut) = chat(&server, &cut);
    assert_eq!(status, 200, "{cut}");
    assert_eq!(cut["choices"][0]["message"]["content"], text[..at]);
    assert_eq!(cut["choices"][0]["finish_reason"], "stop");
    let cut_tokens = cut["usage"]["completion_tokens"].as_u64().unwrap();
    assert!(
        cut_tokens >= 1 && cut_tokens <= full_tokens,
        "{cut_tokens} vs {full_tokens}"
    );
}

#[test]
fn bad_requests_are_answered_with_the_field() {
    let server = start(|c| c.max_request_bytes = 2048);
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"messages": []}), 400, "messages"),
        (
            json!({"messages": user("x"), "temperature": 3}),
            400,
            "temperature",
        ),
        (json!({"messages": user("x"), "n": 9}), 400, "n"),
        (
            json!({"messages": user("x"), "stream": true}),
            400,
            "stream",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "image_url",
            "image_url": {"url": "data:image/png;base64,AAAA"}}]}]}),
            400,
            "messages[0].content[0].type",
        ),
        (
            json!({"messages": user("x"), "max_tokens": 250}),
            400,
            "max_tokens",
        ),
        (
            json!({"messages": user("x"), "model": "gpt-4o"}),
            404,
            "model",
        ),
    ];
    for (body, status, param) in cases {
        let (got, answer) = chat(&server, &body);
        assert_eq!(got, status, "{body} → {answer}");
        assert_eq!(answer["error"]["param"], param, "{body} → {answer}");
        assert!(!answer["error"]["message"].as_str().unwrap().is_empty());
    }
    let (status, answer) = post_raw(&server, "/v1/chat/completions", b"{\"messages\": [");
    assert_eq!(status, 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"),
        "{answer}"
    );
    // A prompt that fills the context is refused naming `messages`.
    let long = "word ".repeat(400);
    let (status, answer) = chat(&server, &json!({"messages": user(&long[..1900])}));
    assert_eq!(
        (status, answer["error"]["param"].as_str()),
        (400, Some("messages")),
        "{answer}"
    );
    // Over the size limit: 413, whatever the content.
    let (status, answer) = chat(&server, &json!({"messages": user(&"x".repeat(3000))}));
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["error"]["code"], "request_too_large");
    // The server still answers afterwards.
    assert_eq!(
        chat(&server, &json!({"messages": user("ok"), "max_tokens": 2})).0,
        200
    );
    assert_eq!(server.stats().accepted, 1);
}

/// A request that runs `tokens` tokens, whatever the model says.
fn slow_request(tokens: usize) -> Value {
    json!({"messages": user("Slow"), "temperature": 0, "ignore_eos": true, "max_tokens": tokens})
}

#[test]
fn a_full_queue_answers_429_at_once() {
    let server = start_with(long_context_engine(), |c| {
        c.max_batch = 1;
        c.queue = 1;
        c.batch_wait = Duration::ZERO;
    });
    let body = slow_request(1000);
    let (status, answer) = chat(&server, &body);
    assert_eq!(status, 200);
    assert_eq!(
        answer["usage"]["completion_tokens"], 1000,
        "ignore_eos runs to max_tokens"
    );
    assert_eq!(answer["choices"][0]["finish_reason"], "length");
    const CLIENTS: usize = 12;
    let barrier = Barrier::new(CLIENTS);
    let results: Vec<(u16, Value, Duration)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let (server, barrier, body) = (&server, &barrier, &body);
                s.spawn(move || {
                    barrier.wait();
                    let started = Instant::now();
                    let (status, answer) = chat(server, body);
                    (status, answer, started.elapsed())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let refused: Vec<_> = results.iter().filter(|r| r.0 == 429).collect();
    let served = results.iter().filter(|r| r.0 == 200).count();
    assert_eq!(refused.len() + served, CLIENTS, "{results:?}");
    assert!(
        !refused.is_empty(),
        "12 clients on 1 slot + 1 queued: some must be refused"
    );
    assert!(served >= 2, "{results:?}");
    for (_, answer, took) in &refused {
        assert_eq!(answer["error"]["code"], "rate_limit_exceeded");
        // Refused without waiting for the batch (a hang would take the client's timeout).
        assert!(*took < Duration::from_secs(10), "{took:?}");
    }
    assert_eq!(server.stats().queue_full, refused.len() as u64);
}

#[test]
fn shutdown_finishes_the_running_batch_and_refuses_the_queue() {
    let server = start_with(long_context_engine(), |c| {
        c.max_batch = 1;
        c.batch_wait = Duration::ZERO;
    });
    let body = slow_request(3000);
    let accepted = server.stats().accepted;
    let addr = server.addr();
    let send = || post_to(addr, "/v1/chat/completions", body.to_string().as_bytes());
    std::thread::scope(|s| {
        let running = s.spawn(send);
        while server.stats().accepted < accepted + 1 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let queued = s.spawn(send);
        while server.stats().accepted < accepted + 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let stats = server.stats();
        let started = Instant::now();
        server.shutdown().unwrap();
        assert!(started.elapsed() < Duration::from_secs(30));
        let (status, answer) = running.join().unwrap();
        assert_eq!(status, 200, "the running batch is finished: {answer}");
        let (status, answer) = queued.join().unwrap();
        assert_eq!(status, 503, "the queued request is refused: {answer}");
        assert_eq!(stats.failed, 0);
        // New requests are refused (the port itself closes when the process exits).
        let url = format!("http://{addr}/v1/chat/completions");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        if let Ok(response) = agent.post(&url).send_json(&body) {
            assert_eq!(response.status().as_u16(), 503);
        }
    });
}
