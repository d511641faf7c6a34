//! Throughput of `prefopt serve`'s batching against serving one request at a time.
//!
//! `cargo bench -p prefopt-serve --bench serving`
//!
//! A random Llama (hidden 512, 8 layers, 25 M parameters, the fixture tokenizer's 288-token
//! vocabulary) is
//! served on the loopback three times — `max_batch` 1 (one request at a time), 4 and 8 — and
//! the same 32 requests (distinct prompts, 24 new tokens each with `ignore_eos`) are sent by 16
//! concurrent clients through the workspace's chat client; median of 3 timed runs after a
//! warm-up. Greedy requests and unseeded sampled ones (temperature 0.8) are both batchable.
//! Bounded: a fixed number of requests; it stops itself if a run takes over 5 minutes.
#![allow(clippy::print_stdout, missing_docs)]

use std::path::Path;
use std::time::{Duration, Instant};

use burn::prelude::Device;
use prefopt_core::{ChatClient, ChatClientConfig};
use prefopt_data::Tokenizer;
use prefopt_models::{CausalLm, LlamaConfig};
use prefopt_serve::{Engine, ServeConfig};
use serde_json::{Value, json};

const CONFIG: &str = r#"{"model_type":"llama","vocab_size":288,"hidden_size":512,
  "intermediate_size":1376,"num_hidden_layers":8,"num_attention_heads":8,"num_key_value_heads":4,
  "max_position_embeddings":1024,"rms_norm_eps":1e-6,"rope_theta":10000.0,"eos_token_id":2,
  "tie_word_embeddings":false}"#;
const REQUESTS: usize = 32;
const CLIENTS: usize = 16;
const NEW_TOKENS: usize = 24;
const REPEATS: usize = 3;
const RUN_LIMIT: Duration = Duration::from_secs(300);

fn engine() -> Engine {
    let config = LlamaConfig::from_hf_str(CONFIG, "<bench>").unwrap();
    let model = CausalLm::init_random(config, 1, &Device::flex()).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/tests/fixtures/tiny_tokenizer");
    Engine::new(model, Tokenizer::from_dir(&dir).unwrap()).unwrap()
}

fn request(i: usize, temperature: f64) -> Value {
    json!({
        "messages": [{"role": "user", "content": format!("Request {i}: {}", "tell me more ".repeat(i % 4))}],
        "max_tokens": NEW_TOKENS,
        "ignore_eos": true,
        "temperature": temperature,
    })
}

/// Sends the requests from `CLIENTS` threads; the answers in request order and the wall time.
fn run(client: &ChatClient, temperature: f64) -> (Vec<String>, f64) {
    let started = Instant::now();
    let mut answers = vec![String::new(); REQUESTS];
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|c| {
                s.spawn(move || {
                    (c..REQUESTS)
                        .step_by(CLIENTS)
                        .map(|i| {
                            assert!(
                                started.elapsed() < RUN_LIMIT,
                                "a run took over {RUN_LIMIT:?}"
                            );
                            (
                                i,
                                client.complete(&request(i, temperature)).unwrap().content,
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            for (i, text) in h.join().unwrap() {
                answers[i] = text;
            }
        }
    });
    (answers, started.elapsed().as_secs_f64())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The machine's load average (Linux), to read the numbers by.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn main() {
    println!("load average before: {}", load_average());
    println!(
        "{REQUESTS} requests × {NEW_TOKENS} new tokens, {CLIENTS} concurrent clients, median of {REPEATS}"
    );
    println!("| workload | max_batch | s per run | requests/s | tokens/s | × one at a time |");
    println!("|---|---|---|---|---|---|");
    for (workload, temperature) in [("greedy", 0.0), ("sampled, no seed", 0.8)] {
        let mut baseline = None;
        let mut greedy_answers: Option<Vec<String>> = None;
        for max_batch in [1, 4, 8] {
            let mut config = ServeConfig::new("bench");
            config.port = 0;
            config.max_batch = max_batch;
            config.batch_wait = Duration::from_millis(5);
            let server = config.start(engine()).unwrap();
            let mut client_config = ChatClientConfig::new(server.base_url());
            client_config.max_attempts = 1;
            let client = client_config.init().unwrap();
            let _ = run(&client, temperature); // warm-up
            let mut times = Vec::new();
            for _ in 0..REPEATS {
                let (answers, seconds) = run(&client, temperature);
                if temperature == 0.0 {
                    // Batching does not change a greedy answer.
                    match &greedy_answers {
                        Some(first) => assert_eq!(first, &answers),
                        None => greedy_answers = Some(answers),
                    }
                }
                times.push(seconds);
            }
            let stats = server.stats();
            server.shutdown().unwrap();
            let t = median(times);
            let rps = REQUESTS as f64 / t;
            let base = *baseline.get_or_insert(rps);
            println!(
                "| {workload} | {max_batch} | {t:.3} | {rps:.2} | {:.0} | {:.2} (largest batch {}) |",
                rps * NEW_TOKENS as f64,
                rps / base,
                stats.largest_batch,
            );
        }
    }
    println!("load average after: {}", load_average());
}
