//! `prefopt serve` on the tiny model: OpenAI requests through the workspace's chat client,
//! concurrent requests batched, and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use prefopt_core::{ChatClient, ChatClientConfig};
use serde_json::{Value, json};

use crate::fixture::Setup;
use crate::prefopt;

/// Parses `prefopt serve <args>` into its arguments.
fn serve_args(args: &[&str]) -> prefopt_cli::ServeArgs {
    let cli = <prefopt_cli::Cli as clap::Parser>::try_parse_from(
        ["prefopt", "serve"].iter().chain(args).copied(),
    )
    .unwrap();
    let prefopt_cli::Command::Serve(args) = cli.command else {
        unreachable!()
    };
    args
}

fn client(base_url: &str) -> ChatClient {
    let mut config = ChatClientConfig::new(base_url);
    config.max_attempts = 1;
    config.timeout = Duration::from_secs(120);
    config.init().unwrap()
}

fn request(i: usize) -> Value {
    let mut body = json!({
        "model": "tiny",
        "messages": [{"role": "user", "content": format!("Question number {i}{}", "?".repeat(i % 7))}],
        "max_tokens": 3 + i % 9,
        "temperature": 0,
    });
    if i.is_multiple_of(3) {
        body["temperature"] = json!(0.8);
        body["seed"] = json!(1000 + i);
    }
    body
}

#[test]
fn serve_answers_the_chat_client_and_batches_concurrent_requests() {
    let s = Setup::new();
    let model = s.model.to_str().unwrap();
    let server = prefopt_cli::serve_start(&serve_args(&[
        "--model",
        model,
        "--port",
        "0",
        "--served-model-name",
        "tiny",
        "--max-batch",
        "6",
        "--batch-wait-ms",
        "20",
    ]))
    .unwrap();
    let client = client(&server.base_url());
    const N: usize = 24;
    let sequential: Vec<String> = (0..N)
        .map(|i| client.complete(&request(i)).unwrap().content)
        .collect();
    let batches_before = server.stats().batches;
    let concurrent: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..N)
            .map(|i| {
                let client = &client;
                scope.spawn(move || client.complete(&request(i)).unwrap().content)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        sequential, concurrent,
        "a batched answer differs from the sequential one"
    );
    let stats = server.stats();
    assert!(stats.largest_batch > 1, "{stats:?}");
    assert!(stats.batches - batches_before < N as u64, "{stats:?}");
    assert_eq!(stats.completed, 2 * N as u64);
    // A model name other than the served one is refused, not answered.
    let mut other = request(1);
    other["model"] = json!("gpt-4o");
    let err = client.complete(&other).unwrap_err().to_string();
    assert!(err.contains("404") && err.contains("tiny"), "{err}");
    server.shutdown().unwrap();
}

#[test]
fn serve_rejects_what_it_cannot_serve() {
    let s = Setup::new();
    let gguf = s.file("model.gguf", "GGUF");
    let err = prefopt_cli::serve_start(&serve_args(&[
        "--model",
        gguf.to_str().unwrap(),
        "--port",
        "0",
    ]))
    .unwrap_err();
    // Not a GGUF inside: the error names the file.
    assert!(format!("{err:#}").contains("model.gguf"), "{err:#}");
    let err = prefopt_cli::serve_start(&serve_args(&[
        "--model",
        s.model.to_str().unwrap(),
        "--port",
        "0",
        "--max-batch",
        "0",
    ]))
    .unwrap_err();
    assert!(format!("{err:#}").contains("max_batch"), "{err:#}");
    let err = prefopt_cli::serve_start(&serve_args(&[
        "--model",
        s.path("missing").to_str().unwrap(),
        "--port",
        "0",
    ]))
    .unwrap_err();
    assert!(format!("{err:#}").contains("does not exist"), "{err:#}");
}

/// The environment variable that makes [`serve_child_process`] serve this model directory.
const CHILD_MODEL: &str = "PREFOPT_E2E_SERVE_MODEL";

/// Not a test of its own: the process [`serve_stops_cleanly_on_sigterm`] starts and signals.
#[test]
#[ignore = "run by serve_stops_cleanly_on_sigterm in a child process"]
fn serve_child_process() {
    let model = std::env::var(CHILD_MODEL).expect("run by serve_stops_cleanly_on_sigterm");
    prefopt(&[
        "serve",
        "--model",
        &model,
        "--port",
        "0",
        "--served-model-name",
        "tiny",
    ])
    .unwrap();
}

/// `GET path` over a fresh connection; the JSON body.
fn get(addr: SocketAddr, path: &str) -> Value {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn wait_for_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            panic!("`prefopt serve` did not stop within {limit:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(unix)]
#[test]
fn serve_stops_cleanly_on_sigterm() {
    let s = Setup::new();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "serve::serve_child_process",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_MODEL, &s.model)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base_url = loop {
        let line = lines
            .next()
            .expect("the child printed no `serving` line")
            .unwrap();
        if let Some(rest) = line
            .split_once(" at ")
            .filter(|_| line.starts_with("serving"))
        {
            break rest.1.split_whitespace().next().unwrap().to_owned();
        }
    };
    let addr: SocketAddr = base_url
        .trim_start_matches("http://")
        .trim_end_matches("/v1")
        .parse()
        .unwrap();
    let client = client(&base_url);
    assert!(client.complete(&request(0)).is_ok());
    // A long request is being generated when the signal arrives: it is still answered.
    let long = json!({"messages": [{"role": "user", "content": "Go on"}], "temperature": 0,
        "max_tokens": 200, "ignore_eos": true});
    std::thread::scope(|scope| {
        let running = scope.spawn(|| client.complete(&long));
        let started = Instant::now();
        loop {
            let stats = &get(addr, "/health")["stats"];
            if stats["accepted"] == 2 {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "{stats}");
            std::thread::sleep(Duration::from_millis(2));
        }
        let kill = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let answer = running.join().unwrap();
        assert!(
            answer.is_ok(),
            "the in-flight request was dropped: {answer:?}"
        );
    });
    let status = wait_for_exit(&mut child, Duration::from_secs(60));
    assert!(status.success(), "{status}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.starts_with("stopped")), "{rest:?}");
    // The port is closed.
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(5)).is_err());
}

/// `prefopt grpo` with a Pref-GRPO win-rate reward whose LLM judge is `prefopt serve` on the
/// loopback: every judge call is answered by the server, parsed answers become verdicts and
/// the rest ties, and the win rates reach the metrics.
#[test]
fn grpo_uses_prefopt_serve_as_its_llm_judge() {
    let s = Setup::new();
    let judge = crate::fixture::tiny_model(&s.path("judge"), 5);
    let server = prefopt_cli::serve_start(&serve_args(&[
        "--model",
        judge.to_str().unwrap(),
        "--port",
        "0",
        "--served-model-name",
        "judge",
    ]))
    .unwrap();
    let prompts = s.file(
        "prompts.jsonl",
        "{\"prompt\": \"The sky is\"}\n{\"prompt\": \"Fire is\"}\n{\"prompt\": \"Cats say\"}\n",
    );
    let out = s.path("grpo-out");
    // The tiny judge writes random bytes: a "w" without an "a" reads as "the first is better",
    // an "a" without a "w" as "the second", anything else is unparsable (a tie).
    let config = s.file(
        "grpo.toml",
        &format!(
            r#"[model]
path = "{model}"
output_dir = "{out}"

[data]
prompts = "{prompts}"

[grpo]
learning_rate = 1e-3
max_steps = 2
prompts_per_step = 2
seed = 3

[grpo.loss]
num_generations = 3
max_completion_length = 5

[[grpo.rewards]]
name = "pref"
kind = "win_rate"
workers = 4

[grpo.rewards.judge]
kind = "llm"
base_url = "{base_url}"
model = "judge"
template = "{{prompt}} A: {{response_a}} B: {{response_b}}"
answer_regex = "(?s)(.*)"
first_markers = ["w"]
second_markers = ["a"]
max_tokens = 12
temperature = 0.0
max_retries = 0
"#,
            model = s.model.display(),
            out = out.display(),
            prompts = prompts.display(),
            base_url = server.base_url(),
        ),
    );
    prefopt(&["grpo", "--config", config.to_str().unwrap()]).unwrap();
    let metrics: Vec<Value> = std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|m: &Value| m.get("rewards/pref/mean").is_some())
        .collect();
    assert_eq!(metrics.len(), 2, "one line per step");
    let total = |key: &str| -> f64 {
        metrics
            .iter()
            .map(|m| m[key].as_f64().unwrap_or_else(|| panic!("{key} in {m}")))
            .sum()
    };
    for m in &metrics {
        let win_rate = m["rewards/pref/mean"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&win_rate), "{m}");
    }
    // Every judge request went to the server and was answered.
    let stats = server.stats();
    assert_eq!(
        total("rewards/pref/judge/attempts") as u64,
        stats.completed,
        "{stats:?}"
    );
    assert_eq!(stats.completed, 2 * 2 * 3, "2 steps × 2 groups × 3 pairs");
    assert_eq!(stats.failed, 0);
    // One judge call per comparison; a parsed answer is a verdict, an unparsable one a tie.
    let comparisons = total("rewards/pref/comparisons");
    assert_eq!(comparisons, total("rewards/pref/judge/attempts"));
    let (ties, unparsable) = (
        total("rewards/pref/ties"),
        total("rewards/pref/judge/unparsable"),
    );
    assert_eq!(ties, unparsable, "{metrics:?}");
    assert!(ties < comparisons, "no answer was parsed: {metrics:?}");
    server.shutdown().unwrap();
}
