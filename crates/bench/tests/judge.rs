//! The judge client end to end over real HTTP against the loopback server.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use prefopt_bench::{
    ApiKey, JudgeClient, JudgeClientConfig, JudgeRunConfig, JudgeTemplate, ScoreOptions, Suite,
    SuiteOptions, Verdicts, judge_suite, score,
};

use crate::common::{decode_request, expected_score, good_answer, write_images, write_suite};
use prefopt_testkit::{Reply, Server};

fn client(server: &Server) -> JudgeClient {
    let mut c = JudgeClientConfig::new(server.url(), "QwenVL");
    c.chat.timeout = Duration::from_millis(2000);
    c.chat.max_attempts = 6;
    c.max_parse_retries = 3;
    c.chat.backoff_initial = Duration::from_millis(5);
    c.chat.backoff_max = Duration::from_millis(20);
    c.init().unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    suite: Suite,
    run: JudgeRunConfig,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let suite = Suite::load(write_suite(dir.path()), SuiteOptions::default()).unwrap();
    write_images(&dir.path().join("images"), suite.prompts.len(), 24);
    let mut run = JudgeRunConfig::new(dir.path().join("images"), dir.path().join("v.jsonl"));
    run.workers = 4;
    run.max_consecutive_failures = 3;
    Fixture {
        _dir: dir,
        suite,
        run,
    }
}

/// Every stored verdict has exactly the mock judge's deterministic scores.
fn assert_verdicts_match(path: &Path, suite: &Suite) {
    let all = Verdicts::load(path).unwrap();
    assert_eq!(all.by_key.len(), suite.prompts.len() * 4);
    for p in &suite.prompts {
        for j in 0..4 {
            let v = all.get(p.index, j).unwrap();
            let want: Vec<u8> = (0..p.testpoints.len())
                .map(|k| expected_score(p.index, j, k))
                .collect();
            assert_eq!(v.scores.as_ref(), Some(&want), "({}, {j})", p.index);
            assert!(v.answer.as_deref().unwrap().contains("<score>"));
            assert_eq!(v.analysis.as_ref().unwrap().len(), p.testpoints.len());
        }
    }
}

#[test]
fn request_shape_and_verdicts() {
    let f = fixture();
    let server = Server::start(true, None, good_answer);
    let mut config = JudgeClientConfig::new(server.url(), "QwenVL");
    config.chat.api_key = ApiKey::new("sk-test-secret");
    config.temperature = Some(0.0);
    let client = config.init().unwrap();
    let template = JudgeTemplate::builtin(f.suite.language);
    let summary = judge_suite(&f.suite, &template, &client, &f.run).unwrap();
    assert_eq!((summary.total, summary.judged, summary.failed), (24, 24, 0));
    assert_eq!(
        (
            summary.requests,
            summary.parse_failures,
            summary.http_failures
        ),
        (24, 0, 0)
    );

    let requests = server.recorded();
    assert_eq!(requests.len(), 24);
    // Keep-alive: at most one connection per worker.
    assert!(
        server.connections() <= f.run.workers,
        "{}",
        server.connections()
    );
    let mut seen = BTreeMap::new();
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/v1/chat/completions");
        assert_eq!(r.header("authorization"), Some("Bearer sk-test-secret"));
        assert!(
            r.header("content-type")
                .unwrap()
                .starts_with("application/json")
        );
        let body = r.json();
        assert_eq!(body["model"], "QwenVL");
        assert_eq!(body["max_tokens"], 4096);
        assert_eq!(body["temperature"], 0.0);
        let content = &body["messages"][0]["content"];
        assert_eq!(body["messages"].as_array().unwrap().len(), 1);
        assert_eq!(body["messages"][0]["role"], "user");
        // vLLM order: image first, then text; the image is a base64 JPEG data URI.
        assert_eq!(content[0]["type"], "image_url");
        let url = content[0]["image_url"]["url"].as_str().unwrap();
        let jpeg = base64::engine::general_purpose::STANDARD
            .decode(url.strip_prefix("data:image/jpeg;base64,").unwrap())
            .unwrap();
        let img = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg).unwrap();
        assert_eq!((img.width(), img.height()), (24, 24));
        let (index, j, n, text) = decode_request(r);
        let prompt = f.suite.prompt(index).unwrap();
        assert_eq!(n, prompt.testpoints.len());
        assert!(text.contains(&format!("「{}」", prompt.text)));
        assert!(text.contains(&format!("{}: desc of", prompt.testpoints[0].raw)));
        *seen.entry((index, j)).or_insert(0) += 1;
    }
    // One request per image.
    assert_eq!(seen.len(), 24);
    assert!(seen.values().all(|c| *c == 1));
    assert_verdicts_match(&f.run.verdicts, &f.suite);
    // The key never reaches the store.
    let stored = std::fs::read_to_string(&f.run.verdicts).unwrap();
    assert!(!stored.contains("sk-test-secret"));
}

#[test]
fn retries_500s_and_timeouts() {
    let f = fixture();
    // Requests 0-2 get a 500; request 3 hangs past the client's 2 s timeout; the rest answer.
    let server = Server::start(false, None, |r| match r.n {
        0..=2 => Reply::Status(500, "overloaded".to_string()),
        3 => Reply::Sleep(Duration::from_millis(4000), Box::new(good_answer(r))),
        _ => good_answer(r),
    });
    let client = client(&server);
    let template = JudgeTemplate::builtin(f.suite.language);
    let summary = judge_suite(&f.suite, &template, &client, &f.run).unwrap();
    assert_eq!((summary.judged, summary.failed), (24, 0));
    assert_eq!(summary.http_failures, 4, "{summary:?}");
    assert_eq!(summary.requests, 28);
    assert_eq!(server.arrivals(), 28);
    assert_verdicts_match(&f.run.verdicts, &f.suite);
}

#[test]
fn parse_failures_are_counted_and_requeried() {
    let f = fixture();
    // The first answer for each image is malformed (one score short, then no tags); the
    // re-query gets a good one.
    let seen = Mutex::new(BTreeMap::<(usize, usize), usize>::new());
    let server = Server::start(false, None, move |r| {
        let (index, j, _, _) = decode_request(r);
        let mut seen = seen.lock().unwrap();
        let c = seen.entry((index, j)).or_insert(0);
        *c += 1;
        match (*c, index % 2) {
            (1, 0) => Reply::Answer("<analysis>['a']</analysis><score>[]</score>".to_string()),
            (1, _) => Reply::Answer("I cannot judge this image.".to_string()),
            _ => good_answer(r),
        }
    });
    let client = client(&server);
    let template = JudgeTemplate::builtin(f.suite.language);
    let summary = judge_suite(&f.suite, &template, &client, &f.run).unwrap();
    assert_eq!(
        (summary.judged, summary.parse_failures, summary.requests),
        (24, 24, 48)
    );
    assert_verdicts_match(&f.run.verdicts, &f.suite);
}

#[test]
fn answers_that_never_parse_fail_closed() {
    let mut f = fixture();
    let server = Server::start(false, None, |_| {
        Reply::Answer("<score>[1]</score>".to_string())
    });
    let client = client(&server);
    f.run.resume = false;
    let template = JudgeTemplate::builtin(f.suite.language);
    let summary = judge_suite(&f.suite, &template, &client, &f.run).unwrap();
    // 1 request + 3 re-queries per image, all unparsable.
    assert_eq!(
        (summary.judged, summary.failed, summary.parse_failures),
        (0, 24, 96)
    );
    assert!(!summary.aborted, "parse failures are not endpoint failures");
    let all = Verdicts::load(&f.run.verdicts).unwrap();
    let v = all.get(2, 3).unwrap();
    assert_eq!(v.scores, None);
    assert!(
        v.error.as_deref().unwrap().contains("no <analysis>"),
        "{v:?}"
    );
    assert_eq!(v.answer.as_deref(), Some("<score>[1]</score>"));
    let err = score(&f.suite, &all, ScoreOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("24 failed to judge"), "{err}");
}

#[test]
fn resume_after_the_server_dies() {
    let mut f = fixture();
    let template = JudgeTemplate::builtin(f.suite.language);
    // The first server answers 7 requests and dies.
    let first = Server::start(false, Some(7), good_answer);
    let summary = judge_suite(&f.suite, &template, &client(&first), &f.run).unwrap();
    assert_eq!(summary.judged, 7, "{summary:?}");
    assert!(summary.aborted, "{summary:?}");
    assert!(summary.failed >= 3);
    let partial = Verdicts::load(&f.run.verdicts).unwrap();
    assert_eq!(partial.by_key.values().filter(|v| v.is_judged()).count(), 7);
    let err = score(&f.suite, &partial, ScoreOptions::default()).unwrap_err();
    assert!(err.to_string().contains("no verdict"), "{err}");

    // Without --resume an existing store is refused, not overwritten.
    let second = Server::start(false, None, good_answer);
    let err = judge_suite(&f.suite, &template, &client(&second), &f.run).unwrap_err();
    assert!(err.to_string().contains("--resume"), "{err}");
    assert_eq!(second.arrivals(), 0);

    f.run.resume = true;
    let summary = judge_suite(&f.suite, &template, &client(&second), &f.run).unwrap();
    assert_eq!(
        (summary.skipped, summary.judged, summary.failed),
        (7, 17, 0)
    );
    assert_eq!(second.arrivals(), 17, "only what was not judged is sent");
    assert_verdicts_match(&f.run.verdicts, &f.suite);
    let report = score(
        &f.suite,
        &Verdicts::load(&f.run.verdicts).unwrap(),
        ScoreOptions::default(),
    )
    .unwrap();
    assert_eq!(report.coverage.judged, 24);
}

#[test]
fn garbage_and_fatal_endpoints_are_named() {
    let f = fixture();
    let template = JudgeTemplate::builtin(f.suite.language);
    let server = Server::start(false, None, |_| {
        Reply::Raw("<html>gateway</html>".to_string())
    });
    let summary = judge_suite(&f.suite, &template, &client(&server), &f.run).unwrap();
    assert!(summary.aborted && summary.judged == 0, "{summary:?}");
    let all = Verdicts::load(&f.run.verdicts).unwrap();
    let err = all.by_key.values().next().unwrap().error.clone().unwrap();
    assert!(
        err.contains(&server.url()) && err.contains("not JSON") && err.contains("<html>gateway"),
        "{err}"
    );

    let g = fixture();
    let server = Server::start(false, None, |_| {
        Reply::Raw(r#"{"choices": [{"message": {"content": null}}]}"#.to_string())
    });
    judge_suite(&g.suite, &template, &client(&server), &g.run).unwrap();
    let all = Verdicts::load(&g.run.verdicts).unwrap();
    let err = all.by_key.values().next().unwrap().error.clone().unwrap();
    assert!(err.contains("no choices[0].message.content"), "{err}");

    let h = fixture();
    let server = Server::start(true, None, |_| {
        Reply::Status(401, "invalid api key".to_string())
    });
    let err = judge_suite(&h.suite, &template, &client(&server), &h.run)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("HTTP 401") && err.contains("invalid api key"),
        "{err}"
    );
    // The run stops early, and no image is asked twice: a 401 is not retried.
    let asked: Vec<(usize, usize)> = server
        .recorded()
        .iter()
        .map(|r| {
            let (index, j, _, _) = decode_request(r);
            (index, j)
        })
        .collect();
    let unique: std::collections::BTreeSet<_> = asked.iter().collect();
    assert_eq!(unique.len(), asked.len(), "{asked:?}");
    assert!(asked.len() < 24, "{}", asked.len());
}
