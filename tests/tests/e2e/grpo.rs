//! `prefopt grpo` on the tiny model: built-in rewards chosen by name, a reward model, bad input;
//! Pref-GRPO on the toy world (a programmatic judge, the reward-hacking study's configs).

use std::path::{Path, PathBuf};

use crate::fixture::{Setup, tiny_reward_model, tokenizer_dir};
use crate::prefopt;

const PROMPTS: &str = r#"{"prompt": "The sky is"}
{"prompt": "Fire is"}
{"prompt": "Cats say"}
{"prompt": "Water is"}
"#;

/// `grpo.toml` for the tiny model: 3 steps of 2 prompts × 4 completions into `grpo-out`, with
/// `extra_model` lines in `[model]` and `rewards` (more tables) at the end.
pub fn grpo_config(s: &Setup, extra_model: &str, rewards: &str) -> std::path::PathBuf {
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

/// `prefopt grpo --config CONFIG --set S...` in process, returning its report.
pub fn run(config: &Path, sets: &[&str]) -> anyhow::Result<prefopt_cli::GrpoReport> {
    let args: Vec<&str> = sets.iter().flat_map(|s| ["--set", *s]).collect();
    run_args(config, &args)
}

/// `prefopt grpo --config CONFIG ARGS...` in process, returning its report.
pub fn run_args(config: &Path, extra: &[&str]) -> anyhow::Result<prefopt_cli::GrpoReport> {
    let mut args = vec!["prefopt", "grpo", "--config", config.to_str().unwrap()];
    args.extend(extra);
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

    // The same checkpoint as a Bradley–Terry judge (`[model] reward_model` by default, and by
    // `path`): win rates with the ties its tie band makes, logged per step.
    for judge in [
        "{ kind = \"reward_model\", tie_margin = 0.49 }".to_owned(),
        format!("{{ kind = \"reward_model\", path = \"{}\" }}", rm.display()),
    ] {
        std::fs::remove_dir_all(s.path("grpo-out")).unwrap();
        let config = grpo_config(
            &s,
            &format!("reward_model = \"{}\"", rm.display()),
            &format!(
                "[[grpo.rewards]]\nname = \"rm_pref\"\nkind = \"win_rate\"\njudge = {judge}\n"
            ),
        );
        run(&config, &["grpo.max_steps=1"]).unwrap();
        let line: serde_json::Value = serde_json::from_str(
            std::fs::read_to_string(s.path("grpo-out/metrics.jsonl"))
                .unwrap()
                .lines()
                .next()
                .unwrap(),
        )
        .unwrap();
        // 2 prompts × C(4, 2) pairs
        assert_eq!(line["rewards/rm_pref/comparisons"], 12.0, "{line}");
        assert!((line["rewards/rm_pref/mean"].as_f64().unwrap() - 0.5).abs() < 1e-9);
        let ties = line["rewards/rm_pref/ties"].as_f64().unwrap();
        if judge.contains("0.49") {
            // σ(Δr) − ½ ≤ 0.49 for any |Δr| < 4.6: a tiny random model's scores always tie.
            assert_eq!(ties, 12.0, "{line}");
        }
    }
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

/// Writes the toy world (`prefopt toy-world`) into `dir`: `dir/model/` and `dir/prompts.jsonl`.
pub fn toy_world(dir: &Path, hidden: usize, seed: u64, prompts: usize, prompt_seed: u64) {
    prefopt(&[
        "toy-world",
        "--out",
        dir.to_str().unwrap(),
        "--hidden",
        &hidden.to_string(),
        "--seed",
        &seed.to_string(),
        "--prompts",
        &prompts.to_string(),
        "--prompt-seed",
        &prompt_seed.to_string(),
    ])
    .unwrap();
}

/// A run file for the toy world in `world` with `grpo` lines appended to `[grpo]` and the
/// reward tables of `rewards`.
pub fn toy_config(
    s: &Setup,
    name: &str,
    world: &Path,
    out: &Path,
    grpo: &str,
    rewards: &str,
) -> PathBuf {
    let text = format!(
        r#"[model]
path = "{model}"
output_dir = "{out}"

[data]
prompts = "{prompts}"

[grpo]
learning_rate = 1e-2
lr_scheduler_type = "constant"
prompts_per_step = 4
seed = 7
{grpo}

[grpo.loss]
num_generations = 8
max_completion_length = 8

{rewards}
"#,
        model = world.join("model").display(),
        prompts = world.join("prompts.jsonl").display(),
        out = out.display(),
    );
    s.file(name, &text)
}

/// Pref-GRPO with a pairwise programmatic judge: win rates from the `toy_h_fraction`
/// comparator, with the ground truth logged beside them at weight 0.
pub const PAIRWISE_TOY_REWARDS: &str = r#"[[grpo.rewards]]
name = "more_h"
kind = "win_rate"
judge = { kind = "programmatic", comparator = "toy_h_fraction" }

[[grpo.rewards]]
name = "toy_h_fraction"
weight = 0.0
"#;

fn metrics(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn window(rows: &[serde_json::Value], key: &str, range: std::ops::Range<usize>) -> f64 {
    let n = range.len() as f64;
    rows[range]
        .iter()
        .map(|r| r[key].as_f64().unwrap())
        .sum::<f64>()
        / n
}

#[test]
fn pref_grpo_with_a_programmatic_judge_raises_the_toy_ground_truth() {
    let s = Setup::new();
    let world = s.path("world");
    toy_world(&world, 32, 11, 16, 1);
    let out = s.path("pref");
    let config = toy_config(
        &s,
        "pref.toml",
        &world,
        &out,
        "max_steps = 14",
        PAIRWISE_TOY_REWARDS,
    );
    let report = run(&config, &[]).unwrap();
    assert_eq!(report.rewards.len(), 14);
    let rows = metrics(&out);
    // Win rates: the group mean is ½ at every step; the judge's stats are logged.
    for r in &rows {
        assert!((r["reward"].as_f64().unwrap() - 0.5).abs() < 1e-9, "{r}");
        assert_eq!(r["rewards/more_h/comparisons"], 4.0 * 28.0);
        assert_eq!(r["rewards/more_h/judge_calls"], 4.0 * 28.0);
        assert!(r["rewards/more_h/ties"].as_f64().unwrap() >= 0.0);
    }
    // The ground truth (fraction of `h`, chance 1/32) rises.
    let gt = "rewards/toy_h_fraction/mean";
    let (first, last) = (window(&rows, gt, 0..3), window(&rows, gt, 11..14));
    assert!(first < 0.15, "{first}");
    assert!(last > first + 0.3, "{first} -> {last}");
}

/// docs/reward-hacking.md through the committed `prefopt grpo` configs, short: pointwise GRPO
/// on the biased proxy trades the ground truth for the `x` bonus, Pref-GRPO win rates from a
/// judge with a tie band do not (seed 1, 30 steps).
#[test]
fn reward_hacking_smoke_pointwise_hacks_and_pairwise_does_not() {
    let s = Setup::new();
    let world = s.path("world");
    toy_world(&world, 64, 101, 32, 2);
    let studies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/studies");
    let mut rows = Vec::new();
    for arm in ["pointwise", "pairwise"] {
        let out = s.path(arm);
        let sets = [
            "grpo.seed=1".to_owned(),
            "grpo.max_steps=30".to_owned(),
            format!("model.path={}", world.join("model").display()),
            format!("data.prompts={}", world.join("prompts.jsonl").display()),
            format!("model.output_dir={}", out.display()),
        ];
        let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
        run(&studies.join(format!("reward-hacking-{arm}.toml")), &sets).unwrap();
        rows.push(metrics(&out));
    }
    let last = |rows: &[serde_json::Value], key| window(rows, key, 25..30);
    let gt = "rewards/toy_ground_truth/mean";
    let x = "rewards/toy_x_fraction/mean";
    let (point, pair) = (&rows[0], &rows[1]);
    assert!(
        last(pair, gt) > 0.95,
        "pairwise ground truth {}",
        last(pair, gt)
    );
    assert!(last(pair, x) < 0.05, "pairwise x {}", last(pair, x));
    assert!(
        last(point, gt) < last(pair, gt) - 0.3,
        "pointwise {} vs pairwise {}",
        last(point, gt),
        last(pair, gt)
    );
    assert!(last(point, x) > 0.2, "pointwise x {}", last(point, x));
    // Both learn the task first: the proxy's task part saturates.
    assert!(window(point, "rewards/toy_task/mean", 25..30) > 0.8);
}

#[test]
fn pref_grpo_bad_reward_entries_name_the_key() {
    let s = Setup::new();
    let world = s.path("world");
    toy_world(&world, 16, 1, 4, 1);
    let out = s.path("out");
    for (rewards, wanted) in [
        (
            "[[grpo.rewards]]\nname = \"w\"\nkind = \"win_rate\"\njudge = { kind = \"programmatic\", comparator = \"nope\" }",
            &["entry 1 (`w`)", "`comparator`", "toy_h_fraction"][..],
        ),
        (
            "[[grpo.rewards]]\nname = \"w\"\nkind = \"win_rate\"",
            &["entry 1 (`w`)", "`judge`"][..],
        ),
        (
            "[[grpo.rewards]]\nname = \"w\"\nkind = \"win_rate\"\njudge = { kind = \"llm\", base_url = \"http://127.0.0.1:9/v1\", template_file = \"no/such/template.txt\" }",
            &["`template_file`", "no/such/template.txt"][..],
        ),
        (
            "[[grpo.rewards]]\nname = \"w\"\nkind = \"win_rate\"\njudge = { kind = \"llm\", tmplate = \"x\" }",
            &["tmplate"][..],
        ),
    ] {
        let config = toy_config(&s, "bad.toml", &world, &out, "max_steps = 1", rewards);
        let err = format!("{:#}", run(&config, &[]).unwrap_err());
        for w in wanted {
            assert!(err.contains(w), "{w} missing in {err}");
        }
        assert!(!out.exists(), "nothing is written for a bad config");
    }
}
