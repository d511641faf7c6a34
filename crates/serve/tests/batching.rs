//! Concurrent requests are batched, and every answer equals a sequential run's.

use std::sync::{Arc, Barrier};

use serde_json::{Value, json};

use crate::support::{chat, client, start, user};

/// Request `i` of the load test: greedy ones (some with `n` = 2, a stop string, various
/// `max_tokens`) and seeded sampled ones, over prompts of different lengths.
fn request(i: usize) -> Value {
    let prompt = format!("Tell me about the number {i}{}", " and more".repeat(i % 5));
    let mut body = json!({
        "model": "tiny",
        "messages": user(&prompt),
        "max_tokens": 4 + i % 13,
    });
    match i % 4 {
        0 => {
            body["temperature"] = json!(0.9);
            body["top_p"] = json!(0.95);
            body["seed"] = json!(i as u64 * 7919);
        }
        1 => {
            body["temperature"] = json!(0);
            body["n"] = json!(2);
        }
        2 => {
            body["temperature"] = json!(0);
            body["stop"] = json!(["e"]);
        }
        _ => body["temperature"] = json!(0.0),
    }
    body
}

fn choices(answer: &Value) -> Vec<(String, String)> {
    answer["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["message"]["content"].as_str().unwrap().to_owned(),
                c["finish_reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn sixty_four_concurrent_requests_equal_a_sequential_run() {
    const N: usize = 64;
    let server = start(|c| {
        c.max_batch = 8;
        c.queue = N;
        c.batch_wait = std::time::Duration::from_millis(20);
    });
    let sequential: Vec<Value> = (0..N)
        .map(|i| {
            let (status, answer) = chat(&server, &request(i));
            assert_eq!(status, 200, "{answer}");
            answer
        })
        .collect();
    let before = server.stats();
    assert_eq!(
        before.largest_batch, 1,
        "a sequential run has one row per batch"
    );

    let client = Arc::new(client(&server));
    let barrier = Arc::new(Barrier::new(N));
    let concurrent: Vec<(Value, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..N)
            .map(|i| {
                let (client, barrier, server) =
                    (Arc::clone(&client), Arc::clone(&barrier), &server);
                s.spawn(move || {
                    barrier.wait();
                    let (status, answer) = chat(server, &request(i));
                    assert_eq!(status, 200, "{answer}");
                    // The same request once more through the workspace's chat client.
                    let content = client.complete(&request(i)).unwrap().content;
                    (answer, content)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, (alone, (together, content))) in sequential.iter().zip(&concurrent).enumerate() {
        assert_eq!(
            choices(alone),
            choices(together),
            "request {i}: {}",
            request(i)
        );
        assert_eq!(
            &choices(alone)[0].0,
            content,
            "request {i} through ChatClient"
        );
        assert_eq!(alone["usage"], together["usage"], "request {i}");
    }
    let stats = server.stats();
    let rounds = stats.batches - before.batches;
    assert!(
        stats.largest_batch > 2,
        "concurrent requests were never batched together: {stats:?}"
    );
    assert!(
        rounds < 2 * N as u64,
        "{rounds} generate calls for {} requests",
        2 * N
    );
    assert_eq!(stats.completed, 3 * N as u64);
    assert_eq!((stats.queue_full, stats.failed), (0, 0));
    // Sampled answers do vary with the seed (the test could tell them apart).
    let texts: std::collections::BTreeSet<_> = (0..N)
        .step_by(4)
        .map(|i| choices(&sequential[i])[0].0.clone())
        .collect();
    assert!(texts.len() > 1);
}

#[test]
fn a_seeded_answer_does_not_depend_on_the_batch() {
    let server = start(|c| c.batch_wait = std::time::Duration::from_millis(50));
    let seeded = json!({"messages": user("Pick a word."), "temperature": 1.0, "seed": 42,
        "max_tokens": 12, "n": 3});
    let (_, alone) = chat(&server, &seeded);
    // Same request amid unseeded sampled ones with the same settings, and greedy ones.
    let crowd: Vec<Value> = (0..6)
        .map(|i| {
            if i % 2 == 0 {
                json!({"messages": user("Pick a word."), "temperature": 1.0, "max_tokens": 12})
            } else {
                json!({"messages": user("Something else"), "temperature": 0, "max_tokens": 5})
            }
        })
        .collect();
    let barrier = Barrier::new(crowd.len() + 1);
    let together = std::thread::scope(|s| {
        let others: Vec<_> = crowd
            .iter()
            .map(|body| {
                let (server, barrier) = (&server, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    chat(server, body)
                })
            })
            .collect();
        barrier.wait();
        let mine = chat(&server, &seeded);
        for o in others {
            assert_eq!(o.join().unwrap().0, 200);
        }
        mine
    });
    assert_eq!(together.0, 200);
    assert_eq!(choices(&alone), choices(&together.1));
    assert_eq!(choices(&alone).len(), 3);
    // Its three choices come from one stream: they are not all the same.
    let c = choices(&alone);
    assert!(c[0] != c[1] || c[1] != c[2], "{c:?}");
}
