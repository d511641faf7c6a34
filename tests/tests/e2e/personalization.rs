//! `prefopt nextquill` / `prefopt personal-eval` on the tiny model: the two aligned passes,
//! the baselines from the same config, held-out ROUGE, and bad input.

use std::path::{Path, PathBuf};

use prefopt_train::read_metrics;

use crate::fixture::{Setup, train_quietly};
use crate::prefopt;

/// Item metadata of the Amazon layout.
const META: &str = r#"{"asin": "A1", "title": "red kettle", "description": "a red kettle"}
{"asin": "A2", "title": "blue lamp", "description": "a blue lamp"}
{"asin": "A3", "title": "green bag", "description": ["a green", "bag"]}
{"asin": "A4", "title": "old book", "description": "a book"}
"#;

/// Six users: each writes "the X is nice" in the history and the target.
fn users() -> String {
    let words = ["kettle", "lamp", "bag", "book", "cat", "sky"];
    let mut out = String::new();
    for (u, w) in words.iter().enumerate() {
        out.push_str(&format!(
            r#"{{"user_id": "u{u}", "profile": [{{"asin": "A1", "rating": 5, "title": "good", "text": "the {w} is nice", "timestamp": 10}}, {{"asin": "A2", "rating": 4.0, "title": "fine", "text": "my {w} is fine", "timestamp": 20}}], "data": {{"asin": "A3", "rating": 5, "title": "great", "text": "the {w} is nice and fine"}}}}"#
        ));
        out.push('\n');
    }
    out
}

fn nextquill_config(s: &Setup, out: &Path, tail: &str) -> PathBuf {
    let train = s.file("users.jsonl", &users());
    let meta = s.file("meta.jsonl", META);
    let test = s.file("test.jsonl", &users());
    let text = format!(
        r#"[model]
path = "{model}"

[data]
train = "{train}"
shuffle = false

[training]
output_dir = "{out}"
learning_rate = 1e-2
logging_steps = 1
max_grad_norm = 1.0
per_device_train_batch_size = 3
max_steps = 6
seed = 3

[personalization]
layout = "amazon"
meta = "{meta}"
test = "{test}"
max_new_tokens = 8

{tail}
"#,
        model = s.model.display(),
        train = train.display(),
        out = out.display(),
        meta = meta.display(),
        test = test.display(),
    );
    s.file("nextquill.toml", &text)
}

fn run(config: &Path, extra: &[&str]) -> anyhow::Result<()> {
    train_quietly("nextquill", config, extra)
}

fn first(out: &Path, name: &str) -> f64 {
    read_metrics(out.join("metrics.jsonl"))
        .unwrap()
        .iter()
        .find_map(|r| r.get(name))
        .unwrap_or_else(|| panic!("no {name} in {}", out.display()))
}

#[test]
fn nextquill_trains_on_both_passes_and_scores_held_out_users() {
    let s = Setup::new();
    let out = s.path("nq");
    let config = nextquill_config(&s, &out, "");
    run(&config, &[]).unwrap();

    // The logged loss is L_n + α·L_p with α = 0.1 (one micro-batch per step).
    let metrics = read_metrics(out.join("metrics.jsonl")).unwrap();
    let step1 = &metrics[0];
    let (loss, l_n, l_p) = (
        step1.get("loss").unwrap(),
        step1.get("l_n").unwrap(),
        step1.get("l_p").unwrap(),
    );
    assert!(
        (loss - (l_n + 0.1 * l_p)).abs() < 1e-4,
        "{loss} vs {l_n} + 0.1·{l_p}"
    );
    for name in [
        "preference_token_fraction",
        "mean_data_effect",
        "nll_with_history",
        "nll_null_history",
    ] {
        assert!(
            step1.get(name).is_some_and(f64::is_finite),
            "{name} missing"
        );
    }
    let losses: Vec<f64> = metrics.iter().filter_map(|r| r.get("loss")).collect();
    assert_eq!(losses.len(), 6);
    assert!(losses[5] < losses[0], "no learning: {losses:?}");

    // Held-out evaluation: one generation per test user, scores in range.
    let eval: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("personalization_eval.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(eval["method"], "nextquill");
    assert_eq!(eval["report"]["examples"], 6);
    assert_eq!(eval["report"]["view"], "history");
    let r1 = eval["report"]["rouge1"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&r1), "{r1}");
    let generations = std::fs::read_to_string(out.join("generations_test.jsonl")).unwrap();
    assert_eq!(generations.lines().count(), 6);
    let row: serde_json::Value = serde_json::from_str(generations.lines().next().unwrap()).unwrap();
    assert_eq!(row["user_id"], "u0");
    assert_eq!(row["target"], "the kettle is nice and fine");

    // The saved model is a plain HF checkpoint that `personal-eval` scores again, identically
    // (greedy decoding), here into another directory.
    let again = s.path("again");
    prefopt(&[
        "personal-eval",
        "--config",
        config.to_str().unwrap(),
        "--model",
        out.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ])
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(again.join("generations_test.jsonl")).unwrap(),
        generations
    );
}

#[test]
fn baselines_from_the_same_config_see_the_same_first_batch() {
    // Step 1 of every method starts from the same weights on the same examples, so SFT's
    // loss is NextQuill's null-history NLL and ContextSFT's its with-history NLL: the two
    // passes are aligned token for token.
    let s = Setup::new();
    let nq = s.path("nq");
    let config = nextquill_config(&s, &nq, "");
    run(&config, &["--set", "training.max_steps=1"]).unwrap_or_else(|e| panic!("{e:#}"));
    let ctx = s.path("ctx");
    run(
        &config,
        &[
            "--set",
            "training.max_steps=1",
            "--set",
            "personalization.method=context_sft",
            "--set",
            &format!("training.output_dir={}", ctx.display()),
        ],
    )
    .unwrap();
    let sft = s.path("sft");
    run(
        &config,
        &[
            "--set",
            "training.max_steps=1",
            "--set",
            "personalization.method=sft",
            "--set",
            &format!("training.output_dir={}", sft.display()),
        ],
    )
    .unwrap();
    let close = |a: f64, b: f64| (a - b).abs() < 1e-5 * a.abs().max(1.0);
    assert!(close(first(&ctx, "loss"), first(&nq, "nll_with_history")));
    assert!(close(first(&sft, "loss"), first(&nq, "nll_null_history")));
    // The history changes the prediction: the two NLLs differ.
    assert!((first(&nq, "nll_with_history") - first(&nq, "nll_null_history")).abs() > 1e-6);
    // SFT generates from the null-history prompt.
    let eval: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sft.join("personalization_eval.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(eval["report"]["view"], "null");
}

#[test]
fn the_fixed_data_effect_source_uses_the_reference_model() {
    let s = Setup::new();
    let out = s.path("fixed");
    let config = nextquill_config(
        &s,
        &out,
        "[nextquill]\ndata_effect_source = \"fixed\"\nweight_alignment_term = true\n",
    );
    run(&config, &["--set", "training.max_steps=2"]).unwrap();
    // θ_D = the initial model: at step 1 it equals the trained model, so the fixed and the
    // dynamic estimates agree and so do the weights' statistics.
    let dynamic = s.path("dynamic");
    run(
        &config,
        &[
            "--set",
            "training.max_steps=2",
            "--set",
            "nextquill.data_effect_source=dynamic",
            "--set",
            &format!("training.output_dir={}", dynamic.display()),
        ],
    )
    .unwrap();
    for name in ["loss", "mean_data_effect", "preference_token_fraction"] {
        let (a, b) = (first(&out, name), first(&dynamic, name));
        assert!((a - b).abs() < 1e-5, "{name}: fixed {a} vs dynamic {b}");
    }
}

#[test]
fn lamp_rows_are_evaluated_without_training() {
    let s = Setup::new();
    let lamp = s.file(
        "lamp.jsonl",
        r#"{"id": "1", "input": "Write about the sky.", "output": "The sky is blue.", "profile": [{"id": "p1", "text": "I like the sky.", "date": "2020-01-02"}]}
{"id": "2", "input": "Write about cats.", "output": "Cats say meow.", "profile": [{"id": "p2", "text": "My cat is nice."}]}
"#,
    );
    let config = s.file(
        "lamp.toml",
        &format!(
            "[model]\npath = \"{}\"\n[personalization]\nlayout = \"lamp\"\ntest = \"{}\"\nmax_new_tokens = 4\n",
            s.model.display(),
            lamp.display()
        ),
    );
    let out = s.path("lamp_eval");
    prefopt(&[
        "personal-eval",
        "--config",
        config.to_str().unwrap(),
        "--view",
        "null",
        "--out",
        out.to_str().unwrap(),
    ])
    .unwrap();
    let text = std::fs::read_to_string(out.join("generations_test.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 2);
    assert!(text.contains("\"target\":\"Cats say meow.\""), "{text}");
}

#[test]
fn bad_personalization_input_is_named_and_leaves_nothing() {
    let s = Setup::new();
    // A history item without its timestamp: file, line and field are named.
    let out = s.path("bad");
    let config = nextquill_config(&s, &out, "");
    let bad = s.file(
        "bad.jsonl",
        &users().replacen(r#", "timestamp": 20"#, "", 1),
    );
    let err = run(
        &config,
        &["--set", &format!("data.train={}", bad.display())],
    )
    .unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("bad.jsonl:1") && msg.contains("profile[1].timestamp"),
        "{msg}"
    );
    assert!(!out.exists(), "a failed run left {}", out.display());

    // ... and with --skip-bad-rows the row is counted and skipped.
    run(
        &config,
        &[
            "--set",
            &format!("data.train={}", bad.display()),
            "--set",
            "training.max_steps=1",
            "--skip-bad-rows",
        ],
    )
    .unwrap();

    // Amazon rows need the metadata table.
    let err = run(
        &config,
        &["--set", "personalization.meta=/no_such/meta.jsonl"],
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("no_such"), "{err:#}");
    let err = run(
        &s.file(
            "nometa.toml",
            &std::fs::read_to_string(&config)
                .unwrap()
                .lines()
                .filter(|l| !l.starts_with("meta ="))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        &[],
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("personalization.meta"),
        "{err:#}"
    );

    // A budget below the null-history prompt, and one that no single history item fits in
    // (the null prompt of user 0 has 178 tokens with this tokenizer).
    let err = run(
        &config,
        &["--set", "personalization.prompt.max_prompt_length=30"],
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("null-history prompt has 178 tokens"),
        "{err:#}"
    );
    let err = run(
        &config,
        &["--set", "personalization.prompt.max_prompt_length=179"],
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("does not fit max_prompt_length 179"),
        "{err:#}"
    );

    // data.max_length would cut the two passes differently.
    let err = run(&config, &["--set", "data.max_length=64"]).unwrap_err();
    assert!(format!("{err:#}").contains("data.max_length"), "{err:#}");
}

#[test]
fn a_stopped_nextquill_run_resumes_to_the_same_losses() {
    let s = Setup::new();
    let straight = s.path("straight");
    let config = nextquill_config(&s, &straight, "");
    let sets = |out: &Path, steps: u32| {
        vec![
            "--set".to_string(),
            format!("training.output_dir={}", out.display()),
            "--set".to_string(),
            format!("training.max_steps={steps}"),
            "--set".to_string(),
            "training.save_steps=2".to_string(),
            "--set".to_string(),
            "training.lr_scheduler_type=constant".to_string(),
        ]
    };
    fn args(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    run(&config, &args(&sets(&straight, 4))).unwrap();
    let stopped = s.path("stopped");
    run(&config, &args(&sets(&stopped, 2))).unwrap();
    let resumed = sets(&stopped, 4);
    let mut resume = args(&resumed);
    resume.push("--resume");
    run(&config, &resume).unwrap();
    let losses = |out: &Path| -> Vec<f64> {
        read_metrics(out.join("metrics.jsonl"))
            .unwrap()
            .iter()
            .filter_map(|r| r.get("loss"))
            .collect()
    };
    let (a, b) = (losses(&straight), losses(&stopped));
    assert_eq!((a.len(), b.len()), (4, 4), "{a:?} {b:?}");
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() <= 1e-6, "{a:?} vs {b:?}");
    }
}
