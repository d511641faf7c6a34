//! Bad input gives a clear error and leaves no output directory behind.

use std::path::Path;

use clap::Parser;
use prefopt_cli::{Cli, Command, train_command};

use crate::fixture::{PAIRS, Setup, train_quietly};

fn dpo(config: &Path, extra: &[&str]) -> anyhow::Result<()> {
    train_quietly("dpo", config, extra)
}

fn fails_cleanly(config: &Path, out: &Path, extra: &[&str], expect: &[&str]) {
    let err = format!("{:#}", dpo(config, extra).unwrap_err());
    for needle in expect {
        assert!(err.contains(needle), "`{needle}` missing from: {err}");
    }
    assert!(!out.exists(), "a failed run left {} behind", out.display());
}

const BAD_LINE_3: &str = r#"{"prompt": "a", "chosen": " b", "rejected": " c"}
{"prompt": "d", "chosen": " e", "rejected": " f"}
{"prompt": "broken json", "chosen":
{"prompt": "g", "chosen": " h", "rejected": " i"}
"#;

#[test]
fn a_malformed_line_is_named_and_can_be_skipped() {
    let s = Setup::new();
    let train = s.file("train.jsonl", BAD_LINE_3);
    let out = s.path("out");
    let config = s.config(
        "c.toml",
        &train,
        &out,
        "max_steps = 1\nper_device_train_batch_size = 3",
        "",
    );
    fails_cleanly(&config, &out, &[], &["train.jsonl:3"]);

    let cli = Cli::try_parse_from([
        "prefopt",
        "dpo",
        "--config",
        config.to_str().unwrap(),
        "--skip-bad-rows",
        "--no-progress",
        "--no-plots",
    ])
    .unwrap();
    let Command::Dpo(args) = cli.command else {
        unreachable!()
    };
    let report = train_command(prefopt_train::Method::Dpo, &args).unwrap();
    assert_eq!(report.skipped_rows, 1);
    assert_eq!(report.global_step, 1);
}

#[test]
fn an_empty_data_set_is_an_error() {
    let s = Setup::new();
    let train = s.file("empty.jsonl", "\n  \n");
    let out = s.path("out");
    let config = s.config("c.toml", &train, &out, "max_steps = 1", "");
    fails_cleanly(&config, &out, &[], &["empty.jsonl", "empty data set"]);
}

#[test]
fn unknown_config_keys_are_named() {
    let s = Setup::new();
    let train = s.file("train.jsonl", PAIRS);
    let out = s.path("out");
    let config = s.config(
        "c.toml",
        &train,
        &out,
        "max_steps = 1",
        "[dpo]\nbetta = 0.2",
    );
    fails_cleanly(&config, &out, &[], &["[dpo]", "betta"]);
    let config = s.config("d.toml", &train, &out, "max_steps = 1", "");
    fails_cleanly(
        &config,
        &out,
        &["--set", "training.learning_rat=1e-3"],
        &["learning_rat"],
    );
    fails_cleanly(&config, &out, &["--set", "dpo.beta=-1"], &["beta"]);
}

#[test]
fn a_missing_tokenizer_is_an_error() {
    let s = Setup::new();
    let train = s.file("train.jsonl", PAIRS);
    let out = s.path("out");
    let empty = s.path("no_tokenizer_here");
    std::fs::create_dir_all(&empty).unwrap();
    let config = s.config("c.toml", &train, &out, "max_steps = 1", "");
    let set = format!("model.tokenizer={}", empty.display());
    fails_cleanly(
        &config,
        &out,
        &["--set", &set],
        &["tokenizer", "no_tokenizer_here"],
    );
}

#[test]
fn a_missing_config_file_is_named() {
    let s = Setup::new();
    let missing = s.path("nope.toml");
    let err = format!("{:#}", dpo(&missing, &[]).unwrap_err());
    assert!(err.contains("nope.toml"), "{err}");
}
