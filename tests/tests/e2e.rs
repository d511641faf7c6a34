//! End-to-end runs of the `prefopt` command line, through the same entry point as the binary.

#[path = "e2e/bad_input.rs"]
mod bad_input;
#[path = "e2e/fixture.rs"]
mod fixture;
#[path = "e2e/generation.rs"]
mod generation;
#[path = "e2e/grpo.rs"]
mod grpo;
#[path = "e2e/grpo_lora.rs"]
mod grpo_lora;
#[path = "e2e/grpo_resume.rs"]
mod grpo_resume;
#[path = "e2e/personalization.rs"]
mod personalization;
#[path = "e2e/personalization_study.rs"]
mod personalization_study;
#[path = "e2e/qlora.rs"]
mod qlora;
#[path = "e2e/serve.rs"]
mod serve;
#[path = "e2e/t2i.rs"]
mod t2i;
#[path = "e2e/t2i_grpo.rs"]
mod t2i_grpo;
#[path = "e2e/t2i_study.rs"]
mod t2i_study;
#[path = "e2e/training.rs"]
mod training;

use clap::Parser;
use prefopt_cli::{Cli, run};

/// Runs the CLI entry point on `args` (without the program name).
pub fn prefopt(args: &[&str]) -> anyhow::Result<()> {
    let cli = Cli::try_parse_from(std::iter::once("prefopt").chain(args.iter().copied()))?;
    run(cli)
}

#[test]
fn devices_checks_the_cpu_backend() {
    prefopt(&["devices", "--device", "cpu"]).expect("the cpu backend is always there");
}

#[test]
fn a_device_without_its_feature_is_a_clear_error() {
    if prefopt_cli::DeviceChoice::Cuda(0).is_compiled() {
        return; // a CUDA build: nothing to check here
    }
    let err = prefopt(&["devices", "--device", "cuda:0"]).unwrap_err();
    assert!(err.to_string().contains("`cuda` cargo feature"), "{err}");
}

#[test]
fn an_unknown_device_is_rejected_at_parse_time() {
    let err = prefopt(&["devices", "--device", "tpu"]).unwrap_err();
    assert!(err.to_string().contains("unknown device `tpu`"), "{err}");
}

#[test]
fn unigenbench_score_names_a_missing_suite_file() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("no_such_suite.csv");
    let verdicts = dir.path().join("verdicts.jsonl");
    std::fs::write(&verdicts, "").unwrap();
    let err = prefopt(&[
        "bench",
        "unigenbench",
        "score",
        "--suite",
        suite.to_str().unwrap(),
        "--verdicts",
        verdicts.to_str().unwrap(),
    ])
    .unwrap_err();
    assert!(format!("{err:#}").contains("no_such_suite.csv"), "{err:#}");
}

#[test]
fn demo_runs_end_to_end_on_its_smoke_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("demo.toml");
    std::fs::write(
        &config,
        toml::to_string(&prefopt_tasks::DemoConfig::smoke()).unwrap(),
    )
    .unwrap();
    let out = dir.path().join("demo_out");
    prefopt(&[
        "demo",
        "--out",
        out.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ])
    .unwrap();
    let results = std::fs::read_to_string(out.join("results.md")).unwrap();
    for method in ["SFT", "DPO", "LiPO-λ", "best-of-"] {
        assert!(results.contains(method), "{method} missing from\n{results}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert!(json.is_object());
    let png = std::fs::read(out.join("reward_kl.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn personalization_study_runs_end_to_end_on_its_smoke_config() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("study");
    prefopt(&[
        "personalization-study",
        "--smoke",
        "--out",
        out.to_str().unwrap(),
    ])
    .unwrap();
    let results = std::fs::read_to_string(out.join("results.md")).unwrap();
    for row in [
        "ContextSFT",
        "NextQuill (full)",
        "oracle: style of the history",
    ] {
        assert!(results.contains(row), "{row} missing from\n{results}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    // The starting checkpoint is scored as it is: no training, no loss.
    assert_eq!(runs[0]["arm"], "base");
    assert!(runs[0]["final_loss"].is_null() && runs[1]["final_loss"].is_f64());
    assert!(results.contains("starting checkpoint, no further training"));
    for run in runs {
        let r1 = run["eval"]["rouge1"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&r1), "{run}");
        // Every held-out generation is scored slot by slot.
        assert_eq!(run["slots"]["examples"], run["eval"]["examples"], "{run}");
    }
    // The base was trained on the pretraining users, not on the train users.
    assert!(out.join("data/pretrain.jsonl").is_file());
    let base_config = std::fs::read_to_string(out.join("base-1/run_config.json")).unwrap();
    assert!(base_config.contains("pretrain.jsonl"), "{base_config}");
    // The oracle that reads the history beats the one that cannot (the task's premise).
    let rows = report["rows"].as_array().unwrap();
    let row = |label: &str| {
        rows.iter()
            .find(|r| r["label"].as_str().unwrap().contains(label))
            .unwrap()
    };
    let history_oracle = row("style of the history");
    let rouge1 = |r: &serde_json::Value| r["rouge1"].as_f64().unwrap();
    assert!(rouge1(history_oracle) > rouge1(row("population style")));
    // Users always sign off their way, so the history oracle always gets the sign-off.
    assert_eq!(history_oracle["slots"]["signoff"].as_f64(), Some(1.0));
    assert_eq!(history_oracle["slots"]["generic"].as_f64(), Some(1.0));
}
