//! End-to-end tests of the LLM judge against the testkit's loopback HTTP server.

use prefopt_rl::{
    Error, LlmJudge, LlmJudgeConfig, PairwiseJudge, RewardFn, Verdict, WinRateConfig, WinRateReward,
};
use prefopt_testkit::{Reply, Request, Server};

fn config(server: &Server) -> LlmJudgeConfig {
    LlmJudgeConfig {
        base_url: server.url(),
        model: "unified-reward".into(),
        max_retries: 3,
        initial_backoff_ms: 1,
        max_backoff_ms: 4,
        timeout_ms: 5_000,
        workers: 4,
        ..Default::default()
    }
}

#[test]
fn request_shape_and_retry_on_500() {
    let server = Server::start(true, None, |r| {
        if r.n == 0 {
            Reply::Status(500, r#"{"error":"overloaded"}"#.into())
        } else {
            Reply::Answer("<think>a</think><answer>Response 1 is better</answer>".into())
        }
    });
    let judge = LlmJudgeConfig {
        // cargo sets CARGO_PKG_NAME when it runs the tests; `std::env::set_var` is unsafe in
        // edition 2024 and this workspace forbids unsafe code.
        api_key_env: Some("CARGO_PKG_NAME".into()),
        system_prompt: Some("You are a careful judge.".into()),
        temperature: Some(0.0),
        ..config(&server)
    }
    .init()
    .unwrap();
    assert_eq!(
        judge.judge("Say hi", "hi", "hello").unwrap(),
        Verdict::First
    );
    let stats = judge.stats();
    assert_eq!((stats.judgements, stats.attempts, stats.retries), (1, 2, 1));
    assert_eq!(stats.unparsable, 0);

    let requests = server.recorded();
    assert_eq!(requests.len(), 2);
    let r = &requests[1];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {}", env!("CARGO_PKG_NAME")).as_str())
    );
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let body = r.json();
    assert_eq!(body["model"], "unified-reward");
    assert_eq!(body["max_tokens"], 2048);
    assert_eq!(body["temperature"], 0.0);
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][0]["content"], "You are a careful judge.");
    assert_eq!(body["messages"][1]["role"], "user");
    let user = body["messages"][1]["content"].as_str().unwrap();
    assert!(user.contains("Prompt:\nSay hi\n"), "{user}");
    assert!(user.contains("Response 1:\nhi\n"), "{user}");
    assert!(user.contains("Response 2:\nhello\n"), "{user}");
    // the key never shows in Debug
    assert!(!format!("{judge:?}").contains(env!("CARGO_PKG_NAME")));
}

#[test]
fn unparsable_answer_is_a_counted_tie() {
    let server = Server::start(true, None, |r| {
        let reply = match r.n {
            0 => "they are both fine",
            1 => "<answer>Response 2 is better</answer>",
            _ => "<answer>Response 1 is better. Response 2 is better.</answer>",
        };
        Reply::Answer(reply.into())
    });
    let judge = config(&server).init().unwrap();
    assert_eq!(judge.judge("p", "a", "b").unwrap(), Verdict::Tie);
    assert_eq!(judge.judge("p", "a", "b").unwrap(), Verdict::Second);
    assert_eq!(judge.judge("p", "a", "b").unwrap(), Verdict::Tie);
    let stats = judge.stats();
    assert_eq!(
        (stats.judgements, stats.unparsable, stats.retries),
        (3, 2, 0)
    );
    let metrics = stats.metrics();
    assert!(metrics.contains(&("judge/unparsable".to_owned(), 2.0)));
}

#[test]
fn endpoint_down_fails_after_retries() {
    // A port that was just free: nothing listens there, so every connect is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let judge = LlmJudgeConfig {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        max_retries: 2,
        initial_backoff_ms: 1,
        timeout_ms: 2_000,
        ..Default::default()
    }
    .init()
    .unwrap();
    let err = judge.judge("p", "a", "b").unwrap_err();
    match &err {
        Error::Endpoint { attempts, url, .. } => {
            assert_eq!(*attempts, 3);
            assert!(url.ends_with("/v1/chat/completions"));
        }
        other => panic!("expected an endpoint error, got {other}"),
    }
    assert_eq!(judge.stats().attempts, 3);
}

#[test]
fn client_error_is_not_retried() {
    let server = Server::start(true, None, |_| {
        Reply::Status(400, r#"{"error":"bad model"}"#.into())
    });
    let judge = config(&server).init().unwrap();
    let err = judge.judge("p", "a", "b").unwrap_err();
    assert!(matches!(err, Error::Endpoint { attempts: 1, .. }), "{err}");
    assert!(err.to_string().contains("HTTP 400"), "{err}");
    assert_eq!(server.recorded().len(), 1);
}

/// A "judge model" that prefers the longer response, read back from the rendered prompt.
fn longer_wins(r: &Request) -> Reply {
    let body = r.json();
    let user = body["messages"][0]["content"].as_str().unwrap().to_owned();
    let between = |from: &str, to: &str| {
        let s = user.find(from).unwrap() + from.len();
        let e = s + user[s..].find(to).unwrap();
        user[s..e].to_owned()
    };
    let a = between("Response 1:\n", "\n\nResponse 2:");
    let b = between("Response 2:\n", "\n\nReason");
    let answer = if a.len() > b.len() {
        "Response 1 is better"
    } else if b.len() > a.len() {
        "Response 2 is better"
    } else {
        "no idea"
    };
    Reply::Answer(format!("<answer>{answer}</answer>"))
}

/// Win rates through the worker pool and the HTTP judge: concurrent calls, deterministic result,
/// swap debiasing doubling the calls.
#[test]
fn win_rate_reward_over_llm_judge() {
    let server = Server::start(true, None, longer_wins);
    let judge: LlmJudge = config(&server).init().unwrap();
    let reward = WinRateReward::new(
        "pref",
        judge,
        WinRateConfig {
            num_generations: 4,
            swap_debias: true,
            workers: 4,
        },
    )
    .unwrap();
    let completions = ["ab", "abcd", "abcdef", "abc", "x", "x", "xy", "xyz"];
    let prompts = ["p", "p", "p", "p", "q", "q", "q", "q"];
    let w = reward.score(&prompts, &completions).unwrap();
    let third = 1.0 / 3.0;
    let want = [
        0.0,
        2.0 * third,
        1.0,
        third,
        0.5 * third,
        0.5 * third,
        2.0 * third,
        1.0,
    ];
    for (got, want) in w.iter().zip(want) {
        assert!((got.unwrap() - want).abs() < 1e-12, "{w:?}");
    }
    let again = reward.score(&prompts, &completions).unwrap();
    assert_eq!(w, again);
    assert_eq!(reward.stats().judge_calls, 2 * 2 * 2 * 6);
    assert_eq!(reward.judge().stats().unparsable, 2 * 2); // the equal pair, both orders, twice
    assert_eq!(server.recorded().len(), 48);
}

#[test]
fn a_failing_judge_fails_the_whole_reward() {
    let server = Server::start(true, None, |r| {
        if r.n < 3 {
            Reply::Answer("<answer>Response 1 is better</answer>".into())
        } else {
            Reply::Status(503, "down".into())
        }
    });
    let judge = LlmJudgeConfig {
        max_retries: 1,
        workers: 1,
        ..config(&server)
    }
    .init()
    .unwrap();
    let reward = WinRateReward::new(
        "pref",
        judge,
        WinRateConfig {
            num_generations: 3,
            workers: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let err = reward
        .score(&["p"; 6], &["a", "b", "c", "d", "e", "f"])
        .unwrap_err();
    assert!(matches!(err, Error::Endpoint { attempts: 2, .. }), "{err}");
}

#[test]
fn judge_batch_keeps_input_order() {
    let server = Server::start(true, None, longer_wins);
    let judge = LlmJudgeConfig {
        workers: 3,
        ..config(&server)
    }
    .init()
    .unwrap();
    let requests = [
        ("p", "aa", "a"),
        ("p", "a", "aa"),
        ("p", "a", "b"),
        ("p", "abc", "ab"),
        ("p", "", "x"),
        ("p", "xyz", "x"),
    ];
    let verdicts = judge.judge_batch(&requests).unwrap();
    use Verdict::{First, Second, Tie};
    assert_eq!(verdicts, vec![First, Second, Tie, First, Second, First]);
    assert_eq!(server.recorded().len(), 6);
    assert_eq!(judge.stats().unparsable, 1);
}
