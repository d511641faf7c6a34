//! `prefopt grpo` on the tiny model: built-in rewards chosen by name, a reward model, bad input.

use crate::fixture::{Setup, tiny_reward_model, tokenizer_dir};
use crate::prefopt;

const PROMPTS: &str = r#"{"prompt": "The sky is"}
{"prompt": "Fire is"}
{"prompt": "Cats say"}
{"prompt": "Water is"}
"#;

fn grpo_config(s: &Setup, extra_model: &str, rewards: &str) -> std::path::PathBuf {
    let prompts = s.file("prompts.jsonl", PROMPTS);
    let text = format!(
        r#"[model]
path = "{model}"
output_dir = "{out}"
{extra_model}

[data]
prompts = "{prompts}"

[grpo]
learning_rate = 1e-3
max_steps = 3
prompts_per_step = 2
seed = 3

[grpo.loss]
num_generations = 4
max_completion_length = 6

[grpo.sampling]
temperature = 1.0

{rewards}
"#,
        model = s.model.display(),
        out = s.path("grpo-out").display(),
        prompts = prompts.display(),
    );
    s.file("grpo.toml", &text)
}

fn run(config: &std::path::Path, sets: &[&str]) -> anyhow::Result<prefopt_cli::GrpoReport> {
    let mut args = vec!["prefopt", "grpo", "--config", config.to_str().unwrap()];
    for s in sets {
        args.extend(["--set", s]);
    }
    let cli = <prefopt_cli::Cli as clap::Parser>::try_parse_from(args)?;
    match cli.command {
        prefopt_cli::Command::Grpo(a) => prefopt_cli::grpo_command(&a),
        _ => unreachable!(),
    }
}

#[test]
fn grpo_with_a_builtin_reward_trains_and_saves_a_loadable_model() {
    let s = Setup::new();
    let config = grpo_config(&s, "", "[[grpo.rewards]]\nname = \"sentiment\"\n");
    let report = run(&config, &[]).unwrap();
    assert_eq!(report.rewards.len(), 3, "one reward line per rollout batch");
    assert!(
        report
            .rewards
            .iter()
            .all(|r| r.is_finite() && (-1.0..=1.0).contains(r))
    );
    let metrics = std::fs::read_to_string(report.output_dir.join("metrics.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(metrics.lines().next().unwrap()).unwrap();
    for key in [
        "reward",
        "reward_std",
        "frac_reward_zero_std",
        "completions/mean_length",
    ] {
        assert!(first.get(key).is_some(), "{key} missing in {first}");
    }
    // The saved policy loads back and has the tokenizer beside it.
    assert!(report.output_dir.join("tokenizer.json").is_file());
    prefopt(&[
        "generate",
        "--model",
        report.output_dir.to_str().unwrap(),
        "--prompts",
        s.path("prompts.jsonl").to_str().unwrap(),
        "--output",
        s.path("after.jsonl").to_str().unwrap(),
        "--max-new-tokens",
        "3",
    ])
    .unwrap();
}

#[test]
fn grpo_with_a_reward_model_by_name() {
    let s = Setup::new();
    let rm = tiny_reward_model(&s.path("rm"), 11);
    for name in [
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
    ] {
        std::fs::copy(tokenizer_dir().join(name), rm.join(name)).unwrap();
    }
    let config = grpo_config(
        &s,
        &format!("reward_model = \"{}\"", rm.display()),
        "[[grpo.rewards]]\nname = \"reward_model\"\n",
    );
    let report = run(&config, &["grpo.max_steps=2"]).unwrap();
    assert_eq!(report.rewards.len(), 2);
    assert!(report.rewards.iter().all(|r| r.is_finite()));
}

#[test]
fn grpo_bad_input_names_the_problem() {
    let s = Setup::new();
    // an unknown reward name lists the known ones
    let config = grpo_config(&s, "", "[[grpo.rewards]]\nname = \"no_such_reward\"\n");
    let err = format!("{:#}", run(&config, &[]).unwrap_err());
    assert!(
        err.contains("no_such_reward") && err.contains("sentiment"),
        "{err}"
    );
    // an unknown key is named
    let config = grpo_config(&s, "", "[[grpo.rewards]]\nname = \"sentiment\"\n");
    let err = format!("{:#}", run(&config, &["grpo.learning_rat=1"]).unwrap_err());
    assert!(err.contains("learning_rat"), "{err}");
    // no rewards at all
    let config = grpo_config(&s, "", "");
    let err = format!("{:#}", run(&config, &[]).unwrap_err());
    assert!(err.contains("[[grpo.rewards]] is empty"), "{err}");
}
