//! `prefopt generate` and `prefopt eval` on the tiny model.

use crate::fixture::{Setup, tiny_model, tiny_reward_model};
use crate::prefopt;

const PROMPTS: &str = r#"{"prompt": "The sky is"}
{"prompt": [{"role": "user", "content": "Name a fruit."}]}
{"prompt": "Fire is"}
"#;

#[test]
fn generate_writes_one_completion_per_prompt() {
    let s = Setup::new();
    let prompts = s.file("prompts.jsonl", PROMPTS);
    let out = s.path("gen/completions.jsonl");
    let args = [
        "generate",
        "--model",
        s.model.to_str().unwrap(),
        "--prompts",
        prompts.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--max-new-tokens",
        "5",
        "--batch-size",
        "2",
    ];
    prefopt(&args).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["prompt"], "The sky is");
    assert!(rows[1]["prompt"].is_array());
    for r in &rows {
        let n = r["num_tokens"].as_u64().unwrap();
        assert!((1..=5).contains(&n), "{r}");
        assert!(r["completion"].is_string());
    }
    // Greedy decoding is deterministic.
    prefopt(&args).unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
}

#[test]
fn eval_reports_mean_reward_and_win_rate() {
    let s = Setup::new();
    let prompts = s.file("prompts.jsonl", PROMPTS);
    let other = tiny_model(&s.path("other"), 99);
    let rm = tiny_reward_model(&s.path("rm"), 5);
    let report_path = s.path("report.json");
    let cli = <prefopt_cli::Cli as clap::Parser>::try_parse_from([
        "prefopt",
        "eval",
        "--model",
        s.model.to_str().unwrap(),
        "--baseline",
        other.to_str().unwrap(),
        "--reward-model",
        rm.to_str().unwrap(),
        "--prompts",
        prompts.to_str().unwrap(),
        "--output",
        report_path.to_str().unwrap(),
        "--max-new-tokens",
        "4",
    ])
    .unwrap();
    let prefopt_cli::Command::Eval(args) = cli.command else {
        unreachable!()
    };
    let report = prefopt_cli::eval_command(&args).unwrap();
    assert_eq!(report.num_prompts, 3);
    assert!(report.mean_reward.is_finite());
    let win = report.win_rate.unwrap();
    assert!((0.0..=1.0).contains(&win));
    // Against itself every prompt is a tie: win rate exactly ½.
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    assert_eq!(saved["num_prompts"], 3);
    let mut same = args.clone();
    same.baseline = Some(s.model.clone());
    same.output = None;
    let tie = prefopt_cli::eval_command(&same).unwrap();
    assert_eq!(tie.win_rate, Some(0.5));
    assert_eq!(tie.ties, Some(3));
    assert_eq!(tie.mean_reward, report.mean_reward);
}
